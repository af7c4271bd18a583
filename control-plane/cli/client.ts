/**
 * A small HTTP client for the control-plane API: JSON in and out, errors as ApiError with the
 * catalogue's code. No retries: mutating calls are retried only by the caller, with its
 * Idempotency-Key.
 */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly key?: string | undefined;
  readonly fetch?: typeof fetch;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Record<string, string | number | undefined>;
  readonly idempotencyKey?: string | undefined;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** A GET whose answer is a file: its bytes, or the API's error as an ApiError. */
  async download(path: string, query: Record<string, string> = {}): Promise<Uint8Array> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = this.options.key
      ? { authorization: `Bearer ${this.options.key}` }
      : {};
    const res = await this.fetch(url, { method: 'GET', headers });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (!res.ok) {
      const text = Buffer.from(bytes).toString('utf8');
      let error: { code?: string; message?: string } | undefined;
      try {
        error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        error = undefined;
      }
      throw new ApiError(
        error?.code ?? `HTTP_${res.status}`,
        error?.message ?? text.slice(0, 200),
        res.status,
      );
    }
    return bytes;
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let res: Response;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(
        'CONNECTION_FAILED',
        `cannot reach the control plane at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
        0,
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
        ?.error;
      throw new ApiError(
        error?.code ?? `HTTP_${res.status}`,
        error?.message ?? (text.slice(0, 200) || res.statusText),
        res.status,
        error?.details,
      );
    }
    return body as T;
  }
}

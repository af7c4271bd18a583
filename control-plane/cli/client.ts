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

/** The API's error from a non-JSON-parsed answer (a download or a stream refused). */
function errorFromText(status: number, text: string): ApiError {
  let error: { code?: string; message?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
  } catch {
    error = undefined;
  }
  return new ApiError(error?.code ?? `HTTP_${status}`, error?.message ?? text.slice(0, 200), status);
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
  /** Extra request headers (If-Match, a body content type). */
  readonly headers?: Record<string, string>;
  /** Sees the answer's headers (e.g. its ETag). */
  readonly onHeaders?: (headers: Headers) => void;
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
    if (!res.ok) throw errorFromText(res.status, Buffer.from(bytes).toString('utf8'));
    return bytes;
  }

  /**
   * A GET whose answer is a stream (server-sent events): its body once the status is 200, or the
   * API's error as an ApiError. Breaking out of reading it closes the connection.
   */
  async stream(
    path: string,
    options: { query?: RequestOptions['query']; lastEventId?: string | undefined } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.options.key) headers.authorization = `Bearer ${this.options.key}`;
    if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
    let res: Response;
    try {
      res = await this.fetch(url, { method: 'GET', headers });
    } catch (e) {
      throw this.connectionFailed(e);
    }
    if (!res.ok || !res.body) throw errorFromText(res.status, await res.text());
    return res.body;
  }

  private connectionFailed(e: unknown): ApiError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return new ApiError(
      'CONNECTION_FAILED',
      `cannot reach the control plane at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      0,
    );
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
    Object.assign(headers, options.headers);
    let res: Response;
    try {
      res = await this.fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
    } catch (e) {
      throw this.connectionFailed(e);
    }
    options.onHeaders?.(res.headers);
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

import { readSse, SseParser, type StreamEventRecord } from '../../sse.js';

/**
 * The console's only way to the control plane: the public API, with the signed-in credential as a
 * bearer header. The credential lives in memory and sessionStorage (this tab only), never in a
 * URL, a cookie or a log line.
 */

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

const STORAGE_KEY = 'tcp.console.credential';
let credential: string | undefined;

export function loadCredential(): string | undefined {
  credential ??= sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  return credential;
}

export function setCredential(value: string | undefined): void {
  credential = value;
  if (value) sessionStorage.setItem(STORAGE_KEY, value);
  else sessionStorage.removeItem(STORAGE_KEY);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...extra };
  if (credential) h.authorization = `Bearer ${credential}`;
  return h;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; requestId?: string } };
    return new ApiError(error.code, error.message, res.status, error.requestId);
  } catch {
    return new ApiError(`HTTP_${res.status}`, text.slice(0, 200) || res.statusText, res.status);
  }
}

export type Query = Record<string, string | number | undefined>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function api<T>(
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
  path: string,
  options: { query?: Query; body?: unknown; idempotent?: boolean; signal?: AbortSignal } = {},
): Promise<T> {
  const extra: Record<string, string> = {};
  if (options.body !== undefined) extra['content-type'] = 'application/json';
  // A retried click never repeats a change: every mutation carries a fresh Idempotency-Key.
  if (options.idempotent) extra['idempotency-key'] = crypto.randomUUID();
  let res: Response;
  try {
    res = await fetch(url(path, options.query), {
      method,
      headers: headers(extra),
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('CONNECTION_FAILED', `cannot reach the control plane: ${(e as Error).message}`, 0);
  }
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export type StreamEvent = StreamEventRecord;

/**
 * Follows GET /v1/events/stream with fetch (EventSource cannot send the credential header),
 * reconnecting with Last-Event-ID; `onEvent` gets each event, `onGap` a notice that some were
 * missed. Stops when `signal` aborts.
 */
export async function followEvents(
  query: Query,
  onEvent: (e: StreamEvent) => void,
  signal: AbortSignal,
  onGap: () => void = () => undefined,
): Promise<void> {
  const parser = new SseParser();
  let failures = 0;
  while (!signal.aborted) {
    try {
      const res = await fetch(url('/v1/events/stream', query), {
        headers: headers({
          accept: 'text/event-stream',
          ...(parser.lastEventId ? { 'last-event-id': parser.lastEventId } : {}),
        }),
        signal,
      });
      if (!res.ok || !res.body) {
        // Refused (no scope, unavailable): the page falls back to what it reads itself.
        if (res.status < 500) return;
        throw await errorOf(res);
      }
      failures = 0;
      for await (const m of readSse(res.body, parser)) {
        if (m.event === 'stream.gap') onGap();
        else onEvent(JSON.parse(m.data) as StreamEvent);
      }
    } catch {
      if (signal.aborted) return;
      failures += 1;
      if (failures > 8) return;
    }
    await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
  }
}

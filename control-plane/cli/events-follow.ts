import { backoffDelay } from '../../core/backoff.js';
import { readSse, type SseMessage, SseParser, type StreamEventRecord } from '../sse.js';
import { intOption, type ParsedCommand } from './args.js';
import { ApiError } from './client.js';
import type { CommandEnv } from './commands.js';

/**
 * `tenantctl events --follow [tenant]`: the local event tap. Prints every lifecycle event (those
 * sent to EventBridge, `tenant.migration_requested` included) and operation change as it happens,
 * from GET /v1/events/stream; reconnects with Last-Event-ID when the stream drops.
 */

type StreamEvent = StreamEventRecord;

/** Connection attempts in a row before giving up (each after the one backoff). */
const MAX_RECONNECTS = 8;

const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

/** What an event says, in one short phrase. */
export function eventSummary(e: StreamEvent): string {
  const d = e.data;
  switch (e.type) {
    case 'operation.step': {
      const error = d.error as { code?: string; message?: string } | undefined;
      return `${text(d.step)} ${text(d.status)}${d.detail ? ` (${text(d.detail)})` : ''}${error ? ` ${error.code}: ${error.message}` : ''}`;
    }
    case 'operation.started':
    case 'operation.ended':
      return `${text(d.type)} ${text(d.status)}`;
    case 'rollout.started':
    case 'rollout.wave_completed':
    case 'rollout.paused':
    case 'rollout.completed':
    case 'rollout.failed':
      return ['wave', 'status', 'reason', 'counts']
        .filter((k) => d[k] !== undefined)
        .map((k) => `${k}=${text(d[k])}`)
        .join(' ');
    case 'tenant.migration_requested':
      return `answer it: tenantctl migration complete ${e.operationId} | tenantctl migration fail ${e.operationId}`;
    default:
      return ['tier', 'isolation', 'step']
        .filter((k) => d[k] !== undefined)
        .map((k) => `${k}=${text(d[k])}`)
        .join(' ');
  }
}

export function renderStreamEvent(e: StreamEvent): string {
  return (
    `${e.time}  ${e.type.padEnd(27)}  ${e.rolloutId ?? `${e.tenantId ?? ''}  ${e.operationId ?? ''}`}  ${eventSummary(e)}`.trimEnd() +
    '\n'
  );
}

export async function followEvents(
  env: CommandEnv,
  { positionals, options }: ParsedCommand,
): Promise<number> {
  const limit = intOption(options.limit, 'limit');
  const parser = new SseParser();
  let printed = 0;
  let failures = 0;
  for (;;) {
    let body: ReadableStream<Uint8Array>;
    try {
      body = await env.client.stream('/v1/events/stream', {
        query: { tenant: positionals[0] },
        lastEventId: parser.lastEventId,
      });
      failures = 0;
    } catch (e) {
      // A refusal (401, 403, 404, 400) is final; a dropped or unavailable server is retried.
      const transient = e instanceof ApiError && (e.status === 0 || e.status >= 500);
      if (!transient || ++failures > MAX_RECONNECTS) throw e;
      await env.sleep(backoffDelay({ baseMs: 500 }, failures - 1, Math.random));
      continue;
    }
    for await (const message of readSse(body, parser)) {
      if (!show(env, message)) continue;
      printed += 1;
      if (limit && printed >= limit) return 0;
    }
    env.stderr.write('event stream ended; reconnecting\n');
    failures += 1;
    await env.sleep(backoffDelay({ baseMs: 500 }, failures - 1, Math.random));
  }
}

/** Prints one message; false for what is not an event of the log (a gap notice). */
function show(env: CommandEnv, message: SseMessage): boolean {
  if (message.event === 'stream.gap') {
    env.stderr.write('some events were missed while disconnected (the control plane no longer holds them)\n');
    return false;
  }
  if (env.json) {
    env.stdout.write(`${message.data}\n`);
    return true;
  }
  env.stdout.write(renderStreamEvent(JSON.parse(message.data) as StreamEvent));
  return true;
}

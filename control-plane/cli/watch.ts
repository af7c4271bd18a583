import type { Operation } from '../../core/registry/records.js';
import type { CommandEnv } from './commands.js';
import { ProgressView } from './render.js';

const isDone = (op: Operation) => op.status === 'SUCCEEDED' || op.status === 'FAILED';

/** Spinner frames while a long poll is open, on a terminal only. */
const TICK_MS = 120;

/**
 * Follows the operation until it ends, drawing each step as it happens (text mode). Each request
 * is a long poll with `since=<version>`: it answers as soon as a step starts, changes or ends, or
 * after `waitSeconds` with nothing new. On a terminal the spinner turns between answers.
 */
export async function watchOperation(env: CommandEnv, operationId: string): Promise<Operation> {
  const view = env.json ? undefined : new ProgressView(env.stdout, env.now);
  const waitSeconds = Math.min(20, Math.max(1, Math.round(env.pollMs / 1000)));
  const path = `/v1/operations/${encodeURIComponent(operationId)}`;
  const ticker = view && env.stdout.isTTY ? setInterval(() => view.tick(), TICK_MS) : undefined;
  ticker?.unref();
  try {
    let op = await env.client.request<Operation>('GET', path);
    for (;;) {
      view?.update(op);
      if (isDone(op)) return op;
      const sent = env.now();
      const next = await env.client.request<Operation>('GET', path, {
        query: { waitSeconds, since: op.version },
      });
      // Nothing new and answered early (a proxy, an older server): never a busy loop.
      if (next.version === op.version) await env.sleep(Math.max(0, env.pollMs - (env.now() - sent)));
      op = next;
    }
  } finally {
    clearInterval(ticker);
  }
}

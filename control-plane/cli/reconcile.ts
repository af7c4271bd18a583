import type { Operation } from '../../core/registry/records.js';
import { type ParsedCommand, str } from './args.js';
import { accepted, type CommandEnv, type Started } from './commands.js';
import { watchOperation } from './watch.js';

/** tenantctl retry | cancel (docs/reconcile.md): handlers over /v1/operations/{id}/retry|cancel. */

const opPath = (operationId: string) => `/v1/operations/${encodeURIComponent(operationId)}`;

type Handler = (env: CommandEnv, cmd: ParsedCommand) => Promise<number>;

export const RECONCILE_HANDLERS = {
  async retry(env, { positionals: [operationId], options: o }) {
    const started = await env.client.request<Started>('POST', `${opPath(operationId!)}/retry`, {
      body: {},
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async cancel(env, { positionals: [operationId], options: o }) {
    const op = await env.client.request<Operation>('POST', `${opPath(operationId!)}/cancel`, { body: {} });
    if (!env.json)
      env.stdout.write(`cancel of ${op.type} ${op.operationId} requested; its compensation runs next\n`);
    if (o.wait !== true) {
      if (env.json) env.stdout.write(`${JSON.stringify(op, null, 2)}\n`);
      return 0;
    }
    const ended = await watchOperation(env, op.operationId);
    if (env.json) env.stdout.write(`${JSON.stringify(ended, null, 2)}\n`);
    else if (ended.error) env.stdout.write(`${ended.status}: ${ended.error.code}: ${ended.error.message}\n`);
    // A cancelled operation ends FAILED by design: exit 0 once it was rolled back.
    return ended.status === 'FAILED' && ended.error?.code !== 'OPERATION_CANCELLED' ? 2 : 0;
  },
} satisfies Record<string, Handler>;

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../core/config.js';
import type { IdempotencyLink } from '../core/registry/idempotency.js';
import type { RegistryReader } from '../core/registry/queries.js';
import type { TierCatalog } from '../tiers/catalog.js';
import type { CallContext, LifecycleService, Started } from '../workflows/index.js';
import { type Idempotency, inFlightRetryAfter } from './idempotency.js';
import type { ControlPlaneMetrics } from './metrics.js';
import type { ReconcileServices } from './routes/reconcile.js';

/** What every route module gets: the injected services, nothing global. */
export interface RouteContext {
  readonly config: Config;
  readonly registry: RegistryReader;
  readonly catalog: TierCatalog;
  readonly lifecycle: LifecycleService;
  readonly idempotency: Idempotency;
  readonly metrics: ControlPlaneMetrics;
  readonly clock: () => Date;
  /** The reconciler and its findings (docs/reconcile.md); absent where this process runs none. */
  readonly reconcile?: ReconcileServices | undefined;
}

/** Idempotency inputs of a mutating call: the caller's key, scoped by actor, over route + params + body. */
export function idempotent(
  request: FastifyRequest,
  headers: { readonly 'idempotency-key'?: string | undefined },
  params: unknown,
  body: unknown,
) {
  const actor = request.principal!.actor;
  return {
    actor,
    scope: `api:${actor}`,
    idempotencyKey: headers['idempotency-key'],
    fingerprint: { method: request.method, route: request.routeOptions.url, params, body },
  };
}

/** Adds tenant and operation ids to every later log line of the request, "request completed" included. */
export function logContext(
  request: FastifyRequest,
  reply: FastifyReply,
  fields: { tenantId?: string; operationId?: string },
): void {
  const log = request.log.child(fields);
  request.log = log;
  reply.log = log;
}

/**
 * Starts a lifecycle operation for a caller and answers 202 `{ tenant, operation }`. With an
 * idempotency key the call runs at most once per key: a retry gets the first answer (and an
 * `Idempotent-Replayed: true` header).
 */
export async function answerStarted(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  call: {
    /** Idempotency scope; API callers are scoped by actor so two callers never share a key. */
    readonly scope: string;
    readonly actor: string;
    readonly idempotencyKey: string | undefined;
    /** What a retry must repeat exactly for the key to be honoured. */
    readonly fingerprint: unknown;
    readonly run: (callContext: CallContext) => Promise<Started>;
  },
): Promise<FastifyReply> {
  const execute = async (idempotency?: IdempotencyLink) => {
    const started = await call.run({ actor: call.actor, idempotencyKey: call.idempotencyKey, idempotency });
    ctx.metrics.operationStarted(started.operation.type);
    return { statusCode: 202, body: { tenant: started.tenant, operation: started.operation } };
  };
  const result = await runIdempotent(ctx, reply, call, execute);
  const body = result.body as Started;
  logContext(request, reply, { tenantId: body.tenant.tenantId, operationId: body.operation.operationId });
  request.log.info({ type: body.operation.type, replayed: result.replayed }, 'operation accepted');
  return reply.code(result.statusCode).send(result.body);
}

/**
 * Runs a mutation at most once per idempotency key (no key: once, as asked): a retry gets the
 * first answer and an `Idempotent-Replayed: true` header; one racing the first gets Retry-After.
 */
export async function runIdempotent(
  ctx: RouteContext,
  reply: FastifyReply,
  call: {
    readonly scope: string;
    readonly idempotencyKey: string | undefined;
    readonly fingerprint: unknown;
  },
  execute: (idempotency?: IdempotencyLink) => Promise<{ statusCode: number; body: unknown }>,
): Promise<{ statusCode: number; body: unknown; replayed: boolean }> {
  const key = call.idempotencyKey;
  const result = key
    ? await ctx.idempotency.run(call.scope, key, call.fingerprint, execute).catch((e: unknown) => {
        const retryAfter = inFlightRetryAfter(e);
        if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
        throw e;
      })
    : { ...(await execute()), replayed: false };
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return result;
}

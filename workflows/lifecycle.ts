import { ControlPlaneError } from '../core/errors.js';
import type { Operation } from '../core/registry/records.js';
import type { OperationRequest, Registry } from '../core/registry/registry.js';
import type { TierCatalog } from '../tiers/catalog.js';
import type { WorkflowEngine } from './engine/types.js';
import type { CallbackAnswer, CallContext, LifecycleService, OnboardRequest, Started } from './service.js';
import type { OperationWatch } from './watch.js';

export interface LifecycleDeps {
  readonly registry: Registry;
  readonly catalog: TierCatalog;
  readonly engine: WorkflowEngine;
  /** Region for tenants that do not ask for one. */
  readonly defaultRegion: string;
  readonly clock?: () => Date;
  /** Told about every operation started (metrics). */
  readonly onStarted?: (operation: Operation) => void;
  /** Where awaitOperation waits for an operation's end. */
  readonly watch: OperationWatch;
}

/** A DNS-safe slug from a display name: "ACME Corp." → "acme-corp". */
export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  const lettered = /^[a-z]/.test(base) ? base : `t-${base}`;
  return lettered.length >= 3
    ? lettered.slice(0, 32).replace(/-+$/, '')
    : `${lettered.replace(/-+$/, '')}-tenant`.slice(0, 32);
}

/**
 * The lifecycle service: validates a request against the tier catalog and the lifecycle rules,
 * records it (tenant, operation, audit event in one transaction) and hands it to the engine.
 */
export function createLifecycleService(deps: LifecycleDeps): LifecycleService {
  const { registry, catalog, engine } = deps;
  const clock = deps.clock ?? (() => new Date());

  const opRequest = (ctx: CallContext, extra: Partial<OperationRequest> = {}): OperationRequest => ({
    actor: ctx.actor,
    ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}),
    ...(ctx.idempotency ? { idempotency: ctx.idempotency } : {}),
    // The local engine runs what this process records: the claim is written with the record.
    ...(engine.runnerId ? { runner: engine.runnerId } : {}),
    ...extra,
  });

  async function launch(started: Started): Promise<Started> {
    deps.onStarted?.(started.operation);
    // A crash between the record and the start is repaired by resumeOpen() at the next start.
    await engine.start(started.operation);
    return started;
  }

  return {
    async onboard(request: OnboardRequest, ctx: CallContext) {
      const tier = catalog.get(request.tier);
      const started = await registry.createTenant(
        {
          slug: request.slug ?? slugify(request.name),
          name: request.name,
          tier: tier.name,
          isolation: tier.isolation,
          adminEmail: request.adminEmail,
          region: request.region ?? deps.defaultRegion,
          allowedPrincipals: request.allowedPrincipals ?? [],
        },
        opRequest(ctx, { input: { tier: tier.name } }),
      );
      return launch(started);
    },

    async changeTier(tenantIdOrSlug, tierName, ctx) {
      const tenant = await registry.requireTenant(tenantIdOrSlug);
      catalog.assertTransition(tenant.tier, tierName);
      return launch(
        await registry.startOperation(
          tenant.tenantId,
          'change-tier',
          opRequest(ctx, {
            expectedVersion: tenant.version,
            input: { tier: tierName, fromTier: tenant.tier },
          }),
        ),
      );
    },

    async suspend(tenantIdOrSlug, reason, ctx) {
      return launch(
        await registry.startOperation(tenantIdOrSlug, 'suspend', opRequest(ctx, { input: { reason } })),
      );
    },

    async resume(tenantIdOrSlug, ctx) {
      return launch(await registry.startOperation(tenantIdOrSlug, 'resume', opRequest(ctx)));
    },

    async offboard(tenantIdOrSlug, ctx) {
      return launch(await registry.startOperation(tenantIdOrSlug, 'offboard', opRequest(ctx)));
    },

    async repair(tenantIdOrSlug, ctx) {
      return launch(await registry.startOperation(tenantIdOrSlug, 'repair', opRequest(ctx)));
    },

    async retry(operationId, ctx) {
      return launch(await registry.retryOperation(operationId, opRequest(ctx)));
    },

    cancel(operationId, ctx) {
      return registry.requestCancel(operationId, ctx.actor);
    },

    awaitOperation(operationId: string, timeoutMs: number) {
      return deps.watch.wait(operationId, timeoutMs);
    },

    async callback(operationId: string, answer: CallbackAnswer, ctx: CallContext) {
      return registry.updateOperation(operationId, (op) => {
        if (op.status !== 'RUNNING' || op.waitingFor !== 'migration' || op.callback) {
          throw new ControlPlaneError(
            'NOT_WAITING_FOR_CALLBACK',
            op.callback
              ? `operation ${operationId} was answered already (${op.callback.status} by ${op.callback.actor})`
              : `operation ${operationId} (${op.type}, ${op.status}) waits on no callback`,
          );
        }
        return {
          callback: {
            status: answer.status,
            ...(answer.reason ? { reason: answer.reason } : {}),
            actor: ctx.actor,
            at: clock().toISOString(),
          },
        };
      });
    },
  };
}

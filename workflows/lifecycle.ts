import { createHash } from 'node:crypto';
import { ControlPlaneError } from '../core/errors.js';
import type { Operation } from '../core/registry/records.js';
import type { OperationRequest, Registry } from '../core/registry/registry.js';
import type { Tier, TierCatalog } from '../tiers/catalog.js';
import { assertRegion, type RegionPolicy } from '../tiers/regions.js';
import type { WorkflowEngine } from './engine/types.js';
import type {
  CallbackAnswer,
  CallContext,
  LifecycleService,
  OnboardRequest,
  Started,
  TenantUpdate,
} from './service.js';
import type { OperationWatch } from './watch.js';

export interface LifecycleDeps {
  readonly registry: Registry;
  readonly catalog: TierCatalog;
  readonly engine: WorkflowEngine;
  /** Region for tenants that do not ask for one (the control plane's own). */
  readonly defaultRegion: string;
  /** ALLOWED_REGIONS (empty: the default region only); the catalog narrows it per tier. */
  readonly allowedRegions?: readonly string[];
  /** Where tenants can be built (tiers/regions.ts RegionPolicy). @default 'any' */
  readonly placement?: RegionPolicy['placement'];
  readonly clock?: () => Date;
  /** Told about every operation started (metrics). */
  readonly onStarted?: (operation: Operation) => void;
  /** Where awaitOperation waits for an operation's end. */
  readonly watch: OperationWatch;
  /**
   * Asked before an onboarding is recorded (quota pre-checks, core/quotas): throws to refuse it,
   * with nothing written; told once it is recorded.
   */
  readonly admission?: OnboardingAdmission;
}

/** Quota pre-checks of the region the tenant is placed in (each region has its own quotas). */
export interface OnboardingAdmission {
  admit(tier: Tier, region: string): Promise<void>;
  admitted(tier: Tier, region: string): void;
  /** Before a tier change is recorded (reserved Lambda concurrency): throws to refuse it. */
  admitChange?(from: Tier, to: Tier, region: string): Promise<void>;
  admittedChange?(from: Tier, to: Tier, region: string): void;
}

/**
 * A DNS-safe slug from a display name: "ACME Corp." → "acme-corp". A name with too few ASCII letters
 * or digits to tell it apart ("日本", "東京") gets a short hash of the name, so such names do not all
 * collide on one slug: "t-9f86d081".
 */
export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  if (base.replace(/-/g, '').length < 3) {
    const hash = createHash('sha256').update(name.normalize('NFC')).digest('hex').slice(0, 8);
    return base ? `t-${base}-${hash}`.replace(/^t-(?=[a-z])/, '').slice(0, 32) : `t-${hash}`;
  }
  const lettered = /^[a-z]/.test(base) ? base : `t-${base}`;
  return lettered.slice(0, 32).replace(/-+$/, '');
}

/** An update's operation input: only the fields given (a copy, so the record is plain data). */
export function updateInput(changes: TenantUpdate): Record<string, unknown> {
  return {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.adminEmail !== undefined ? { adminEmail: changes.adminEmail } : {}),
    ...(changes.allowedPrincipals !== undefined ? { allowedPrincipals: [...changes.allowedPrincipals] } : {}),
  };
}

/**
 * The lifecycle service: validates a request against the tier catalog and the lifecycle rules,
 * records it (tenant, operation, audit event in one transaction) and hands it to the engine.
 */
export function createLifecycleService(deps: LifecycleDeps): LifecycleService {
  const { registry, catalog, engine } = deps;
  const clock = deps.clock ?? (() => new Date());
  const regions = {
    home: deps.defaultRegion,
    allowed: deps.allowedRegions ?? [],
    placement: deps.placement ?? 'any',
  };

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
      const region = request.region ?? deps.defaultRegion;
      assertRegion(regions, tier, region);
      await deps.admission?.admit(tier, region);
      const started = await registry.createTenant(
        {
          slug: request.slug ?? slugify(request.name),
          name: request.name,
          tier: tier.name,
          isolation: tier.isolation,
          adminEmail: request.adminEmail,
          region,
          allowedPrincipals: request.allowedPrincipals ?? [],
        },
        opRequest(ctx, { input: { tier: tier.name } }),
      );
      deps.admission?.admitted(tier, region);
      return launch(started);
    },

    async changeTier(tenantIdOrSlug, tierName, ctx) {
      const tenant = await registry.requireTenant(tenantIdOrSlug);
      const { to } = catalog.assertTransition(tenant.tier, tierName);
      // The target tier must allow where the tenant lives (its catalog regions).
      if (to.regions && !to.regions.includes(tenant.region)) assertRegion(regions, to, tenant.region);
      const from = catalog.get(tenant.tier);
      await deps.admission?.admitChange?.(from, to, tenant.region);
      const started = await registry.startOperation(
        tenant.tenantId,
        'change-tier',
        opRequest(ctx, {
          expectedVersion: tenant.version,
          input: { tier: tierName, fromTier: tenant.tier },
        }),
      );
      deps.admission?.admittedChange?.(from, to, tenant.region);
      return launch(started);
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

    async update(tenantIdOrSlug: string, changes: TenantUpdate, ctx: CallContext) {
      return launch(
        await registry.startOperation(
          tenantIdOrSlug,
          'update',
          opRequest(ctx, { input: updateInput(changes) }),
        ),
      );
    },

    awaitOperation(operationId: string, timeoutMs: number, since?: number) {
      return deps.watch.wait(operationId, timeoutMs, since);
    },

    async callback(operationId: string, answer: CallbackAnswer, ctx: CallContext) {
      const answered = await registry.updateOperation(operationId, (op) => {
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
      deps.watch.changed(operationId);
      return answered;
    },
  };
}

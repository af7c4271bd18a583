import { ControlPlaneError } from '../../core/errors.js';
import type { Operation } from '../../core/registry/records.js';
import type { Registry } from '../../core/registry/registry.js';
import type { TierCatalog } from '../../tiers/catalog.js';
import type { OnboardingAdmission } from '../../workflows/lifecycle.js';
import { updateInput } from '../../workflows/lifecycle.js';
import type {
  CallbackAnswer,
  CallContext,
  LifecycleService,
  OnboardRequest,
  Started,
  TenantUpdate,
} from '../../workflows/service.js';
import { OperationWatch } from '../../workflows/watch.js';

/** `Acme Corp!` → `acme-corp`: what the lifecycle does when no slug is given. */
export function slugFrom(name: string): string {
  let slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^[^a-z]+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/g, '');
  if (slug.length < 3) slug = `t-${slug}`.padEnd(3, '0');
  return slug;
}

/**
 * A LifecycleService for API tests: the real registry and tier catalog, no workflows. Operations
 * stay PENDING until a test finishes them through the registry.
 */
export class RegistryOnlyLifecycle implements LifecycleService {
  constructor(
    private readonly registry: Registry,
    private readonly catalog: TierCatalog,
    /** The quota pre-checks, asked as the real lifecycle asks them (workflows/lifecycle.ts). */
    private readonly admission?: OnboardingAdmission,
  ) {}

  /** Nothing runs here: a long poll re-reads the registry, as on Step Functions. */
  awaitOperation(operationId: string, timeoutMs: number, since?: number): Promise<Operation> {
    const watch = new OperationWatch({ registry: this.registry, runsHere: () => false, pollMs: 50 });
    return watch.wait(operationId, timeoutMs, since);
  }

  async onboard(request: OnboardRequest, ctx: CallContext): Promise<Started> {
    const tier = this.catalog.get(request.tier);
    const region = request.region ?? 'us-east-1';
    await this.admission?.admit(tier, region);
    const started = await this.registry.createTenant(
      {
        slug: request.slug ?? slugFrom(request.name),
        name: request.name,
        tier: tier.name,
        isolation: tier.isolation,
        adminEmail: request.adminEmail,
        region,
        allowedPrincipals: request.allowedPrincipals ?? [],
      },
      { actor: ctx.actor, idempotencyKey: ctx.idempotencyKey, input: { tier: tier.name } },
    );
    this.admission?.admitted(tier, region);
    return started;
  }

  async changeTier(tenantIdOrSlug: string, tier: string, ctx: CallContext): Promise<Started> {
    const tenant = await this.registry.requireTenant(tenantIdOrSlug);
    this.catalog.assertTransition(tenant.tier, tier);
    return this.registry.startOperation(tenant.tenantId, 'change-tier', {
      actor: ctx.actor,
      input: { tier },
    });
  }

  suspend(tenantIdOrSlug: string, reason: string, ctx: CallContext): Promise<Started> {
    return this.registry.startOperation(tenantIdOrSlug, 'suspend', { actor: ctx.actor, input: { reason } });
  }

  resume(tenantIdOrSlug: string, ctx: CallContext): Promise<Started> {
    return this.registry.startOperation(tenantIdOrSlug, 'resume', { actor: ctx.actor });
  }

  update(tenantIdOrSlug: string, changes: TenantUpdate, ctx: CallContext): Promise<Started> {
    return this.registry.startOperation(tenantIdOrSlug, 'update', {
      actor: ctx.actor,
      input: updateInput(changes),
    });
  }

  offboard(tenantIdOrSlug: string, ctx: CallContext): Promise<Started> {
    return this.registry.startOperation(tenantIdOrSlug, 'offboard', { actor: ctx.actor });
  }

  repair(tenantIdOrSlug: string, ctx: CallContext): Promise<Started> {
    return this.registry.startOperation(tenantIdOrSlug, 'repair', { actor: ctx.actor });
  }

  /** The registry's records only: the operation opens again and stays PENDING. */
  retry(operationId: string, ctx: CallContext): Promise<Started> {
    return this.registry.retryOperation(operationId, { actor: ctx.actor });
  }

  cancel(operationId: string, ctx: CallContext): Promise<Operation> {
    return this.registry.requestCancel(operationId, ctx.actor);
  }

  async callback(operationId: string, answer: CallbackAnswer, _ctx: CallContext): Promise<Operation> {
    const operation = await this.registry.requireOperation(operationId);
    if (!operation.waitingFor) {
      throw new ControlPlaneError(
        'NOT_WAITING_FOR_CALLBACK',
        `operation ${operationId} waits on no callback`,
      );
    }
    const answered = await this.registry.updateOperation(operationId, () => ({ waitingFor: undefined }));
    if (answer.status === 'failed') {
      return (
        await this.registry.finishOperation({
          operationId,
          outcome: 'rolled-back',
          error: { code: 'MIGRATION_REJECTED', message: answer.reason ?? 'rejected' },
        })
      ).operation;
    }
    return answered;
  }
}

/** A promise and what settles it: an explicit signal between a test and the code it holds. */
export function signal(): { readonly wait: Promise<void>; readonly fire: () => void } {
  let fire!: () => void;
  const wait = new Promise<void>((r) => {
    fire = r;
  });
  return { wait, fire };
}

/**
 * A registry-only lifecycle whose `method` first runs `before` (fire a signal, wait on a gate):
 * how a test holds a request at a known point.
 */
export function lifecycleWith(
  method: 'onboard' | 'awaitOperation',
  before: () => void | Promise<void>,
): (registry: Registry, catalog: TierCatalog) => RegistryOnlyLifecycle {
  return (registry, catalog) => {
    const inner = new RegistryOnlyLifecycle(registry, catalog);
    const original = inner[method].bind(inner) as (...args: unknown[]) => Promise<unknown>;
    return Object.assign(Object.create(inner) as RegistryOnlyLifecycle, {
      [method]: async (...args: unknown[]) => {
        await before();
        return original(...args);
      },
    });
  };
}

import { ControlPlaneError } from '../../core/errors.js';
import { newRolloutId } from '../../core/ids.js';
import type { RegistryReader } from '../../core/registry/queries.js';
import type { Tenant } from '../../core/registry/records.js';
import {
  admissionCap,
  budgetCount,
  budgetTripped,
  isRolloutActive,
  planWaves,
  ROLLOUT_ACTIONS,
  type RolloutAction,
} from '../../core/rollouts/lifecycle.js';
import {
  ISOLATIONS,
  type Isolation,
  MAX_ROLLOUT_TENANTS,
  newRollout,
  type Rollout,
  type RolloutPatch,
  type RolloutRequest,
  type RolloutTenant,
  type TemplateVersion,
  type WaveProgress,
} from '../../core/rollouts/records.js';
import type { RolloutStore } from '../../core/rollouts/store.js';
import type { TemplateVersionStore } from '../../core/rollouts/template-versions.js';
import type { TierCatalog } from '../../tiers/catalog.js';
import type { RolloutEventPublisher } from './events.js';

/** Tenant states a rollout selects: ACTIVE, and those an operation holds for now (busy: retried). */
const SELECTABLE = new Set(['ACTIVE', 'UPDATING', 'SUSPENDING', 'RESUMING']);

export interface RolloutServiceDeps {
  readonly store: RolloutStore;
  readonly versions: TemplateVersionStore;
  readonly registry: RegistryReader;
  readonly catalog: TierCatalog;
  readonly events: RolloutEventPublisher;
  /** Starts (or restarts) the rollout's execution. */
  readonly start: (rolloutId: string) => Promise<void> | void;
  readonly clock: () => Date;
  /**
   * The versions the task function's bundle carries (BUNDLED_TEMPLATE_VERSIONS): `latest` until
   * one is registered. They are registered when the task function first starts, which the
   * rollout's first task does before any update needs a body.
   */
  readonly bundled?: Partial<Record<Isolation, string>>;
}

export interface RolloutView {
  readonly rollout: Rollout;
  readonly waves: WaveProgress[];
}

export interface TemplateVersionView extends TemplateVersion {
  readonly latest: boolean;
  readonly tenants: number;
}

/** Every tenant of the registry, page by page (rollouts and template counts read the whole fleet). */
export async function allTenants(registry: RegistryReader): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  let cursor: string | undefined;
  do {
    const page = await registry.listTenants({ limit: 200, ...(cursor ? { cursor } : {}) });
    tenants.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return tenants;
}

/** Each wave's counts (and ETA at its pace so far), from the tenants' progress. */
export function waveProgress(
  rollout: Rollout,
  progress: readonly RolloutTenant[],
  nowMs: number,
): WaveProgress[] {
  const byTenant = new Map(progress.map((p) => [p.tenantId, p]));
  return rollout.waves.map((wave) => {
    const counts = { succeeded: 0, failed: 0, running: 0, busy: 0, skipped: 0 };
    let firstStart = Number.POSITIVE_INFINITY;
    for (const id of wave.tenantIds) {
      const p = byTenant.get(id);
      if (!p) continue;
      counts[p.status] += 1;
      if (p.startedAt) firstStart = Math.min(firstStart, Date.parse(p.startedAt));
    }
    const ended = counts.succeeded + counts.failed + counts.skipped;
    const remaining = wave.tenantIds.length - ended - counts.running;
    const elapsed = (nowMs - firstStart) / 1000;
    const left = wave.tenantIds.length - ended;
    const eta = ended > 0 && left > 0 && Number.isFinite(elapsed) ? (elapsed / ended) * left : undefined;
    return {
      name: wave.name,
      canary: wave.canary,
      total: wave.tenantIds.length,
      ...counts,
      remaining,
      ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
    };
  });
}

export function createRolloutService(deps: RolloutServiceDeps) {
  const { store, versions, registry, catalog } = deps;

  async function targetsFor(
    isolations: Isolation[],
    requested: string,
  ): Promise<Partial<Record<Isolation, string>>> {
    const targets: Partial<Record<Isolation, string>> = {};
    for (const isolation of isolations) {
      if (requested === 'latest') {
        const latest = (await versions.latest(isolation)) ?? deps.bundled?.[isolation];
        if (!latest)
          throw new ControlPlaneError(
            'UNKNOWN_TEMPLATE_VERSION',
            `no ${isolation} template version is registered yet (the control plane registers the code's templates at start-up)`,
          );
        targets[isolation] = latest;
      } else {
        if (!(await versions.get(isolation, requested)))
          throw new ControlPlaneError(
            'UNKNOWN_TEMPLATE_VERSION',
            `targetVersion ${requested} is not a registered ${isolation} template version; accepted: latest or a version GET /v1/templates lists for ${isolation}`,
            { details: { targetVersion: requested, isolation } },
          );
        targets[isolation] = requested;
      }
    }
    return targets;
  }

  async function view(rollout: Rollout): Promise<RolloutView> {
    return {
      rollout,
      waves: waveProgress(rollout, await store.tenants(rollout.rolloutId), deps.clock().getTime()),
    };
  }

  return {
    /** Validates and records a rollout (nothing is written when it is refused), then starts it. */
    async create(request: RolloutRequest, actor: string): Promise<RolloutView> {
      for (const tier of request.tiers ?? []) catalog.get(tier);
      for (const wave of request.waves) if ('tiers' in wave) for (const tier of wave.tiers) catalog.get(tier);
      const tenants = (await allTenants(registry)).filter(
        (t) =>
          SELECTABLE.has(t.state) &&
          (request.isolation ? request.isolation.includes(t.isolation) : true) &&
          (request.tiers ? request.tiers.includes(t.tier) : true),
      );
      for (const [i, wave] of request.waves.entries())
        if ('tenants' in wave) {
          const unknown = wave.tenants.filter(
            (id) => !tenants.some((t) => t.tenantId === id || t.slug === id),
          );
          if (unknown.length > 0)
            throw new ControlPlaneError(
              'VALIDATION_FAILED',
              `waves.${i}.tenants: ${unknown.join(', ')} not in the selection (ACTIVE tenants of the selected isolation or tiers)`,
              {
                details: [
                  { in: 'body', path: `waves.${i}.tenants`, message: `not selected: ${unknown.join(', ')}` },
                ],
              },
            );
        }
      if (tenants.length === 0)
        throw new ControlPlaneError(
          'ROLLOUT_EMPTY_SELECTION',
          `no tenant matches ${request.isolation ? `isolation ${request.isolation.join(', ')}` : request.tiers ? `tiers ${request.tiers.join(', ')}` : 'the selection'} (only ACTIVE tenants, or ones an operation holds for now, are rolled out)`,
        );
      if (tenants.length > MAX_ROLLOUT_TENANTS)
        throw new ControlPlaneError(
          'ROLLOUT_TOO_LARGE',
          `the selection has ${tenants.length} tenants; a rollout holds at most ${MAX_ROLLOUT_TENANTS}: select by tier or isolation`,
        );
      const isolations = ISOLATIONS.filter((i) => tenants.some((t) => t.isolation === i));
      const targets = await targetsFor(isolations, request.targetVersion);
      const canaryCount = request.canary?.count ?? 0;
      const waves = planWaves(tenants, request.waves, canaryCount);
      const guard = await store.guardRevision();
      const selected = new Set(tenants.map((t) => t.tenantId));
      for (const entry of await store.entries()) {
        if (!isRolloutActive(entry.status)) continue;
        const other = await store.get(entry.rolloutId);
        const shared = (other?.waves ?? []).flatMap((w) => w.tenantIds).filter((id) => selected.has(id));
        if (shared.length > 0)
          throw new ControlPlaneError(
            'ROLLOUT_OVERLAP',
            `rollout ${entry.rolloutId} (${entry.status}) holds ${shared.length} of the selected tenants; wait for it to end or abort it`,
            { details: { rolloutId: entry.rolloutId, tenantIds: shared.slice(0, 20) } },
          );
      }
      const budget = budgetCount(
        request.failureBudget,
        tenants.length - Math.min(canaryCount, tenants.length),
      );
      const rollout = newRollout({
        rolloutId: newRolloutId(),
        request: request as unknown as Record<string, unknown>,
        targets,
        waves,
        onFailure: request.onFailure,
        maxConcurrency: request.maxConcurrency,
        budget,
        bakeSeconds: request.bakeSeconds,
        canaryBakeSeconds: request.canary?.bakeSeconds ?? 0,
        actor,
        createdAt: deps.clock().toISOString(),
      });
      await store.create(rollout, guard);
      await deps.start(rollout.rolloutId);
      return view(rollout);
    },

    async get(rolloutId: string): Promise<RolloutView> {
      return view(await store.require(rolloutId));
    },

    /** Each tenant's progress so far (a tenant not tried yet has none: it is in its wave's remaining). */
    async tenants(rolloutId: string): Promise<RolloutTenant[]> {
      await store.require(rolloutId);
      return store.tenants(rolloutId);
    },

    async list(): Promise<Rollout[]> {
      const out: Rollout[] = [];
      for (const entry of await store.entries()) {
        const r = await store.get(entry.rolloutId);
        if (r) out.push(r);
      }
      return out;
    },

    /** pause | resume | abort. A rollout its budget stopped resumes only once PATCH raised the budget. */
    async act(rolloutId: string, action: RolloutAction, actor: string): Promise<RolloutView> {
      const to = ROLLOUT_ACTIONS[action];
      const current = await store.require(rolloutId);
      if (
        action === 'resume' &&
        current.status === 'PAUSED' &&
        budgetTripped(current.counts.failed, current.cap)
      )
        throw new ControlPlaneError(
          'ROLLOUT_INVALID_TRANSITION',
          `rollout ${rolloutId} stopped at its failure budget (${current.counts.failed} failed, ${current.budget} tolerated); raise failureBudget with PATCH /v1/rollouts/${rolloutId} first`,
          { details: { from: current.status, to, failed: current.counts.failed, budget: current.budget } },
        );
      const next = await store.update(rolloutId, (r) => ({
        status: to,
        reason: `${action} by ${actor}`,
        ...(action === 'resume' ? { executions: r.executions + 1, bakeUntil: undefined } : {}),
      }));
      if (action === 'pause' || action === 'abort')
        await deps.events.publish({
          type: action === 'pause' ? 'rollout.paused' : 'rollout.failed',
          rolloutId,
          data: { status: next.status, reason: next.reason, counts: next.counts },
        });
      if (action === 'resume') await deps.start(rolloutId);
      return view(next);
    },

    /** The brake: maxConcurrency and the failure budget, while the rollout has not ended. */
    async patch(rolloutId: string, patch: RolloutPatch): Promise<RolloutView> {
      const next = await store.update(rolloutId, (r) => {
        if (!isRolloutActive(r.status))
          throw new ControlPlaneError(
            'ROLLOUT_INVALID_TRANSITION',
            `rollout ${rolloutId} is ${r.status}: it has ended`,
            {
              details: { from: r.status, to: r.status, allowed: [] },
            },
          );
        const total = r.waves.filter((w) => !w.canary).reduce((n, w) => n + w.tenantIds.length, 0);
        const budget = patch.failureBudget ? budgetCount(patch.failureBudget, total) : r.budget;
        const canary = r.waves[r.currentWave]?.canary ?? false;
        return {
          ...(patch.maxConcurrency ? { maxConcurrency: patch.maxConcurrency } : {}),
          budget,
          cap: canary ? r.cap : admissionCap(budget, false, r.counts.failed),
        };
      });
      return view(next);
    },

    /** Every registered template version, with how many tenants run each (from their current stacks). */
    async templates(): Promise<TemplateVersionView[]> {
      const [list, tenants] = await Promise.all([versions.list(), allTenants(registry)]);
      const latest = new Map<string, string | undefined>();
      for (const isolation of ISOLATIONS) latest.set(isolation, await versions.latest(isolation));
      const counts = tenantsByVersion(tenants);
      return list.map((v) => ({
        ...v,
        latest: latest.get(v.isolation) === v.versionId,
        tenants: counts.get(`${v.isolation}/${v.versionId}`) ?? 0,
      }));
    },
  };
}

export type RolloutService = ReturnType<typeof createRolloutService>;

/** `isolation/version` → tenants whose current stack runs it (offboarded tenants left out). */
export function tenantsByVersion(tenants: readonly Tenant[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tenants) {
    if (t.state === 'OFFBOARDED') continue;
    const version = t.stacks.find((s) => s.role === 'current')?.templateVersion ?? t.templateVersion;
    if (!version) continue;
    const key = `${t.isolation}/${version}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

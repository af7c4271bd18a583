import { ControlPlaneError } from '../errors.js';

/**
 * The rollout lifecycle as data, in the style of core/lifecycle.ts: statuses, the moves between
 * them, how a failure budget is counted, which tenant goes in which wave and what the rollout does
 * next. Pure: the store, the routes and the workflow ask this module and decide nothing themselves.
 */

export const ROLLOUT_STATUSES = ['PENDING', 'RUNNING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'ABORTED'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** Allowed `from → to` moves; everything else is refused (ROLLOUT_INVALID_TRANSITION). */
export const ROLLOUT_TRANSITIONS: Readonly<Record<RolloutStatus, readonly RolloutStatus[]>> = {
  PENDING: ['RUNNING', 'ABORTED'],
  // RUNNING → FAILED: the budget tripped (or a canary failed) with onFailure abort or rollback.
  RUNNING: ['PAUSED', 'SUCCEEDED', 'FAILED', 'ABORTED'],
  PAUSED: ['RUNNING', 'ABORTED'],
  SUCCEEDED: [],
  FAILED: [],
  ABORTED: [],
};

/** Statuses that hold their tenants: another rollout may not select them. */
export const ACTIVE_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['PENDING', 'RUNNING', 'PAUSED'];

export const isRolloutActive = (status: RolloutStatus): boolean => ACTIVE_ROLLOUT_STATUSES.includes(status);
export const isRolloutEnded = (status: RolloutStatus): boolean => ROLLOUT_TRANSITIONS[status].length === 0;

export function canMoveRollout(from: RolloutStatus, to: RolloutStatus): boolean {
  return ROLLOUT_TRANSITIONS[from].includes(to);
}

export function assertRolloutTransition(from: RolloutStatus, to: RolloutStatus, rolloutId = ''): void {
  if (canMoveRollout(from, to)) return;
  const allowed = ROLLOUT_TRANSITIONS[from];
  throw new ControlPlaneError(
    'ROLLOUT_INVALID_TRANSITION',
    `rollout ${rolloutId} is ${from} and cannot move to ${to}; from ${from} it can move to ${allowed.length ? allowed.join(', ') : 'nothing (it has ended)'}`,
    { details: { from, to, allowed } },
  );
}

/** The operator actions and the status each leads to. */
export const ROLLOUT_ACTIONS = { pause: 'PAUSED', resume: 'RUNNING', abort: 'ABORTED' } as const;
export type RolloutAction = keyof typeof ROLLOUT_ACTIONS;

/**
 * What the rollout does when its budget trips: pause, end FAILED, or end FAILED and start a
 * rollback rollout moving every tenant it updated back to its previous version.
 */
export const ON_FAILURE = ['pause', 'abort', 'rollback'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

/** Where a rollout goes when its budget trips (or its canary fails). */
export const ON_FAILURE_STATUS: Readonly<Record<OnFailure, RolloutStatus>> = {
  pause: 'PAUSED',
  abort: 'FAILED',
  rollback: 'FAILED',
};

// ---------------------------------------------------------------- failure budget

export type FailureBudget = { readonly count: number } | { readonly percent: number };

/** Failures tolerated over `tenants` tenants (the canary excluded): a count, or a percentage rounded down. */
export function budgetCount(budget: FailureBudget, tenants: number): number {
  return 'count' in budget ? budget.count : Math.floor((budget.percent * tenants) / 100);
}

/**
 * The strict budget, as StackSets' strict failure tolerance: a tenant update may start only while
 * `inflight + failed < cap`, so even if every update in flight fails, failures reach at most the
 * cap, and the one failure past the budget stops the rollout with nothing else in flight. In the
 * canary wave the budget is zero: the first failure stops it.
 */
export function admissionCap(budget: number, canary: boolean, failedSoFar: number): number {
  return canary ? failedSoFar + 1 : budget + 1;
}

/** May one more update start? (The store applies the same rule atomically in DynamoDB.) */
export function mayAdmit(c: {
  readonly inflight: number;
  readonly failed: number;
  readonly maxConcurrency: number;
  readonly cap: number;
}): boolean {
  return c.inflight < c.maxConcurrency && c.inflight + c.failed < c.cap;
}

/** The budget is exhausted once failures reach the cap: the rollout stops (onFailure). */
export const budgetTripped = (failed: number, cap: number): boolean => failed >= cap;

// ---------------------------------------------------------------- waves

export type WaveSpec =
  | { readonly tiers: readonly string[] }
  | { readonly tenants: readonly string[] }
  | { readonly percent: number };

export interface PlannedTenant {
  readonly tenantId: string;
  readonly slug: string;
  readonly tier: string;
}

export interface PlannedWave {
  readonly name: string;
  readonly canary: boolean;
  readonly tenantIds: string[];
}

/**
 * Puts each selected tenant in the first wave that names it: by tier, by explicit id or slug, or a
 * percentage of the selection (cumulative, rounded up, in tenant-id order). Tenants no wave names
 * form a last `remainder` wave; no waves at all is one wave. With a canary, its first `canary`
 * tenants (in wave order) form wave 0. Empty waves are dropped.
 */
export function planWaves(
  tenants: readonly PlannedTenant[],
  waves: readonly WaveSpec[],
  canary: number,
): PlannedWave[] {
  const ordered = [...tenants].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  const assigned = new Set<string>();
  const planned: PlannedWave[] = [];
  let percentSoFar = 0;
  waves.forEach((wave, i) => {
    let members: PlannedTenant[];
    if ('tiers' in wave) members = ordered.filter((t) => wave.tiers.includes(t.tier));
    else if ('tenants' in wave)
      members = ordered.filter((t) => wave.tenants.includes(t.tenantId) || wave.tenants.includes(t.slug));
    else {
      percentSoFar = Math.min(100, percentSoFar + wave.percent);
      const upTo = Math.ceil((percentSoFar * ordered.length) / 100);
      members = ordered.slice(0, upTo);
    }
    const fresh = members.filter((t) => !assigned.has(t.tenantId));
    for (const t of fresh) assigned.add(t.tenantId);
    planned.push({ name: `wave-${i + 1}`, canary: false, tenantIds: fresh.map((t) => t.tenantId) });
  });
  const rest = ordered.filter((t) => !assigned.has(t.tenantId)).map((t) => t.tenantId);
  if (rest.length > 0)
    planned.push({ name: waves.length ? 'remainder' : 'wave-1', canary: false, tenantIds: rest });
  const nonEmpty = planned.filter((w) => w.tenantIds.length > 0);
  if (canary <= 0) return nonEmpty;
  const canaryIds = nonEmpty.flatMap((w) => w.tenantIds).slice(0, canary);
  const taken = new Set(canaryIds);
  const after = nonEmpty
    .map((w) => ({ ...w, tenantIds: w.tenantIds.filter((id) => !taken.has(id)) }))
    .filter((w) => w.tenantIds.length > 0);
  return [{ name: 'canary', canary: true, tenantIds: canaryIds }, ...after];
}

// ---------------------------------------------------------------- per-tenant progress

/**
 * A tenant's progress in a rollout. `running`: admitted (counted in flight), its update asked for
 * or about to be; `busy`: another operation held the tenant, it is tried again in a later pass;
 * `skipped`: still busy after every pass.
 */
export const TENANT_PROGRESS = ['running', 'succeeded', 'failed', 'busy', 'skipped'] as const;
export type TenantProgress = (typeof TENANT_PROGRESS)[number];

export const isProgressEnded = (p: TenantProgress): boolean =>
  p === 'succeeded' || p === 'failed' || p === 'skipped';

/** Passes over a wave's busy tenants before they are recorded `skipped`. */
export const MAX_BUSY_PASSES = 20;

/** How a tenant's end changes the rollout's counters (inflight and the budget's exposure). */
export const PROGRESS_COUNTS: Readonly<
  Record<'succeeded' | 'failed' | 'busy', { succeeded: number; failed: number; exposure: number }>
> = {
  succeeded: { succeeded: 1, failed: 0, exposure: -1 },
  // A failure keeps its place in the exposure: inflight + failed.
  failed: { succeeded: 0, failed: 1, exposure: 0 },
  busy: { succeeded: 0, failed: 0, exposure: -1 },
};

// ---------------------------------------------------------------- what next

export interface WaveState {
  readonly status: RolloutStatus;
  /** Index of the wave being run; waves.length when all are done. */
  readonly currentWave: number;
  readonly waveCount: number;
  /** Tenants of the current wave with no ended progress (never admitted, running or busy). */
  readonly remaining: number;
  /** Of those, how many are busy (waiting for their own operation to end elsewhere). */
  readonly busy: number;
  /** The current wave's tenants ran at least one pass already. */
  readonly passedOnce: boolean;
  /** ISO instant a bake ends; undefined when none is pending. */
  readonly bakeUntil?: string | undefined;
  readonly now: string;
}

export type NextStep =
  | { readonly next: 'end' }
  | { readonly next: 'complete-wave' }
  | { readonly next: 'bake'; readonly untilIso: string }
  | { readonly next: 'retry-later' }
  | { readonly next: 'run' }
  | { readonly next: 'finish' };

/** What the rollout workflow does next, from its record alone. */
export function nextStep(s: WaveState): NextStep {
  if (s.status !== 'RUNNING') return { next: 'end' };
  if (s.bakeUntil && s.bakeUntil > s.now) return { next: 'bake', untilIso: s.bakeUntil };
  if (s.currentWave >= s.waveCount) return { next: 'finish' };
  if (s.remaining === 0) return { next: 'complete-wave' };
  // Only busy tenants left, all tried: wait before the next pass instead of spinning.
  if (s.passedOnce && s.busy === s.remaining) return { next: 'retry-later' };
  return { next: 'run' };
}

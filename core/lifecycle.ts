import { ControlPlaneError } from './errors.js';

/**
 * The tenant lifecycle as data: states, the transitions between them, and which operation moves a
 * tenant through which states. Pure: no I/O, so every rule is unit-tested in isolation and the
 * registry, the API and the workflows all ask this module instead of deciding for themselves.
 */

export const TENANT_STATES = [
  'PROVISIONING',
  'ACTIVE',
  'UPDATING',
  'SUSPENDING',
  'SUSPENDED',
  'RESUMING',
  'OFFBOARDING',
  'OFFBOARDED',
  'FAILED',
] as const;
export type TenantState = (typeof TENANT_STATES)[number];

export const OPERATION_TYPES = [
  'onboard',
  'change-tier',
  'suspend',
  'resume',
  'offboard',
  'update',
  'repair',
  'update-template',
] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const OPERATION_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** Statuses an operation never leaves. */
export const ENDED_OPERATION_STATUSES: readonly OperationStatus[] = ['SUCCEEDED', 'FAILED'];

/** The one "operation ended" rule: it succeeded or failed, and nothing will write to it again. */
export function isOperationEnded(operation: { readonly status: OperationStatus }): boolean {
  return ENDED_OPERATION_STATUSES.includes(operation.status);
}

/** Allowed `from → to` moves. Everything not listed is refused. */
export const TRANSITIONS: Readonly<Record<TenantState, readonly TenantState[]>> = {
  PROVISIONING: ['ACTIVE', 'FAILED'],
  ACTIVE: ['UPDATING', 'SUSPENDING', 'OFFBOARDING'],
  // A failed tier change whose compensation restored the old stack returns to ACTIVE.
  UPDATING: ['ACTIVE', 'FAILED'],
  // A failed suspension that re-enabled everything returns to ACTIVE.
  SUSPENDING: ['SUSPENDED', 'ACTIVE', 'FAILED'],
  SUSPENDED: ['RESUMING', 'OFFBOARDING'],
  RESUMING: ['ACTIVE', 'SUSPENDED', 'FAILED'],
  OFFBOARDING: ['OFFBOARDED', 'FAILED'],
  OFFBOARDED: [],
  // A failed tenant is cleaned up, or its failed operation retried (RETRY_FROM): the retry
  // re-enters that operation's `during` state.
  FAILED: ['OFFBOARDING', 'PROVISIONING', 'UPDATING', 'SUSPENDING', 'RESUMING'],
};

export function canTransition(from: TenantState, to: TenantState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: TenantState, to: TenantState): void {
  if (!canTransition(from, to)) {
    const allowed = TRANSITIONS[from];
    throw new ControlPlaneError(
      'INVALID_STATE_TRANSITION',
      `a tenant in ${from} cannot move to ${to}; from ${from} it can move to ${allowed.length ? allowed.join(', ') : 'nothing (terminal state)'}`,
      { details: { from, to, allowed } },
    );
  }
}

export interface OperationRule {
  /** States the tenant must be in for the operation to start (empty for onboard: a new tenant). */
  readonly from: readonly TenantState[];
  /** State while the operation runs. */
  readonly during: TenantState;
  readonly onSuccess: TenantState;
  /** State after a failure whose compensation undid every change. */
  readonly onRolledBack: TenantState;
}

export const OPERATION_RULES: Readonly<Record<OperationType, OperationRule>> = {
  onboard: { from: [], during: 'PROVISIONING', onSuccess: 'ACTIVE', onRolledBack: 'FAILED' },
  'change-tier': { from: ['ACTIVE'], during: 'UPDATING', onSuccess: 'ACTIVE', onRolledBack: 'ACTIVE' },
  suspend: { from: ['ACTIVE'], during: 'SUSPENDING', onSuccess: 'SUSPENDED', onRolledBack: 'ACTIVE' },
  resume: { from: ['SUSPENDED'], during: 'RESUMING', onSuccess: 'ACTIVE', onRolledBack: 'SUSPENDED' },
  // Name, admin email, allowed principals; a suspended tenant is resumed first.
  update: { from: ['ACTIVE'], during: 'UPDATING', onSuccess: 'ACTIVE', onRolledBack: 'ACTIVE' },
  offboard: {
    from: ['ACTIVE', 'SUSPENDED', 'FAILED'],
    during: 'OFFBOARDING',
    onSuccess: 'OFFBOARDED',
    onRolledBack: 'FAILED',
  },
  // Re-runs an ACTIVE tenant's ensure steps (docs/reconcile.md); a failed repair changed nothing
  // that was not already wrong, so it returns the tenant to ACTIVE with lastError.
  repair: { from: ['ACTIVE'], during: 'UPDATING', onSuccess: 'ACTIVE', onRolledBack: 'ACTIVE' },
  // A rollout's update of one tenant: CloudFormation rolls a failed update back, the tenant stays ACTIVE.
  'update-template': { from: ['ACTIVE'], during: 'UPDATING', onSuccess: 'ACTIVE', onRolledBack: 'ACTIVE' },
};

/** The state a tenant in `current` moves to when `type` starts; throws when the lifecycle refuses. */
export function startState(type: OperationType, current: TenantState): TenantState {
  const rule = OPERATION_RULES[type];
  if (!rule.from.includes(current)) {
    throw new ControlPlaneError(
      'INVALID_STATE_TRANSITION',
      `cannot ${type} a tenant in ${current}; ${type} needs the tenant in ${rule.from.join(' or ') || 'no state (new tenants only)'}`,
      { details: { operation: type, state: current, requires: rule.from } },
    );
  }
  assertTransition(current, rule.during);
  return rule.during;
}

/** The state an operation ends in: success, failure rolled back cleanly, or failure left dirty. */
export function endState(type: OperationType, outcome: 'succeeded' | 'rolled-back' | 'failed'): TenantState {
  const rule = OPERATION_RULES[type];
  if (outcome === 'succeeded') return rule.onSuccess;
  if (outcome === 'rolled-back') return rule.onRolledBack;
  return 'FAILED';
}

/**
 * Retrying a FAILED operation (POST /v1/operations/{id}/retry): the tenant states it can be retried
 * from. FAILED (its compensation did not finish, or an onboarding or offboarding failed), or the
 * state a clean rollback returned the tenant to. The retry re-enters the operation's `during` state.
 */
export const RETRY_FROM: Readonly<Record<OperationType, readonly TenantState[]>> = {
  onboard: ['FAILED'],
  'change-tier': ['ACTIVE', 'FAILED'],
  suspend: ['ACTIVE', 'FAILED'],
  resume: ['SUSPENDED', 'FAILED'],
  offboard: ['FAILED'],
  update: ['ACTIVE', 'FAILED'],
  repair: ['ACTIVE', 'FAILED'],
  'update-template': ['ACTIVE', 'FAILED'],
};

/** The state a tenant in `current` moves to when its failed `type` operation is retried. */
export function retryState(type: OperationType, current: TenantState): TenantState {
  if (!RETRY_FROM[type].includes(current)) {
    throw new ControlPlaneError(
      'INVALID_STATE_TRANSITION',
      `cannot retry a failed ${type} of a tenant in ${current}; a ${type} is retried from ${RETRY_FROM[type].join(' or ')}`,
      { details: { operation: type, state: current, requires: RETRY_FROM[type] } },
    );
  }
  const to = OPERATION_RULES[type].during;
  assertTransition(current, to);
  return to;
}

/**
 * Cancelling a running operation (POST /v1/operations/{id}/cancel) stops it at its next step and
 * runs its compensation, so the tenant ends where a rollback leaves it (`onRolledBack`). Offboarding
 * has no compensation, and a tier change cannot go back once its cut-over has run.
 */
export const CANCEL_RULES: Readonly<
  Record<OperationType, { readonly cancellable: boolean; readonly pointOfNoReturn?: string }>
> = {
  onboard: { cancellable: true },
  'change-tier': { cancellable: true, pointOfNoReturn: 'CutOver' },
  suspend: { cancellable: true },
  resume: { cancellable: true },
  offboard: { cancellable: false },
  update: { cancellable: true },
  repair: { cancellable: true },
  // A rollout's own update of one tenant: the rollout's pause/abort is its brake (docs/rollouts.md).
  'update-template': { cancellable: false },
};

/** Throws OPERATION_NOT_CANCELLABLE unless an operation of `type` with these steps can still be cancelled. */
export function assertCancellable(
  type: OperationType,
  steps: readonly { readonly name: string; readonly status: string }[],
): void {
  const rule = CANCEL_RULES[type];
  if (!rule.cancellable)
    throw new ControlPlaneError(
      'OPERATION_NOT_CANCELLABLE',
      `a ${type} cannot be cancelled: it has nothing to undo`,
      {
        details: { operation: type },
      },
    );
  const passed = rule.pointOfNoReturn && steps.some((s) => s.name === rule.pointOfNoReturn);
  if (passed)
    throw new ControlPlaneError(
      'OPERATION_NOT_CANCELLABLE',
      `this ${type} has reached ${rule.pointOfNoReturn}, after which it cannot be undone; let it finish`,
      { details: { operation: type, pointOfNoReturn: rule.pointOfNoReturn } },
    );
}

export function isTerminal(state: TenantState): boolean {
  return TRANSITIONS[state].length === 0;
}

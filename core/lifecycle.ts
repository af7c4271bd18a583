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
  // A failed tenant can only be cleaned up; onboarding again is a new tenant.
  FAILED: ['OFFBOARDING'],
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
  offboard: {
    from: ['ACTIVE', 'SUSPENDED', 'FAILED'],
    during: 'OFFBOARDING',
    onSuccess: 'OFFBOARDED',
    onRolledBack: 'FAILED',
  },
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

export function isTerminal(state: TenantState): boolean {
  return TRANSITIONS[state].length === 0;
}

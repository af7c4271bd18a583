import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from './errors.js';
import {
  assertCancellable,
  assertTransition,
  CANCEL_RULES,
  canTransition,
  endState,
  isOperationEnded,
  isTerminal,
  OPERATION_RULES,
  OPERATION_STATUSES,
  OPERATION_TYPES,
  RETRY_FROM,
  retryState,
  startState,
  TENANT_STATES,
  TRANSITIONS,
} from './lifecycle.js';

const allowed = new Set([
  'PROVISIONING>ACTIVE',
  'PROVISIONING>FAILED',
  'ACTIVE>UPDATING',
  'ACTIVE>SUSPENDING',
  'ACTIVE>OFFBOARDING',
  'UPDATING>ACTIVE',
  'UPDATING>FAILED',
  'SUSPENDING>SUSPENDED',
  'SUSPENDING>ACTIVE',
  'SUSPENDING>FAILED',
  'SUSPENDED>RESUMING',
  'SUSPENDED>OFFBOARDING',
  'RESUMING>ACTIVE',
  'RESUMING>SUSPENDED',
  'RESUMING>FAILED',
  'OFFBOARDING>OFFBOARDED',
  'OFFBOARDING>FAILED',
  'FAILED>OFFBOARDING',
  // Retrying a failed operation re-enters its `during` state (RETRY_FROM).
  'FAILED>PROVISIONING',
  'FAILED>UPDATING',
  'FAILED>SUSPENDING',
  'FAILED>RESUMING',
]);

describe('tenant lifecycle transitions', () => {
  const pairs = TENANT_STATES.flatMap((from) => TENANT_STATES.map((to) => [from, to] as const));

  it.each(pairs)('%s -> %s is allowed exactly when listed', (from, to) => {
    const expected = allowed.has(`${from}>${to}`);
    expect(canTransition(from, to)).toBe(expected);
    if (expected) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      const err = (() => {
        try {
          assertTransition(from, to);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ControlPlaneError);
      expect((err as ControlPlaneError).code).toBe('INVALID_STATE_TRANSITION');
      expect((err as ControlPlaneError).message).toContain(from);
    }
  });

  it('lists exactly the allowed pairs, nothing more', () => {
    const listed = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`));
    expect(new Set(listed)).toEqual(allowed);
  });

  it('OFFBOARDED is the only terminal state', () => {
    expect(TENANT_STATES.filter(isTerminal)).toEqual(['OFFBOARDED']);
  });
});

describe('operation rules', () => {
  it('every operation path uses allowed transitions', () => {
    for (const type of OPERATION_TYPES) {
      const rule = OPERATION_RULES[type];
      for (const from of rule.from) expect(canTransition(from, rule.during)).toBe(true);
      expect(canTransition(rule.during, rule.onSuccess)).toBe(true);
      expect(rule.during === rule.onRolledBack || canTransition(rule.during, rule.onRolledBack)).toBe(true);
      expect(canTransition(rule.during, 'FAILED')).toBe(true);
    }
  });

  it('startState refuses states the operation does not start from', () => {
    expect(startState('suspend', 'ACTIVE')).toBe('SUSPENDING');
    expect(startState('offboard', 'FAILED')).toBe('OFFBOARDING');
    expect(() => startState('suspend', 'SUSPENDED')).toThrow(/cannot suspend a tenant in SUSPENDED/);
    expect(() => startState('resume', 'ACTIVE')).toThrow(ControlPlaneError);
    expect(() => startState('change-tier', 'OFFBOARDED')).toThrow(/change-tier/);
  });

  it('endState maps outcomes', () => {
    expect(endState('change-tier', 'rolled-back')).toBe('ACTIVE');
    expect(endState('onboard', 'rolled-back')).toBe('FAILED');
    expect(endState('resume', 'succeeded')).toBe('ACTIVE');
    expect(endState('suspend', 'failed')).toBe('FAILED');
  });
});

describe('operation ended', () => {
  it('is true for SUCCEEDED and FAILED only', () => {
    expect(OPERATION_STATUSES.filter((status) => isOperationEnded({ status }))).toEqual([
      'SUCCEEDED',
      'FAILED',
    ]);
  });
});

describe('retry of a failed operation', () => {
  it.each([
    ['onboard', 'FAILED', 'PROVISIONING'],
    ['change-tier', 'FAILED', 'UPDATING'],
    ['change-tier', 'ACTIVE', 'UPDATING'],
    ['suspend', 'FAILED', 'SUSPENDING'],
    ['suspend', 'ACTIVE', 'SUSPENDING'],
    ['resume', 'FAILED', 'RESUMING'],
    ['resume', 'SUSPENDED', 'RESUMING'],
    ['offboard', 'FAILED', 'OFFBOARDING'],
  ] as const)('a failed %s of a tenant in %s re-enters %s', (type, from, to) => {
    expect(retryState(type, from)).toBe(to);
    expect(canTransition(from, to)).toBe(true);
  });

  it('every state a retry starts from reaches its operation, and the operation can end from there', () => {
    for (const type of OPERATION_TYPES) {
      const rule = OPERATION_RULES[type];
      for (const from of RETRY_FROM[type])
        expect(canTransition(from, rule.during), `${type} ${from}`).toBe(true);
    }
  });

  it('refuses a retry from a state the operation does not leave the tenant in', () => {
    const refused = [
      ['onboard', 'ACTIVE'],
      ['suspend', 'SUSPENDED'],
      ['resume', 'ACTIVE'],
      ['offboard', 'OFFBOARDED'],
      ['change-tier', 'SUSPENDED'],
    ] as const;
    for (const [type, from] of refused) {
      expect(() => retryState(type, from), `${type} ${from}`).toThrow(
        expect.objectContaining({ code: 'INVALID_STATE_TRANSITION' }),
      );
    }
  });
});

describe('cancel of a running operation', () => {
  it('is refused for offboard (nothing to undo) and for a tier change past its cut-over', () => {
    expect(CANCEL_RULES.offboard.cancellable).toBe(false);
    expect(() => assertCancellable('offboard', [])).toThrow(
      expect.objectContaining({ code: 'OPERATION_NOT_CANCELLABLE' }),
    );
    const before = [{ name: 'AwaitMigration', status: 'RUNNING' }];
    expect(() => assertCancellable('change-tier', before)).not.toThrow();
    expect(() =>
      assertCancellable('change-tier', [...before, { name: 'CutOver', status: 'SUCCEEDED' }]),
    ).toThrow(/CutOver/);
  });

  it('allows every other operation, whose rollback state the lifecycle reaches', () => {
    for (const type of ['onboard', 'suspend', 'resume', 'change-tier'] as const) {
      expect(() => assertCancellable(type, [{ name: 'Begin', status: 'SUCCEEDED' }])).not.toThrow();
      const rule = OPERATION_RULES[type];
      expect(rule.during === rule.onRolledBack || canTransition(rule.during, rule.onRolledBack)).toBe(true);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from './errors.js';
import {
  assertTransition,
  canTransition,
  endState,
  isOperationEnded,
  isTerminal,
  OPERATION_RULES,
  OPERATION_STATUSES,
  OPERATION_TYPES,
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

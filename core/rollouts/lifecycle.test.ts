import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isControlPlaneError } from '../errors.js';
import {
  admissionCap,
  assertRolloutTransition,
  budgetCount,
  budgetTripped,
  canMoveRollout,
  isRolloutActive,
  isRolloutEnded,
  mayAdmit,
  nextStep,
  ON_FAILURE_STATUS,
  planWaves,
  ROLLOUT_ACTIONS,
  ROLLOUT_STATUSES,
  ROLLOUT_TRANSITIONS,
  type WaveState,
} from './lifecycle.js';

const tenant = (n: number, tier: string) => ({
  tenantId: `t_${String(n).padStart(26, '0')}`,
  slug: `tenant-${n}`,
  tier,
});

describe('rollout statuses', () => {
  it('allow exactly the listed moves', () => {
    const expected: Record<string, string[]> = {
      PENDING: ['RUNNING', 'ABORTED'],
      RUNNING: ['PAUSED', 'SUCCEEDED', 'FAILED', 'ABORTED'],
      PAUSED: ['RUNNING', 'ABORTED'],
      SUCCEEDED: [],
      FAILED: [],
      ABORTED: [],
    };
    for (const from of ROLLOUT_STATUSES)
      for (const to of ROLLOUT_STATUSES)
        expect(canMoveRollout(from, to), `${from} → ${to}`).toBe(expected[from]!.includes(to));
  });

  it('refuse a move with ROLLOUT_INVALID_TRANSITION naming what is allowed', () => {
    expect(() => assertRolloutTransition('SUCCEEDED', 'RUNNING', 'ro_x')).toThrow(/has ended/);
    try {
      assertRolloutTransition('PENDING', 'PAUSED');
    } catch (e) {
      expect(isControlPlaneError(e, 'ROLLOUT_INVALID_TRANSITION')).toBe(true);
      expect((e as { details: unknown }).details).toEqual({
        from: 'PENDING',
        to: 'PAUSED',
        allowed: ['RUNNING', 'ABORTED'],
      });
    }
    expect(() => assertRolloutTransition('RUNNING', 'PAUSED')).not.toThrow();
  });

  it('ended statuses are the ones with no way out; active ones hold their tenants', () => {
    for (const s of ROLLOUT_STATUSES) {
      expect(isRolloutEnded(s)).toBe(ROLLOUT_TRANSITIONS[s].length === 0);
      expect(isRolloutActive(s)).toBe(!isRolloutEnded(s));
    }
  });

  it('operator actions and budget outcomes lead to statuses the lifecycle allows from RUNNING', () => {
    for (const to of Object.values(ON_FAILURE_STATUS)) expect(canMoveRollout('RUNNING', to)).toBe(true);
    expect(canMoveRollout('RUNNING', ROLLOUT_ACTIONS.pause)).toBe(true);
    expect(canMoveRollout('PAUSED', ROLLOUT_ACTIONS.resume)).toBe(true);
    expect(canMoveRollout('PAUSED', ROLLOUT_ACTIONS.abort)).toBe(true);
  });
});

describe('failure budget', () => {
  it('is a count, or a percentage of the tenants rounded down', () => {
    expect(budgetCount({ count: 3 }, 10)).toBe(3);
    expect(budgetCount({ percent: 10 }, 1000)).toBe(100);
    expect(budgetCount({ percent: 15 }, 10)).toBe(1);
    expect(budgetCount({ percent: 100 }, 7)).toBe(7);
  });

  it('caps admissions at budget + 1 in flight or failed; the canary tolerates none', () => {
    expect(admissionCap(5, false, 2)).toBe(6);
    expect(admissionCap(5, true, 0)).toBe(1);
    expect(mayAdmit({ inflight: 0, failed: 0, maxConcurrency: 10, cap: 1 })).toBe(true);
    expect(mayAdmit({ inflight: 1, failed: 0, maxConcurrency: 10, cap: 1 })).toBe(false);
    expect(mayAdmit({ inflight: 3, failed: 2, maxConcurrency: 10, cap: 6 })).toBe(true);
    expect(mayAdmit({ inflight: 4, failed: 2, maxConcurrency: 10, cap: 6 })).toBe(false);
    expect(mayAdmit({ inflight: 2, failed: 0, maxConcurrency: 2, cap: 100 })).toBe(false);
  });

  it('never lets failures pass the cap, whatever order updates start and fail in (strict)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
        (budget, maxConcurrency, outcomes, picks) => {
          const cap = admissionCap(budget, false, 0);
          let inflight: boolean[] = [];
          let failed = 0;
          let next = 0;
          let afterTrip = 0;
          for (const pick of picks) {
            while (
              next < outcomes.length &&
              mayAdmit({ inflight: inflight.length, failed, maxConcurrency, cap })
            ) {
              if (budgetTripped(failed, cap)) afterTrip += 1;
              inflight.push(outcomes[next++]!);
            }
            if (inflight.length === 0) break;
            const i = pick % inflight.length;
            if (!inflight[i]) failed += 1;
            inflight = inflight.filter((_, j) => j !== i);
          }
          expect(failed).toBeLessThanOrEqual(budget + 1);
          expect(afterTrip).toBe(0);
        },
      ),
    );
  });

  it('trips once failures reach the cap', () => {
    expect(budgetTripped(2, 3)).toBe(false);
    expect(budgetTripped(3, 3)).toBe(true);
  });
});

describe('planWaves', () => {
  const fleet = [tenant(1, 'basic'), tenant(2, 'premium'), tenant(3, 'basic'), tenant(4, 'enterprise')];

  it('puts each tenant in the first wave naming its tier, the rest in a remainder wave', () => {
    const waves = planWaves(fleet, [{ tiers: ['basic'] }, { tiers: ['premium', 'basic'] }], 0);
    expect(waves.map((w) => [w.name, w.tenantIds.length])).toEqual([
      ['wave-1', 2],
      ['wave-2', 1],
      ['remainder', 1],
    ]);
  });

  it('takes explicit tenants by id or slug, and cumulative percentages rounded up', () => {
    const waves = planWaves(fleet, [{ tenants: ['tenant-4'] }, { percent: 50 }, { percent: 50 }], 0);
    expect(waves.map((w) => w.tenantIds.length)).toEqual([1, 2, 1]);
    expect(waves[0]!.tenantIds).toEqual([fleet[3]!.tenantId]);
  });

  it('makes one wave without wave specs, and a canary wave 0 of the first N tenants', () => {
    expect(planWaves(fleet, [], 0).map((w) => w.tenantIds.length)).toEqual([4]);
    const waves = planWaves(fleet, [{ tiers: ['enterprise'] }], 2);
    expect(waves[0]).toMatchObject({ name: 'canary', canary: true });
    expect(waves[0]!.tenantIds).toEqual([fleet[3]!.tenantId, fleet[0]!.tenantId]);
    expect(waves.flatMap((w) => w.tenantIds).sort()).toEqual(fleet.map((t) => t.tenantId).sort());
  });

  it('every tenant lands in exactly one wave, whatever the specs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('basic', 'premium', 'enterprise'), { minLength: 1, maxLength: 40 }),
        fc.array(
          fc.oneof(
            fc.record({ tiers: fc.constantFrom(['basic'], ['premium'], ['basic', 'enterprise']) }),
            fc.record({ percent: fc.integer({ min: 1, max: 100 }) }),
          ),
          { maxLength: 5 },
        ),
        fc.integer({ min: 0, max: 5 }),
        (tiers, specs, canary) => {
          const tenants = tiers.map((t, i) => tenant(i, t));
          const ids = planWaves(tenants, specs, canary).flatMap((w) => w.tenantIds);
          expect(ids.sort()).toEqual(tenants.map((t) => t.tenantId).sort());
        },
      ),
    );
  });
});

describe('nextStep', () => {
  const base: WaveState = {
    status: 'RUNNING',
    currentWave: 0,
    waveCount: 2,
    remaining: 3,
    busy: 0,
    passedOnce: false,
    now: '2026-01-01T00:00:00.000Z',
  };
  it('ends when the rollout is not RUNNING', () => {
    for (const status of ['PAUSED', 'ABORTED', 'FAILED', 'SUCCEEDED'] as const)
      expect(nextStep({ ...base, status })).toEqual({ next: 'end' });
  });
  it('bakes until the bake ends, then runs', () => {
    expect(nextStep({ ...base, bakeUntil: '2026-01-01T00:00:05.000Z' })).toEqual({
      next: 'bake',
      untilIso: '2026-01-01T00:00:05.000Z',
    });
    expect(nextStep({ ...base, bakeUntil: '2025-12-31T23:59:59.000Z' })).toEqual({ next: 'run' });
  });
  it('completes a wave with nothing left, finishes after the last', () => {
    expect(nextStep({ ...base, remaining: 0 })).toEqual({ next: 'complete-wave' });
    expect(nextStep({ ...base, currentWave: 2, remaining: 0 })).toEqual({ next: 'finish' });
  });
  it('waits before another pass when only busy tenants are left', () => {
    expect(nextStep({ ...base, busy: 3, passedOnce: true })).toEqual({ next: 'retry-later' });
    expect(nextStep({ ...base, busy: 3, passedOnce: false })).toEqual({ next: 'run' });
    expect(nextStep({ ...base, busy: 2, passedOnce: true })).toEqual({ next: 'run' });
  });
});

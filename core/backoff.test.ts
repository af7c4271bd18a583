import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, backoffSeconds } from './backoff.js';

describe('backoff', () => {
  it('doubles from the base up to the maximum', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffCeiling(policy, a))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('defaults the maximum to 20 times the base', () => {
    expect(backoffCeiling({ baseMs: 50 }, 40)).toBe(1000);
  });

  it('waits between half and all of the ceiling (equal jitter)', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(policy, 2, () => 0)).toBe(200);
    expect(backoffDelay(policy, 2, () => 0.999999)).toBe(400);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(policy, 3);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('in whole seconds, never under one (a Step Functions Wait)', () => {
    const policy = { baseMs: 2000 };
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffSeconds(policy, a, () => 0.999999))).toEqual([
      2, 4, 8, 16, 32, 40, 40,
    ]);
    expect(backoffSeconds(policy, 3, () => 0)).toBe(8);
    expect(backoffSeconds({ baseMs: 1000 }, 0, () => 0)).toBe(1);
    expect(backoffSeconds({ baseMs: 100 }, 0, () => 0)).toBe(1);
  });
});

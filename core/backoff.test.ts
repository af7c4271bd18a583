import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from './backoff.js';

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
});

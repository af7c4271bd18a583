import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apportionPeriod, largestRemainder } from './apportion.js';

describe('apportioning shared cost by usage', () => {
  it('splits exactly: the parts always add up to the total, each within one millionth of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.dictionary(
          fc.stringMatching(/^t_[A-Z0-9]{4}$/),
          fc.double({ min: 0.001, max: 1e9, noNaN: true }),
          {
            minKeys: 1,
            maxKeys: 30,
          },
        ),
        (total, weights) => {
          const w = new Map(Object.entries(weights));
          const parts = largestRemainder(total, w);
          expect([...parts.values()].reduce((a, b) => a + b, 0)).toBe(total);
          const sum = [...w.values()].reduce((a, b) => a + b, 0);
          for (const [id, part] of parts)
            expect(Math.abs(part - (total * w.get(id)!) / sum)).toBeLessThan(1 + 1e-6 * total);
        },
      ),
      { numRuns: 200, seed: 16 },
    );
  });

  it('gives the leftover millionths by largest remainder, ties by id, whatever the order read', () => {
    const thirds = largestRemainder(
      1_000_001,
      new Map([
        ['t_c', 1],
        ['t_a', 1],
        ['t_b', 1],
      ]),
    );
    expect(Object.fromEntries(thirds)).toEqual({ t_a: 333_334, t_b: 333_334, t_c: 333_333 });
    expect(
      Object.fromEntries(
        largestRemainder(
          100,
          new Map([
            ['x', 1],
            ['y', 2],
          ]),
        ),
      ),
    ).toEqual({ x: 33, y: 67 });
  });

  it('keeps direct cost apart and reports shared cost of a period without usage as unapportioned', () => {
    const p = apportionPeriod({
      start: '2026-10-01',
      end: '2026-10-02',
      estimated: true,
      direct: new Map([['t_a', 5_000_000]]),
      shared: 2_000_000,
      usage: new Map(),
    });
    expect(p.unapportioned).toBe(2_000_000);
    expect(p.tenants.get('t_a')).toEqual({ direct: 5_000_000, apportioned: 0, usage: 0 });
    const q = apportionPeriod({
      ...p,
      direct: new Map(),
      usage: new Map([
        ['t_a', 0],
        ['t_b', 4],
      ]),
    });
    expect(q.unapportioned).toBe(0);
    expect(Object.fromEntries(q.tenants)).toEqual({ t_b: { direct: 0, apportioned: 2_000_000, usage: 4 } });
  });
});

import { describe, expect, it } from 'vitest';
import { usageSourceOf } from './billing-source.js';
import type { Meter } from './meters.js';
import type { UsageReader } from './store.js';

const meters: Meter[] = [
  { name: 'api-requests', unit: 'requests', aggregation: 'sum' },
  { name: 'storage-gb', unit: 'GB', aggregation: 'max' },
  { name: 'seats', unit: 'seats', aggregation: 'last' },
];

const H1 = '2026-12-04T01:00:00.000Z';
const H2 = '2026-12-04T02:00:00.000Z';

/** A reader over fixed aggregates that records what it was asked. */
function reader(): UsageReader & { asked: string[] } {
  const asked: string[] = [];
  const rows: Record<string, ReturnType<UsageReader['hourly']> extends Promise<infer T> ? T : never> = {
    'api-requests': [
      { meter: 'api-requests', hour: H1, sum: 12.4, count: 3 },
      { meter: 'api-requests', hour: H2, sum: 0.2, count: 1 },
    ],
    'storage-gb': [{ meter: 'storage-gb', hour: H1, sum: 9, count: 2, max: 6.6 }],
    seats: [{ meter: 'seats', hour: H2, sum: 30, count: 3, last: 7, lastAt: H2 }],
  };
  return {
    asked,
    async hourly(tenantId, meter, from, to) {
      asked.push(`${tenantId} ${meter} ${from.toISOString()} ${to.toISOString()}`);
      return rows[meter] ?? [];
    },
  };
}

describe('usageSourceOf', () => {
  it("values each meter's hours by its aggregation, whole units, and leaves out hours worth 0", async () => {
    const store = reader();
    const from = new Date(H1);
    const to = new Date('2026-12-04T03:00:00.000Z');
    const hours = await usageSourceOf(store, () => meters).hourlyUsage({ tenantId: 't_A', from, to });
    expect(hours).toEqual([
      { tenantId: 't_A', meter: 'api-requests', hour: H1, quantity: 12 },
      { tenantId: 't_A', meter: 'storage-gb', hour: H1, quantity: 7 },
      { tenantId: 't_A', meter: 'seats', hour: H2, quantity: 7 },
    ]);
    expect(store.asked).toEqual(meters.map((m) => `t_A ${m.name} ${from.toISOString()} ${to.toISOString()}`));
  });

  it('reads the meters when asked, so a reloaded catalog is followed', async () => {
    let current: Meter[] = [];
    const source = usageSourceOf(reader(), () => current);
    const q = { tenantId: 't_A', from: new Date(H1), to: new Date(H2) };
    expect(await source.hourlyUsage(q)).toEqual([]);
    current = [meters[0]!];
    expect((await source.hourlyUsage(q)).map((h) => h.meter)).toEqual(['api-requests']);
  });
});

import { describe, expect, it } from 'vitest';
import { TierCatalog } from '../../tiers/catalog.js';
import { ControlPlaneError } from '../errors.js';
import type { Tenant } from '../registry/records.js';
import { ingestBatch } from './ingest.js';
import { hourOf, rangeValue } from './meters.js';
import type { MeteredEvent, StoreOutcome } from './store.js';

/** Batch validation without AWS: a catalog of our own, a store that records what it was given. */

const catalog = TierCatalog.parse({
  meters: [
    { name: 'api-requests', unit: 'requests', aggregation: 'sum' },
    { name: 'gpu-hours', unit: 'hours', aggregation: 'sum' },
  ],
  tiers: [
    {
      name: 'solo',
      isolation: 'pool',
      throttle: { rateLimit: 1, burstLimit: 1, dailyQuota: 100 },
      meters: { 'api-requests': { included: 10 } },
    },
  ],
});
const NOW = new Date('2026-12-04T10:30:00.000Z');
const tenant = { tenantId: 't_01M82QPG5G662H5AZW1KHNV7FV', tier: 'solo', state: 'ACTIVE' } as Tenant;

function deps(outcome: StoreOutcome = 'accepted') {
  const stored: MeteredEvent[] = [];
  return {
    stored,
    deps: {
      store: {
        record: async (e: MeteredEvent) => {
          stored.push(e);
          return outcome;
        },
      },
      catalog,
      findTenant: async (ref: string) => (ref === tenant.tenantId || ref === 'solo-co' ? tenant : undefined),
      clock: () => NOW,
    },
  };
}
const event = (over: Record<string, unknown> = {}) => ({
  tenantId: tenant.tenantId,
  meter: 'api-requests',
  quantity: 1,
  timestamp: '2026-12-04T10:00:00Z',
  idempotencyKey: 'k1',
  ...over,
});

describe('ingestBatch', () => {
  it('refuses a declared meter the tenant’s tier is not metered on, naming the tier’s meters', async () => {
    const { deps: d, stored } = deps();
    const res = await ingestBatch([event(), event({ meter: 'gpu-hours', idempotencyKey: 'k2' })], d);
    expect(res.events[1]).toMatchObject({
      status: 'refused',
      code: 'METER_NOT_IN_TIER',
      message: expect.stringContaining('it is on api-requests'),
    });
    expect(stored.map((e) => e.meter)).toEqual(['api-requests']);
  });

  it('resolves slugs, keeps an expiry past the acceptance window and stores nothing when all are refused', async () => {
    const { deps: d, stored } = deps();
    await ingestBatch([event({ tenantId: 'solo-co', timestamp: '2026-12-04T10:00:00+02:00' })], d);
    expect(stored[0]).toMatchObject({ tenantId: tenant.tenantId, aggregation: 'sum' });
    expect(stored[0]!.timestamp.toISOString()).toBe('2026-12-04T08:00:00.000Z');
    expect(stored[0]!.expiresAt).toBe(Date.parse('2026-12-04T08:00:00Z') / 1000 + 7 * 86400 + 300 + 3600);
    const none = deps();
    const refused = await ingestBatch(
      [event({ quantity: Number.POSITIVE_INFINITY }), event({ quantity: 1e13 })],
      none.deps,
    ).catch((e: ControlPlaneError) => e);
    expect(refused).toBeInstanceOf(ControlPlaneError);
    expect((refused as ControlPlaneError).code).toBe('USAGE_BATCH_REJECTED');
    expect(none.stored).toEqual([]);
  });

  it('honours configured limits and answers a key counted for another event as IDEMPOTENCY_KEY_REUSED', async () => {
    const { deps: d } = deps('conflict');
    const res = await ingestBatch([event()], { ...d, limits: { maxEvents: 1 } });
    expect(res.events[0]).toMatchObject({ status: 'refused', code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(ingestBatch([event(), event()], { ...d, limits: { maxEvents: 1 } })).rejects.toMatchObject({
      code: 'USAGE_BATCH_TOO_LARGE',
    });
  });
});

describe('meters', () => {
  it('combines hours by aggregation', () => {
    const hours = [
      {
        meter: 'm',
        hour: '2026-12-04T08:00:00.000Z',
        sum: 3,
        count: 2,
        max: 2,
        last: 1,
        lastAt: '2026-12-04T08:50:00.000Z',
      },
      {
        meter: 'm',
        hour: '2026-12-04T09:00:00.000Z',
        sum: 4,
        count: 1,
        max: 4,
        last: 7,
        lastAt: '2026-12-04T09:05:00.000Z',
      },
    ];
    expect([rangeValue('sum', hours), rangeValue('max', hours), rangeValue('last', hours)]).toEqual([
      7, 4, 7,
    ]);
    expect(rangeValue('last', [])).toBe(0);
    expect(hourOf(new Date('2026-12-04T09:59:59.999Z'))).toBe('2026-12-04T09:00:00.000Z');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';
import { seedTenants } from '../../test/support/seed.js';

/**
 * Metering end to end on moto: POST /v1/usage batches aggregate per tenant, meter and hour in the
 * registry table; redeliveries (also concurrent ones) count once; GET /v1/tenants/:id/usage reads
 * them back by meter and range, with the tier's included quantity and the overage.
 */

const NOW = new Date('2026-12-04T10:30:00.000Z');
const clock = () => NOW;

let h: TestApp;
let basic: Tenant;
let standard: Tenant;
let offboarded: Tenant;
let writer: string;

beforeAll(async () => {
  h = await startTestApp({ deps: { clock } });
  const clients = testClients();
  [basic, standard, offboarded] = (await seedTenants(clients.documents, h.registry.tableName, 3, (i) => ({
    tier: i === 1 ? 'standard' : 'basic',
    state: i === 2 ? 'OFFBOARDED' : 'ACTIVE',
  }))) as [Tenant, Tenant, Tenant];
  clients.destroy();
  writer = await h.keyWith(['usage:write']);
});
afterAll(async () => h?.close());

interface Ev {
  tenantId: string;
  meter: string;
  quantity: unknown;
  timestamp: string;
  idempotencyKey: string;
}
const ev = (over: Partial<Ev> & { idempotencyKey: string }): Ev => ({
  tenantId: basic.tenantId,
  meter: 'api-requests',
  quantity: 1,
  timestamp: '2026-12-04T09:15:00.000Z',
  ...over,
});
const post = (events: unknown[], key: string | null = writer) =>
  h.call({
    method: 'POST',
    url: '/v1/usage',
    key,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ events }),
  });
const usage = async (tenant: string, query: string) => {
  const res = await h.call({ method: 'GET', url: `/v1/tenants/${tenant}/usage?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

describe('POST /v1/usage', () => {
  it('aggregates a batch per meter and hour: sum, max and last', async () => {
    const res = await post([
      ev({ idempotencyKey: 'a-1', quantity: 10 }),
      ev({ idempotencyKey: 'a-2', quantity: 5, timestamp: '2026-12-04T09:59:59.999Z' }),
      ev({ idempotencyKey: 'a-3', quantity: 7, timestamp: '2026-12-04T10:00:00.000Z' }),
      ev({ idempotencyKey: 'a-4', meter: 'storage-gb', quantity: 3.5 }),
      ev({ idempotencyKey: 'a-5', meter: 'storage-gb', quantity: 2 }),
      ev({ idempotencyKey: 'a-6', meter: 'seats', quantity: 4, timestamp: '2026-12-04T09:40:00.000Z' }),
      ev({ idempotencyKey: 'a-7', meter: 'seats', quantity: 3, timestamp: '2026-12-04T09:20:00.000Z' }),
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 7, duplicates: 0, refused: 0 });

    const all = await usage(basic.tenantId, 'from=2026-12-04T09:00:00Z&to=2026-12-04T11:00:00Z');
    expect(
      all.items.map((i: { meter: string; hour: string; value: number }) => [i.meter, i.hour, i.value]),
    ).toEqual([
      ['api-requests', '2026-12-04T09:00:00.000Z', 15],
      ['api-requests', '2026-12-04T10:00:00.000Z', 7],
      ['storage-gb', '2026-12-04T09:00:00.000Z', 3.5],
      ['seats', '2026-12-04T09:00:00.000Z', 4],
    ]);
    expect(all.meters).toEqual([
      {
        meter: 'api-requests',
        unit: 'requests',
        aggregation: 'sum',
        value: 22,
        included: 100_000,
        overage: 0,
      },
      { meter: 'storage-gb', unit: 'GB', aggregation: 'max', value: 3.5, included: 5, overage: 0 },
      { meter: 'seats', unit: 'seats', aggregation: 'last', value: 4, included: 5, overage: 0 },
    ]);
    // By meter and range: the 10:00 hour alone.
    const one = await usage(
      basic.tenantId,
      'meter=api-requests&from=2026-12-04T10:00:00Z&to=2026-12-04T11:00:00Z',
    );
    expect(one.items).toEqual([
      { meter: 'api-requests', hour: '2026-12-04T10:00:00.000Z', value: 7, sum: 7, count: 1 },
    ]);
    expect(one.meters[0].value).toBe(7);
  });

  it('counts a redelivered batch once, also when deliveries race', async () => {
    const batch = Array.from({ length: 12 }, (_, i) =>
      ev({ tenantId: standard.tenantId, idempotencyKey: `r-${i}`, quantity: i + 1 }),
    );
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(batch)));
    const bodies = answers.map((a) => a.json());
    expect(answers.map((a) => a.statusCode)).toEqual(Array(6).fill(200));
    // Every event was accepted by exactly one delivery and a duplicate in the others.
    for (let i = 0; i < batch.length; i++)
      expect(bodies.filter((b) => b.events[i].status === 'accepted')).toHaveLength(1);
    expect(bodies.reduce((n, b) => n + b.accepted, 0)).toBe(12);
    expect(bodies.reduce((n, b) => n + b.duplicates, 0)).toBe(60);

    const again = (await post(batch)).json();
    expect(again).toMatchObject({ accepted: 0, duplicates: 12, refused: 0 });
    const read = await usage(
      standard.tenantId,
      'meter=api-requests&from=2026-12-04T09:00:00Z&to=2026-12-04T10:00:00Z',
    );
    expect(read.items).toEqual([
      { meter: 'api-requests', hour: '2026-12-04T09:00:00.000Z', value: 78, sum: 78, count: 12 },
    ]);
  });

  it('adds up concurrent batches of different events into one hour; max and last agree whatever the order', async () => {
    const hour = '2026-12-04T07';
    const batches = Array.from({ length: 5 }, (_, b) => [
      ...Array.from({ length: 8 }, (_, i) =>
        ev({
          tenantId: standard.tenantId,
          idempotencyKey: `c-${b}-${i}`,
          quantity: b * 10 + i,
          timestamp: `${hour}:0${i}:00Z`,
        }),
      ),
      ev({
        tenantId: standard.tenantId,
        meter: 'storage-gb',
        idempotencyKey: `c-${b}-max`,
        quantity: [3, 9, 1, 7, 5][b]!,
        timestamp: `${hour}:30:00Z`,
      }),
      ev({
        tenantId: standard.tenantId,
        meter: 'seats',
        idempotencyKey: `c-${b}-last`,
        quantity: 10 + b,
        timestamp: `${hour}:4${b}:00Z`,
      }),
    ]);
    // Delivered twice each, all at once.
    const answers = await Promise.all([...batches, ...batches].map((batch) => post(batch)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
    expect(answers.reduce((n, a) => n + a.json().accepted, 0)).toBe(50);
    const read = await usage(standard.tenantId, `from=${hour}:00:00Z&to=2026-12-04T08:00:00Z`);
    const expected = batches
      .flat()
      .filter((e) => e.meter === 'api-requests')
      .reduce((n, e) => n + (e.quantity as number), 0);
    expect(read.items).toEqual([
      { meter: 'api-requests', hour: `${hour}:00:00.000Z`, value: expected, sum: expected, count: 40 },
      { meter: 'storage-gb', hour: `${hour}:00:00.000Z`, value: 9, sum: 25, count: 5, max: 9 },
      {
        meter: 'seats',
        hour: `${hour}:00:00.000Z`,
        value: 14,
        sum: 60,
        count: 5,
        last: 14,
        lastAt: `${hour}:44:00.000Z`,
      },
    ]);
  });

  it('says per event what was accepted, duplicated or refused, each with a code', async () => {
    await post([ev({ idempotencyKey: 'p-dup', quantity: 2 })]);
    const res = await post([
      ev({ idempotencyKey: 'p-ok', quantity: 1 }),
      ev({ idempotencyKey: 'p-dup', quantity: 2 }),
      ev({ idempotencyKey: 'p-dup', quantity: 3 }),
      ev({ idempotencyKey: 'p-neg', quantity: -1 }),
      ev({ idempotencyKey: 'p-str', quantity: 'NaN' }),
      ev({ idempotencyKey: 'p-old', timestamp: '2026-11-01T00:00:00Z' }),
      ev({ idempotencyKey: 'p-future', timestamp: '2026-12-04T11:00:00Z' }),
      ev({ idempotencyKey: 'p-meter', meter: 'gpu-hours' }),
      ev({ idempotencyKey: 'p-tenant', tenantId: 't_01M82QPG5G662H5AZW1KHNV7FV' }),
      ev({ idempotencyKey: 'p-gone', tenantId: offboarded.tenantId }),
      { tenantId: basic.tenantId, meter: 'api-requests', quantity: 1, idempotencyKey: 'p-shape' },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 1, duplicates: 1, refused: 9 });
    expect(body.events.map((e: { status: string; code?: string }) => e.code ?? e.status)).toEqual([
      'accepted',
      'duplicate',
      'IDEMPOTENCY_KEY_REUSED',
      'USAGE_QUANTITY_INVALID',
      'USAGE_QUANTITY_INVALID',
      'USAGE_TIMESTAMP_OUT_OF_RANGE',
      'USAGE_TIMESTAMP_OUT_OF_RANGE',
      'UNKNOWN_METER',
      'TENANT_NOT_FOUND',
      'TENANT_NOT_METERED',
      'VALIDATION_FAILED',
    ]);
    expect(body.events[7].message).toContain('the catalog has api-requests, storage-gb, seats');
  });

  it('writes nothing for a wholly invalid batch or one too large, and needs usage:write', async () => {
    const reader = await h.keyWith(['tenants:read']);
    const before = await h.countItems();
    const bad = await post([
      ev({ idempotencyKey: 'w-1', quantity: -5 }),
      ev({ idempotencyKey: 'w-2', meter: 'x1' }),
    ]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'USAGE_BATCH_REJECTED' });
    expect(bad.json().error.details.events.map((e: { code: string }) => e.code)).toEqual([
      'USAGE_QUANTITY_INVALID',
      'UNKNOWN_METER',
    ]);
    const big = await post(Array.from({ length: 101 }, (_, i) => ev({ idempotencyKey: `big-${i}` })));
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('USAGE_BATCH_TOO_LARGE');
    expect((await post([ev({ idempotencyKey: 'f' })], reader)).json().error.code).toBe('FORBIDDEN');
    expect(await h.countItems()).toBe(before);
  });
});

describe('GET /v1/tenants/:id/usage', () => {
  it('pages hours across meters and reports overage above the included quantity', async () => {
    await post([
      ev({ idempotencyKey: 'o-1', meter: 'storage-gb', quantity: 9, timestamp: '2026-12-04T08:10:00Z' }),
      ev({ idempotencyKey: 'o-2', meter: 'seats', quantity: 8, timestamp: '2026-12-04T08:10:00Z' }),
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: { meter: string; hour: string }[]; nextCursor: string | null; meters: unknown[] } =
        await usage(
          basic.tenantId,
          `from=2026-12-04T08:00:00Z&to=2026-12-04T11:00:00Z&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
      seen.push(...page.items.map((i) => `${i.meter}@${i.hour.slice(11, 13)}`));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual([
      'api-requests@09',
      'api-requests@10',
      'storage-gb@08',
      'storage-gb@09',
      'seats@08',
      'seats@09',
    ]);
    const all = await usage(basic.tenantId, 'from=2026-12-04T08:00:00Z&to=2026-12-04T11:00:00Z');
    expect(all.meters.find((m: { meter: string }) => m.meter === 'storage-gb')).toMatchObject({
      value: 9,
      included: 5,
      overage: 4,
    });
    // The latest seats count is 09:40's 4, not 08:10's 8.
    expect(all.meters.find((m: { meter: string }) => m.meter === 'seats')).toMatchObject({ value: 4 });
  });

  it('refuses a reversed or too long range, an unknown meter and a foreign cursor', async () => {
    const code = async (q: string) =>
      (await h.call({ method: 'GET', url: `/v1/tenants/${basic.tenantId}/usage?${q}` })).json().error.code;
    expect(await code('from=2026-12-04T10:00:00Z&to=2026-12-04T09:00:00Z')).toBe('INVALID_TIME_RANGE');
    expect(await code('from=2026-01-01T00:00:00Z&to=2026-12-04T09:00:00Z')).toBe('INVALID_TIME_RANGE');
    expect(await code('meter=gpu-hours')).toBe('UNKNOWN_METER');
    expect(await code('cursor=bm90LWEtY3Vyc29y')).toBe('VALIDATION_FAILED');
    expect(await code('bucket=1')).toBe('UNKNOWN_QUERY_PARAMETER');
  });
});

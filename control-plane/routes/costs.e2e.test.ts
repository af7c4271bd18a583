import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMicros } from '../../core/costs/apportion.js';
import type { RevenueSource } from '../../core/costs/report.js';
import type { Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';
import { costPeriod, presetCostAndUsage } from '../../test/support/cost-explorer.js';
import { seedTenants } from '../../test/support/seed.js';

/**
 * Cost per tenant end to end: Cost Explorer answers preset in moto, usage recorded through
 * POST /v1/usage, the report through GET /v1/costs and GET /v1/tenants/:id/cost.
 */

const NOW = new Date('2026-10-03T12:00:00.000Z');

let h: TestApp;
let a: Tenant;
let b: Tenant;
let c: Tenant;
const revenueAsked: { from: string; to: string; tenantIds: readonly string[] }[] = [];
const revenue: RevenueSource = {
  async revenueByTenant(q) {
    revenueAsked.push(q);
    return new Map(q.tenantIds.includes(b.tenantId) ? [[b.tenantId, { amount: 10, currency: 'USD' }]] : []);
  },
};

beforeAll(async () => {
  h = await startTestApp({ deps: { clock: () => NOW, revenue } });
  const clients = testClients();
  [a, b, c] = (await seedTenants(clients.documents, h.registry.tableName, 3, (i) => ({
    tier: ['basic', 'standard', 'enterprise'][i]!,
    state: 'ACTIVE',
  }))) as [Tenant, Tenant, Tenant];
  clients.destroy();
  const requests = (tenant: Tenant, day: string, n: number, key: string) => ({
    tenantId: tenant.tenantId,
    meter: 'api-requests',
    quantity: n,
    timestamp: `${day}T10:00:00Z`,
    idempotencyKey: key,
  });
  const res = await h.call({
    method: 'POST',
    url: '/v1/usage',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      events: [
        requests(a, '2026-10-01', 100, 'a1'),
        requests(b, '2026-10-01', 300, 'b1'),
        requests(c, '2026-10-01', 100, 'c1'),
        requests(a, '2026-10-02', 1, 'a2'),
        requests(b, '2026-10-02', 1, 'b2'),
        requests(c, '2026-10-02', 1, 'c2'),
        // Other meters weigh nothing in the shared cost.
        { ...requests(a, '2026-10-02', 1000, 'a-storage'), meter: 'storage-gb' },
      ],
    }),
  });
  expect(res.json()).toMatchObject({ accepted: 7 });
});
afterAll(async () => h?.close());

describe('cost per tenant', () => {
  it('apportions shared cost of three tenants by metered usage; the shares sum to the total', async () => {
    // Two pages, as Cost Explorer pages a long answer: the second request carries the token.
    await presetCostAndUsage([
      {
        ResultsByTime: [
          costPeriod('2026-10-01', '2026-10-02', {
            [a.tenantId]: '1.00',
            [c.tenantId]: '10.00',
            '': '3.00',
            platform: '2.00',
          }),
        ],
        NextPageToken: 'page-2',
      },
      {
        ResultsByTime: [
          costPeriod('2026-10-02', '2026-10-03', { [c.tenantId]: '10.00', platform: '1.000001' }),
        ],
      },
    ]);
    const res = await h.call({ method: 'GET', url: '/v1/costs?from=2026-10-01&to=2026-10-03' });
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({
      from: '2026-10-01',
      to: '2026-10-03',
      granularity: 'DAILY',
      currency: 'USD',
      method: { tag: 'TenantId', sharedCostMeter: 'api-requests', sharedTagValues: ['', 'platform'] },
      total: 27.000001,
      direct: 21,
      shared: 6.000001,
      apportioned: 6.000001,
      unapportioned: 0,
    });
    const micros = (xs: number[]) => xs.reduce((n, x) => n + toMicros(x), 0);
    // The shares add up to the shared cost exactly, per period and over the range.
    expect(micros(report.tenants.map((t: { apportioned: number }) => t.apportioned))).toBe(6_000_001);
    for (const [i, p] of report.periods.entries())
      expect(
        micros(report.tenants.map((t: { periods: { apportioned: number }[] }) => t.periods[i]!.apportioned)),
      ).toBe(toMicros(p.shared));
    expect(micros(report.tenants.map((t: { total: number }) => t.total))).toBe(toMicros(report.total));

    // Day 1: shared 5.00 split 100:300:100; day 2: 1.000001 in thirds, the two leftover millionths
    // to the first ids. Highest total first.
    const [first, second] = [a.tenantId, b.tenantId, c.tenantId].sort();
    const third = (id: string) => 0.333333 + (id === first || id === second ? 0.000001 : 0);
    expect(report.tenants.map((t: { tenantId: string }) => t.tenantId)).toEqual([
      c.tenantId,
      b.tenantId,
      a.tenantId,
    ]);
    expect(report.tenants[0]).toMatchObject({ slug: c.slug, tier: 'enterprise', direct: 20, usage: 101 });
    expect(report.tenants[0].apportioned).toBeCloseTo(1 + third(c.tenantId), 9);
    expect(report.tenants[1]).toMatchObject({ direct: 0, usage: 301 });
    expect(report.tenants[1].usageShare).toBeCloseTo(301 / 503, 6);
    expect(report.tenants[1].apportioned).toBeCloseTo(3 + third(b.tenantId), 9);
    expect(report.tenants[2].apportioned).toBeCloseTo(1 + third(a.tenantId), 9);
    expect(report.tenants[2].direct).toBe(1);

    // Cost ÷ revenue where the revenue source knows the tenant.
    expect(report.tenants[1].revenue).toEqual({ amount: 10, currency: 'USD' });
    expect(report.tenants[1].costToRevenue).toBeCloseTo(report.tenants[1].total / 10, 6);
    expect(report.tenants[0].costToRevenue).toBeNull();
    expect(revenueAsked.at(-1)).toMatchObject({ from: '2026-10-01', to: '2026-10-03' });

    // One tenant's row: the same request to Cost Explorer answers the same (moto keeps it per body).
    const one = await h.call({
      method: 'GET',
      url: `/v1/tenants/${b.tenantId}/cost?from=2026-10-01&to=2026-10-03`,
    });
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toMatchObject({
      tenantId: b.tenantId,
      currency: 'USD',
      direct: 0,
      apportioned: report.tenants[1].apportioned,
      periods: [
        { start: '2026-10-01', direct: 0, apportioned: 3, usage: 300 },
        { start: '2026-10-02', usage: 1 },
      ],
    });
  });

  it('leaves the shared cost of a period without metered usage unapportioned', async () => {
    await presetCostAndUsage([
      { ResultsByTime: [costPeriod('2026-09-01', '2026-10-01', { [c.tenantId]: '4.50', '': '2.25' })] },
    ]);
    const res = await h.call({
      method: 'GET',
      url: '/v1/costs?from=2026-09-01&to=2026-10-01&granularity=MONTHLY',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      granularity: 'MONTHLY',
      total: 6.75,
      shared: 2.25,
      apportioned: 0,
      unapportioned: 2.25,
      tenants: [{ tenantId: c.tenantId, direct: 4.5, apportioned: 0, total: 4.5 }],
    });
  });

  it('refuses a bad range and needs costs:read', async () => {
    const code = async (url: string, key?: string) =>
      (await h.call({ method: 'GET', url, ...(key ? { key } : {}) })).json().error.code;
    expect(await code('/v1/costs?from=2026-10-03&to=2026-10-01')).toBe('INVALID_TIME_RANGE');
    expect(await code('/v1/costs?from=2024-01-01&to=2026-10-01')).toBe('INVALID_TIME_RANGE');
    expect(await code('/v1/costs?from=2026-10-1')).toBe('VALIDATION_FAILED');
    expect(await code('/v1/costs?granularity=HOURLY')).toBe('VALIDATION_FAILED');
    expect(await code('/v1/tenants/t_01M82QPG5G662H5AZW1KHNV7FV/cost?from=2026-10-01&to=2026-10-02')).toBe(
      'TENANT_NOT_FOUND',
    );
    expect(await code('/v1/costs', await h.keyWith(['tenants:read']))).toBe('FORBIDDEN');
  });
});

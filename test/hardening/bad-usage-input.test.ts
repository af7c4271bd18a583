import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp } from '../api/harness.js';
import { testClients } from '../support/aws.js';
import { seedTenants } from '../support/seed.js';
import { expectCatalogued4xx, writesNothing as unchangedTable, wrongType } from './support/refusals.js';

/**
 * Bad input to the metering and cost routes (POST /v1/usage, GET /v1/tenants/:id/usage,
 * GET /v1/costs, GET /v1/tenants/:id/cost), generated with fast-check, each case invalid by
 * construction: every answer is a 4xx with a catalogued code of that status, and the registry
 * table holds exactly the items it held before (no usage hour, no dedupe record). As
 * bad-input.test.ts does for the tenant routes.
 */

const SEED = Number(process.env.HARDENING_SEED ?? 20261204);
const runs = (n: number) => ({ numRuns: n, seed: SEED, endOnFailure: true });
const NOW = new Date('2026-12-04T10:30:00.000Z');

let h: TestApp;
let tenant: Tenant;

beforeAll(async () => {
  h = await startTestApp({ deps: { clock: () => NOW } });
  const clients = testClients();
  [tenant] = (await seedTenants(clients.documents, h.registry.tableName, 2, (i) => ({
    tier: 'basic',
    state: i === 1 ? 'OFFBOARDED' : 'ACTIVE',
  }))) as [Tenant];
  clients.destroy();
});
afterAll(async () => h?.close());

let sent = 0;
async function expectRefused(label: string, request: InjectOptions): Promise<void> {
  sent += 1;
  await expectCatalogued4xx(h, label, request);
}
const unchanged = (property: () => Promise<void>) => unchangedTable(h, property);

const INJECTIONS = [
  "' OR '1'='1",
  '$(rm -rf /)',
  '../../etc/passwd',
  '{"$ne":null}',
  '<script>',
  '\u0000',
  '#',
];

const good = () => ({
  tenantId: tenant.tenantId,
  meter: 'api-requests',
  quantity: 1,
  timestamp: '2026-12-04T10:00:00Z',
  idempotencyKey: 'valid-key',
});
type Field = keyof ReturnType<typeof good>;
const BAD: Record<Field, fc.Arbitrary<unknown>> = {
  tenantId: fc.oneof(
    fc.constantFrom('t_01M82QPG5G662H5AZW1KHNV7FV', 'no-such-tenant', 'seed-1', ...INJECTIONS),
    fc.stringMatching(/^[a-z]{65,90}$/),
    fc.constant(''),
  ),
  meter: fc.oneof(
    fc.constantFrom('API-REQUESTS', 'gpu-hours', 'api_requests', ' api-requests', '', ...INJECTIONS),
    fc.stringMatching(/^[a-z]{65,80}$/),
  ),
  quantity: fc.oneof(
    fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
    fc.double({ min: 1.0000001e12, noNaN: true }),
    fc.constantFrom('NaN', 'Infinity', '1', '', null, true, [1], { n: 1 }),
  ),
  timestamp: fc.oneof(
    fc.constantFrom(
      'yesterday',
      '2026-12-04',
      '2026-12-04 10:00:00',
      '12/04/2026',
      '',
      '2026-13-01T00:00:00Z',
    ),
    // Outside the accepted window: over a week old or over five minutes ahead.
    fc
      .integer({ min: 7 * 86_400 + 60, max: 400 * 86_400 })
      .map((s) => new Date(NOW.getTime() - s * 1000).toISOString()),
    fc.integer({ min: 360, max: 86_400 * 30 }).map((s) => new Date(NOW.getTime() + s * 1000).toISOString()),
  ),
  idempotencyKey: fc.oneof(
    fc.constantFrom('', 'has space', 'tab\tkey', 'ünï', 'new\nline'),
    fc.stringMatching(/^[a-z]{256,300}$/),
  ),
};
const FIELDS = Object.keys(BAD) as Field[];

/** One event made bad: a wrong value, a wrong type, a field missing, or an unknown one. */
const badEvent = fc
  .tuple(fc.constantFrom(...FIELDS), fc.constantFrom('value', 'type', 'missing', 'extra'))
  .chain(([field, how]) => {
    if (how === 'missing') {
      const { [field]: _gone, ...rest } = good();
      return fc.constant(rest as Record<string, unknown>);
    }
    if (how === 'extra') return wrongType.map((v) => ({ ...good(), pk: v }) as Record<string, unknown>);
    // A number of the wrong kind is still a number: quantity's bad values cover its wrong types.
    return (how === 'type' && field !== 'quantity' ? wrongType : BAD[field]).map((v) => ({
      ...good(),
      [field]: v,
    }));
  });

const post = (payload: unknown): InjectOptions => ({
  method: 'POST',
  url: '/v1/usage',
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify(payload),
});

describe('generated bad metering and cost input is refused with a catalogued 4xx and writes nothing', () => {
  it('POST /v1/usage: batches of bad events, bad envelopes, too many events', async () => {
    const caseArb = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.array(badEvent, { minLength: 1, maxLength: 5 }).map((events) => ({ events })),
      },
      fc.constantFrom({}, { events: [] }, { events: 'x' }, { events: null }, [], 'text', 42, {
        event: [good()],
      }),
      wrongType.map((v) => ({ events: [good()], dryRun: v })),
      fc.integer({ min: 101, max: 140 }).map((n) => ({
        events: Array.from({ length: n }, (_, i) => ({ ...good(), idempotencyKey: `k-${i}` })),
      })),
      fc
        .array(fc.oneof(wrongType, fc.string()), { minLength: 1, maxLength: 4 })
        .map((events) => ({ events })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async (body) =>
          expectRefused(`usage ${JSON.stringify(body).slice(0, 160)}`, post(body)),
        ),
        runs(80),
      ),
    );
  });

  const badIso = fc.constantFrom('yesterday', '2026-12-04', '1e9', '', '2026-12-04T25:00:00Z', '../x');
  const badDate = fc.constantFrom('2026-12-4', '20261204', 'today', '', '2026-02-30', '2026-12-04T00:00:00Z');

  it('GET /v1/tenants/:id/usage: bad query values, reversed or long ranges, unknown tenants and parameters', async () => {
    const base = `/v1/tenants/${tenant.tenantId}/usage`;
    const caseArb = fc.oneof(
      fc.oneof(badIso, wrongType.map(String)).map((v) => `${base}?from=${encodeURIComponent(v)}`),
      badIso.map((v) => `${base}?to=${encodeURIComponent(v)}`),
      fc
        .oneof(fc.integer({ max: 0 }), fc.integer({ min: 745 }), fc.constantFrom('x', '1.5'))
        .map((v) => `${base}?limit=${v}`),
      fc
        .constantFrom('gpu-hours', 'x'.repeat(65), "' OR 1=1")
        .map((m) => `${base}?meter=${encodeURIComponent(m)}`),
      fc.string({ minLength: 1, maxLength: 40 }).map((c) => `${base}?cursor=${encodeURIComponent(c)}`),
      fc
        .integer({ min: 1, max: 400 })
        .map(
          (d) =>
            `${base}?from=2026-12-04T10:00:00Z&to=${new Date(Date.parse('2026-12-04T10:00:00Z') - d * 3600_000).toISOString()}`,
        ),
      fc
        .integer({ min: 94, max: 900 })
        .map(
          (d) =>
            `${base}?to=2026-12-04T10:00:00Z&from=${new Date(Date.parse('2026-12-04T10:00:00Z') - d * 86_400_000).toISOString()}`,
        ),
      fc.constantFrom('bucket', 'tenantId', 'granularity', 'dryRun').map((p) => `${base}?${p}=1`),
      fc
        .constantFrom('t_01M82QPG5G662H5AZW1KHNV7FV', 'no-such-tenant', 'A', '..')
        .map((t) => `/v1/tenants/${t}/usage`),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async (url) => expectRefused(url, { method: 'GET', url })),
        runs(60),
      ),
    );
  });

  it('GET /v1/costs and /v1/tenants/:id/cost: bad dates, granularities, ranges, tenants and parameters', async () => {
    const route = fc.constantFrom('/v1/costs', `/v1/tenants/${tenant.tenantId}/cost`);
    const caseArb = fc.oneof(
      fc
        .tuple(route, fc.constantFrom('from', 'to'), badDate)
        .map(([r, p, v]) => `${r}?${p}=${encodeURIComponent(v)}`),
      fc
        .tuple(route, fc.oneof(fc.constantFrom('HOURLY', 'daily', 'WEEKLY', ''), wrongType.map(String)))
        .map(([r, g]) => `${r}?granularity=${encodeURIComponent(g)}`),
      fc.tuple(route, fc.integer({ min: 0, max: 300 })).map(([r, d]) => {
        const to = new Date(Date.parse('2026-11-01') - d * 86_400_000).toISOString().slice(0, 10);
        return `${r}?from=2026-11-01&to=${to}`;
      }),
      fc.tuple(route, fc.integer({ min: 367, max: 2000 })).map(([r, d]) => {
        const from = new Date(Date.parse('2026-11-01') - d * 86_400_000).toISOString().slice(0, 10);
        return `${r}?from=${from}&to=2026-11-01`;
      }),
      fc
        .tuple(route, fc.constantFrom('meter', 'tenantId', 'groupBy', 'limit'))
        .map(([r, p]) => `${r}?${p}=x`),
      fc
        .constantFrom('t_01M82QPG5G662H5AZW1KHNV7FV', 'no-such-tenant', 'A')
        .map((t) => `/v1/tenants/${t}/cost`),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async (url) => expectRefused(url, { method: 'GET', url })),
        runs(60),
      ),
    );
    expect(sent).toBeGreaterThanOrEqual(200);
  });
});

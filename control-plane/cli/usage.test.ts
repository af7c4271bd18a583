import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/registry/records.js';
import { startListeningTestApp, type TestApp } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';
import { tenantctl } from '../../test/support/cli.js';
import { costPeriod, presetCostAndUsage } from '../../test/support/cost-explorer.js';
import { seedTenants } from '../../test/support/seed.js';
import { parseCommandLine, UsageError } from './args.js';
import { sparkline } from './usage.js';

const NOW = new Date('2026-08-10T12:30:00.000Z');
let t: TestApp;
let url: string;
let tenant: Tenant;
let other: Tenant;

beforeAll(async () => {
  ({ t, url } = await startListeningTestApp({ deps: { clock: () => NOW } }));
  const clients = testClients();
  [tenant, other] = (await seedTenants(clients.documents, t.registry.tableName, 2, () => ({
    tier: 'basic',
    state: 'ACTIVE',
  }))) as [Tenant, Tenant];
  clients.destroy();
  const events = [1, 4, 2, 8].map((n, i) => ({
    tenantId: tenant.tenantId,
    meter: 'api-requests',
    quantity: n * 1000,
    timestamp: `2026-08-10T${String(8 + i).padStart(2, '0')}:05:00Z`,
    idempotencyKey: `cli-${i}`,
  }));
  events.push({ ...events[0]!, tenantId: other.tenantId, quantity: 3000, idempotencyKey: 'cli-o' });
  const res = await t.call({
    method: 'POST',
    url: '/v1/usage',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      events: [...events, { ...events[0], meter: 'storage-gb', quantity: 7, idempotencyKey: 'cli-s' }],
    }),
  });
  expect(res.json(), res.body).toMatchObject({ accepted: 6 });
});
afterAll(async () => t?.close());

const cli = (argv: string[]) => tenantctl(url, t.adminKey, argv);

describe('tenantctl usage and cost', () => {
  it('usage prints each meter with included and overage, and an hourly sparkline', async () => {
    const out = await cli([
      'usage',
      tenant.tenantId,
      '--from',
      '2026-08-10T08:00:00Z',
      '--to',
      '2026-08-10T12:00:00Z',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `tenant ${tenant.tenantId} (basic), 2026-08-10T08:00:00.000Z to 2026-08-10T12:00:00.000Z`,
    );
    expect(lines[1]).toMatch(/^METER\s+AGGREGATION\s+VALUE\s+INCLUDED\s+OVERAGE\s+UNIT\s+HOURLY$/);
    expect(lines[2]).toMatch(/^api-requests\s+sum\s+15000\s+100000\s+0\s+requests\s+▁▄▂█$/);
    expect(lines[3]).toMatch(/^storage-gb\s+max\s+7\s+5\s+2\s+GB\s+█▁▁▁$/);
    expect(lines[4]).toMatch(/^seats\s+last\s+0\s+5\s+0\s+seats\s+▁▁▁▁$/);
    const json = JSON.parse(
      (await cli(['usage', tenant.tenantId, '--meter', 'api-requests', '--json'])).stdout,
    );
    expect(json.meters).toEqual([expect.objectContaining({ meter: 'api-requests', value: 15000 })]);
  });

  it('cost prints every tenant (highest first) or one, with a sparkline of its periods', async () => {
    await presetCostAndUsage([
      {
        ResultsByTime: [
          costPeriod('2026-08-08', '2026-08-09', { [tenant.tenantId]: '1.00', platform: '0.50' }),
          costPeriod('2026-08-09', '2026-08-10', { [tenant.tenantId]: '2.00' }),
          costPeriod('2026-08-10', '2026-08-11', { [tenant.tenantId]: '1.50', '': '3.00' }),
        ],
      },
    ]);
    const all = await cli(['cost', '--from', '2026-08-08', '--to', '2026-08-11']);
    expect(all.stderr).toBe('');
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      '2026-08-08 to 2026-08-11 (DAILY, USD): total 8.00 = direct 4.50 + shared 3.50 (apportioned by api-requests: 3.00, unapportioned 0.50)',
    );
    expect(lines[1]).toMatch(
      /^TENANT\s+TIER\s+DIRECT\s+SHARED\s+TOTAL\s+USAGE SHARE\s+COST\/REVENUE\s+TREND$/,
    );
    // Day 3's 3.00 shared splits 15000 : 3000; day 1's 0.50 had no usage.
    expect(lines[2]).toMatch(/^seed-0\s+basic\s+4\.50\s+2\.50\s+7\.00\s+83\.3%\s+-\s+▁▃█$/);
    expect(lines[3]).toMatch(/^seed-1\s+basic\s+0\.00\s+0\.50\s+0\.50\s+16\.7%\s+-\s+▁▁█$/);

    const one = await cli(['cost', other.tenantId, '--from', '2026-08-08', '--to', '2026-08-11']);
    expect(one.stdout).toMatch(/seed-1\s+2026-08-08\s+2026-08-11\s+0\.00 USD\s+0\.50\s+0\.50\s+-\s+▁▁█/);
  });

  it('takes cost with or without a tenant, usage only with one', () => {
    expect(parseCommandLine(['cost']).positionals).toEqual([]);
    expect(parseCommandLine(['cost', 'acme', '--granularity', 'MONTHLY']).positionals).toEqual(['acme']);
    expect(() => parseCommandLine(['cost', 'a', 'b'])).toThrow(UsageError);
    expect(() => parseCommandLine(['usage'])).toThrow(/usage takes <tenant>/);
  });

  it('draws sparklines lowest to highest, folding long series', () => {
    expect(sparkline([0, 7, 14])).toBe('▁▅█');
    expect(sparkline([5, 5])).toBe('▁▁');
    expect(sparkline([])).toBe('');
    expect(sparkline([1, 1, 1, 9], 2)).toBe('▁█');
    expect(sparkline([1, 1, 1, 9], 2, Math.max)).toBe('▁█');
  });
});

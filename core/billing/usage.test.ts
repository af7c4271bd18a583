import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClients, uniqueName } from '../../test/support/aws.js';
import { StripeDouble, TEST_STRIPE_KEY } from '../../test/support/stripe-double.js';
import { ensureRegistryTable } from '../registry/table.js';
import { BillingAccounts } from './accounts.js';
import { stripeProvider } from './stripe.js';
import {
  inMemoryUsageSource,
  reportAllUsage,
  reportTenantUsage,
  USAGE_SETTLE_SECONDS,
  usageIdentifier,
} from './usage.js';

const clients = testClients();
let double: StripeDouble;
let accounts: BillingAccounts;
let base: string;
// 10:02 on a fixed day: 09:00 has ended but is not settled yet; 08:00 and before are closed.
let now = new Date('2026-12-04T10:02:00Z');
const clock = () => now;
const hour = (h: number) => new Date(Date.UTC(2026, 11, 4, h)).toISOString();

beforeAll(async () => {
  double = new StripeDouble({ secretKey: TEST_STRIPE_KEY, prices: [] });
  base = await double.start();
  const tableName = uniqueName('usage');
  await ensureRegistryTable(clients.dynamodb, tableName);
  accounts = new BillingAccounts({ documents: clients.documents, tableName, clock });
});
afterAll(async () => {
  await double?.close();
  clients.destroy();
});

async function customerFor(tenantId: string): Promise<string> {
  const provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: base });
  const { customerId } = await provider.createCustomer(
    { tenantId, slug: 'u', name: 'U', email: 'u@example.com' },
    `setup-${tenantId}`,
  );
  await accounts.saveCustomer(tenantId, 'stripe', customerId);
  return customerId;
}

describe('usage reported as Stripe meter events', () => {
  it('reports closed hours once each; a later run reports only what is new', async () => {
    const tenantId = 't_USAGE1';
    const customerId = await customerFor(tenantId);
    const source = inMemoryUsageSource([
      { tenantId, meter: 'api_calls', hour: hour(7), quantity: 10 },
      { tenantId, meter: 'api_calls', hour: hour(8), quantity: 20 },
      { tenantId, meter: 'api_calls', hour: hour(9), quantity: 5 }, // ended 2 min ago: not settled
      { tenantId, meter: 'storage_gb', hour: hour(8), quantity: 3 },
      { tenantId, meter: 'api_calls', hour: hour(6), quantity: 0 }, // nothing to bill
      { tenantId: 't_OTHER', meter: 'api_calls', hour: hour(8), quantity: 99 },
    ]);
    const deps = {
      provider: stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: base }),
      accounts,
      source,
      clock,
    };
    const from = double.meterEvents.length;
    expect(await reportTenantUsage(deps, tenantId, 'closed')).toEqual({
      reported: 3,
      alreadyReported: 0,
      quantity: 33,
    });
    expect(
      double.meterEvents.slice(from).map((e) => [e.event_name, e.payload, e.identifier, e.timestamp]),
    ).toEqual([
      [
        'api_calls',
        { stripe_customer_id: customerId, value: '10' },
        usageIdentifier(tenantId, 'api_calls', hour(7)),
        Date.parse(hour(7)) / 1000,
      ],
      [
        'api_calls',
        { stripe_customer_id: customerId, value: '20' },
        usageIdentifier(tenantId, 'api_calls', hour(8)),
        Date.parse(hour(8)) / 1000,
      ],
      [
        'storage_gb',
        { stripe_customer_id: customerId, value: '3' },
        usageIdentifier(tenantId, 'storage_gb', hour(8)),
        Date.parse(hour(8)) / 1000,
      ],
    ]);
    expect(await reportTenantUsage(deps, tenantId, 'closed')).toEqual({
      reported: 0,
      alreadyReported: 3,
      quantity: 0,
    });
    now = new Date(Date.parse(hour(10)) + USAGE_SETTLE_SECONDS * 1000);
    expect(await reportTenantUsage(deps, tenantId, 'closed')).toEqual({
      reported: 1,
      alreadyReported: 3,
      quantity: 5,
    });
    expect(double.meterEvents.length).toBe(from + 4);
  });

  it('a crash after Stripe accepted an hour and before it was marked resends the same event, billed once', async () => {
    const tenantId = 't_USAGE2';
    await customerFor(tenantId);
    const source = inMemoryUsageSource([{ tenantId, meter: 'api_calls', hour: hour(8), quantity: 42 }]);
    const provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: base });
    let crash = true;
    const crashing = Object.create(accounts) as BillingAccounts;
    crashing.markReported = async (...args) => {
      if (crash) {
        crash = false;
        throw new Error('process died');
      }
      return accounts.markReported(...args);
    };
    const events = double.meterEvents.length;
    const requests = double.requests.length;
    await expect(
      reportTenantUsage({ provider, accounts: crashing, source, clock }, tenantId, 'now'),
    ).rejects.toThrow('process died');
    expect(await reportTenantUsage({ provider, accounts: crashing, source, clock }, tenantId, 'now')).toEqual(
      {
        reported: 1,
        alreadyReported: 0,
        quantity: 42,
      },
    );
    const sent = double.requests.slice(requests);
    const key = usageIdentifier(tenantId, 'api_calls', hour(8));
    expect(sent.map((r) => [r.path, r.idempotencyKey, r.replayed])).toEqual([
      ['/v1/billing/meter_events', key, false],
      ['/v1/billing/meter_events', key, true],
    ]);
    expect(double.meterEvents.length).toBe(events + 1);
  });

  it('the periodic job reports every billed tenant’s closed hours, skipping offboarded ones and those without a customer', async () => {
    await customerFor('t_ALL1');
    await customerFor('t_ALL2');
    const source = inMemoryUsageSource([
      { tenantId: 't_ALL1', meter: 'api_calls', hour: hour(8), quantity: 4 },
      { tenantId: 't_ALL2', meter: 'api_calls', hour: hour(8), quantity: 6 },
      { tenantId: 't_GONE', meter: 'api_calls', hour: hour(8), quantity: 50 },
      { tenantId: 't_FREE', meter: 'api_calls', hour: hour(8), quantity: 70 },
    ]);
    const page = (ids: [string, string][]) => ids.map(([tenantId, state]) => ({ tenantId, state }));
    const pages = [
      {
        items: page([
          ['t_ALL1', 'ACTIVE'],
          ['t_GONE', 'OFFBOARDED'],
        ]),
        nextCursor: 'next',
      },
      {
        items: page([
          ['t_ALL2', 'SUSPENDED'],
          ['t_FREE', 'ACTIVE'],
        ]),
        nextCursor: undefined,
      },
    ];
    const registry = {
      listTenants: async (q: { cursor?: string }) => (q.cursor ? pages[1]! : pages[0]!) as never,
    };
    const provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: base });
    const deps = { provider, accounts, source, clock, registry };
    expect(await reportAllUsage(deps)).toEqual({ tenants: 2, reported: 2, quantity: 10 });
    expect(await reportAllUsage(deps)).toEqual({ tenants: 2, reported: 0, quantity: 0 });
  });

  it('a tenant without a billing customer reports nothing', async () => {
    const source = inMemoryUsageSource([
      { tenantId: 't_NONE', meter: 'api_calls', hour: hour(8), quantity: 1 },
    ]);
    const provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: base });
    expect(await reportTenantUsage({ provider, accounts, source, clock }, 't_NONE', 'now')).toEqual({
      skipped: 'the tenant has no billing customer',
    });
  });
});

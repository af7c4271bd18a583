import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingAccounts } from '../core/billing/accounts.js';
import { stripeProvider } from '../core/billing/stripe.js';
import { usageIdentifier } from '../core/billing/usage.js';
import { usageSourceOf } from '../core/usage/billing-source.js';
import { UsageStore } from '../core/usage/store.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { billingCatalog, StripeDouble, TEST_PRICES, TEST_STRIPE_KEY } from '../test/support/stripe-double.js';

/**
 * The two halves of the business plane joined as runtime.ts joins them: usage recorded in the
 * metering store (core/usage) is what the offboarding's ReportUsage step sends to Stripe.
 */
const actor = { actor: 'test:ops' };
const HOUR = 3_600_000;
const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
const catalog = billingCatalog();

let double: StripeDouble;
let cp: TestControlPlane;
let store: UsageStore | undefined;

beforeAll(async () => {
  double = new StripeDouble({ secretKey: TEST_STRIPE_KEY, prices: Object.values(TEST_PRICES) });
  const provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: await double.start() });
  // The store needs the control plane's table; the source reads it when the step runs.
  const reader = { hourly: (...a: Parameters<UsageStore['hourly']>) => store!.hourly(...a) };
  cp = await startTestControlPlane({
    catalog,
    billing: provider,
    usage: usageSourceOf(reader, () => catalog.meters),
  });
  store = new UsageStore({
    db: cp.aws.clients.documents,
    tableName: cp.config.registryTable,
    clock: () => new Date(),
  });
});
afterAll(async () => {
  await cp?.close();
  await double?.close();
});

describe('metered usage reaches Stripe', () => {
  it("an offboarding reports the metering store's closed hours, valued by each meter's aggregation", async () => {
    const started = await cp.workflows.lifecycle.onboard(
      { name: 'Metered Co', slug: 'metered-co', tier: 'basic', adminEmail: 'owner@metered.example.com' },
      actor,
    );
    const onboard = await cp.waitForOperation(started.operation.operationId);
    expect(onboard.status, JSON.stringify(onboard.error)).toBe('SUCCEEDED');
    const tenantId = onboard.tenantId;
    const customer = (await new BillingAccounts({
      documents: cp.aws.clients.documents,
      tableName: cp.config.registryTable,
    }).get(tenantId))!.customerId;

    const h2 = thisHour - 2 * HOUR;
    const h1 = thisHour - HOUR;
    const expiresAt = Math.floor(Date.now() / 1000) + 8 * 24 * 3600;
    const event = (meter: string, quantity: number, at: number, key: string) => ({
      tenantId,
      meter,
      aggregation: catalog.meter(meter)!.aggregation,
      quantity,
      timestamp: new Date(at),
      idempotencyKey: key,
      expiresAt,
    });
    for (const e of [
      event('api-requests', 5, h2 + 60_000, 'a1'),
      event('api-requests', 7, h2 + 120_000, 'a2'),
      event('api-requests', 7, h2 + 120_000, 'a2'), // a redelivery: counted once
      event('api-requests', 3, h1 + 60_000, 'a3'),
      event('seats', 4, h1 + 60_000, 's1'),
      event('seats', 2, h1 + 120_000, 's2'), // seats is "last": 2 is the hour's value
    ])
      await store!.record(e);

    const before = double.requests.length;
    const off = await cp.waitForOperation(
      (await cp.workflows.lifecycle.offboard('metered-co', actor)).operation.operationId,
    );
    expect(off.status, JSON.stringify(off.error)).toBe('SUCCEEDED');
    expect(off.steps.find((s) => s.name === 'ReportUsage')?.detail).toBe(
      'reported 3 hour(s) of usage (17 units); 0 reported before',
    );
    const meterEvents = double.requests
      .slice(before)
      .filter((r) => r.path === '/v1/billing/meter_events')
      .map(
        (r) =>
          r.body as {
            event_name: string;
            payload: { value: string; stripe_customer_id: string };
            identifier: string;
          },
      );
    const iso = (t: number) => new Date(t).toISOString();
    expect(
      meterEvents
        .map((b) => [b.event_name, b.payload.value, b.payload.stripe_customer_id, b.identifier])
        .sort(),
    ).toEqual(
      [
        ['api-requests', '12', customer, usageIdentifier(tenantId, 'api-requests', iso(h2))],
        ['api-requests', '3', customer, usageIdentifier(tenantId, 'api-requests', iso(h1))],
        ['seats', '2', customer, usageIdentifier(tenantId, 'seats', iso(h1))],
      ].sort(),
    );
  });
});

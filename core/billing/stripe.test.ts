import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeDouble } from '../../test/support/stripe-double.js';
import { loadConfig } from '../config.js';
import { isControlPlaneError } from '../errors.js';
import { itemChanges } from './provider.js';
import { billingProviderFromConfig, STRIPE_API_VERSION, stripeProvider } from './stripe.js';

const SECRET = 'sk_test_double0123456789';
let double: StripeDouble;
let base: string;

beforeAll(async () => {
  double = new StripeDouble({ secretKey: SECRET, prices: ['price_basic', 'price_standard', 'price_calls'] });
  base = await double.start();
});
afterAll(async () => double?.close());

const provider = () => stripeProvider({ secretKey: SECRET, apiBase: base, maxNetworkRetries: 2 });
const customerInput = { tenantId: 't_X', slug: 'acme', name: 'Acme', email: 'owner@acme.example.com' };

describe('Stripe adapter against the double', () => {
  it('sends form bodies with the Idempotency-Key, the pinned Stripe-Version and the secret key', async () => {
    const before = double.requests.length;
    const { customerId } = await provider().createCustomer(customerInput, 'op_1:Step:customer');
    expect(customerId).toMatch(/^cus_[A-Za-z0-9]{24}$/);
    expect(double.requests.slice(before)).toEqual([
      {
        method: 'POST',
        path: '/v1/customers',
        body: { name: 'Acme', email: 'owner@acme.example.com', metadata: { tenantId: 't_X', slug: 'acme' } },
        idempotencyKey: 'op_1:Step:customer',
        stripeVersion: STRIPE_API_VERSION,
        authorization: `Bearer ${SECRET}`,
        status: 200,
        replayed: false,
      },
    ]);
  });

  it('a lost answer is retried by the SDK with the same key, and the double answers the same customer', async () => {
    double.faultNext(/^\/v1\/customers$/, 'drop');
    const before = double.customers.size;
    const start = double.requests.length;
    const { customerId } = await provider().createCustomer(customerInput, 'op_2:Step:customer');
    const sent = double.requests.slice(start);
    expect(sent.map((r) => [r.idempotencyKey, r.replayed])).toEqual([
      ['op_2:Step:customer', false],
      ['op_2:Step:customer', true],
    ]);
    expect(double.customers.size).toBe(before + 1);
    expect(double.customers.has(customerId)).toBe(true);
  });

  it('same key with another body is Stripe’s idempotency_error, mapped to BILLING_ERROR', async () => {
    await provider().createCustomer(customerInput, 'op_3:Step:customer');
    const err = await provider()
      .createCustomer({ ...customerInput, name: 'Other' }, 'op_3:Step:customer')
      .catch((e: unknown) => e);
    expect(isControlPlaneError(err, 'BILLING_ERROR')).toBe(true);
    expect((err as Error).message).toMatch(/^Stripe idempotency_error: Keys for idempotent requests/);
  });

  it('subscriptions: create on prices, move items, cancel; unknown price is resource_missing', async () => {
    const p = provider();
    const { customerId } = await p.createCustomer(customerInput, 'op_4:c');
    const sub = await p.createSubscription(
      { customerId, tenantId: 't_X', priceIds: ['price_basic', 'price_calls'] },
      'op_4:s',
    );
    expect(sub).toMatchObject({ customerId, status: 'active' });
    expect(sub.subscriptionId).toMatch(/^sub_/);
    expect(sub.items.map((i) => i.priceId)).toEqual(['price_basic', 'price_calls']);
    const changes = itemChanges(sub, ['price_standard', 'price_calls']);
    expect(changes).toEqual({ removeItemIds: [sub.items[0]!.itemId], addPriceIds: ['price_standard'] });
    const moved = await p.updateSubscriptionItems(
      { subscriptionId: sub.subscriptionId, ...changes },
      'op_4:m',
    );
    expect(moved.items.map((i) => i.priceId)).toEqual(['price_calls', 'price_standard']);
    expect(double.requests.at(-1)!.body).toEqual({
      items: [{ id: sub.items[0]!.itemId, deleted: 'true' }, { price: 'price_standard' }],
    });
    const canceled = await p.cancelSubscription(sub.subscriptionId, 'op_4:x');
    expect(canceled.status).toBe('canceled');
    expect(double.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      path: `/v1/subscriptions/${sub.subscriptionId}`,
      idempotencyKey: 'op_4:x',
    });
    const err = await p
      .createSubscription({ customerId, tenantId: 't_X', priceIds: ['price_nope'] }, 'op_4:bad')
      .catch((e: unknown) => e);
    expect(isControlPlaneError(err, 'BILLING_ERROR')).toBe(true);
    expect((err as Error).message).toBe(
      "Stripe invalid_request_error/resource_missing: No such price: 'price_nope'",
    );
  });

  it('meter events: POST /v1/billing/meter_events with event_name, payload, identifier, timestamp', async () => {
    const p = provider();
    const { customerId } = await p.createCustomer(customerInput, 'op_5:c');
    await p.reportMeterEvent(
      {
        eventName: 'api_calls',
        customerId,
        value: 42,
        timestamp: new Date('2026-12-04T03:00:00Z'),
        identifier: 'usage-x',
      },
      'usage-x',
    );
    expect(double.requests.at(-1)).toMatchObject({
      path: '/v1/billing/meter_events',
      idempotencyKey: 'usage-x',
      body: {
        event_name: 'api_calls',
        payload: { stripe_customer_id: customerId, value: '42' },
        identifier: 'usage-x',
        timestamp: String(Date.parse('2026-12-04T03:00:00Z') / 1000),
      },
    });
  });

  it('a server fault after retries is BILLING_UNAVAILABLE; a wrong key is BILLING_ERROR without the key', async () => {
    double.faultNext(/customers/, 'fail');
    double.faultNext(/customers/, 'fail');
    const unavailable = await stripeProvider({ secretKey: SECRET, apiBase: base, maxNetworkRetries: 1 })
      .createCustomer(customerInput, 'op_6:c')
      .catch((e: unknown) => e);
    expect(isControlPlaneError(unavailable, 'BILLING_UNAVAILABLE')).toBe(true);
    const wrongKey = 'sk_test_wrongwrongwrong1234';
    const refused = await stripeProvider({ secretKey: wrongKey, apiBase: base })
      .createCustomer(customerInput, 'op_7:c')
      .catch((e: unknown) => e);
    expect(isControlPlaneError(refused, 'BILLING_ERROR')).toBe(true);
    expect((refused as Error).message).not.toContain(wrongKey);
    expect(JSON.stringify(refused)).not.toContain(wrongKey);
  });

  it('config: STRIPE_API_BASE is loopback only in local mode; a bad key is refused without being echoed', () => {
    expect(() => loadConfig({ env: { STRIPE_API_BASE: 'https://api.stripe.com' } })).toThrow(
      /stripeApiBase \(STRIPE_API_BASE\): local mode only talks to loopback/,
    );
    expect(
      loadConfig({ env: { STRIPE_API_BASE: 'https://api.stripe.com', CONTROL_PLANE_TARGET: 'aws' } })
        .stripeApiBase,
    ).toBe('https://api.stripe.com');
    const badKey = 'pk_live_ThisIsAPublishableKey123';
    const err = (() => {
      try {
        loadConfig({ env: { STRIPE_SECRET_KEY: badKey } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/stripeSecretKey \(STRIPE_SECRET_KEY\): a Stripe secret key/);
    expect(
      JSON.stringify({ message: err?.message, details: (err as { details?: unknown })?.details }),
    ).not.toContain(badKey);
  });

  it('no STRIPE_SECRET_KEY, no provider', () => {
    expect(billingProviderFromConfig({})).toBeUndefined();
    expect(billingProviderFromConfig({ stripeSecretKey: SECRET })?.name).toBe('stripe');
  });
});

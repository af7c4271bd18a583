import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingAccounts } from '../../core/billing/accounts.js';
import { stripeProvider } from '../../core/billing/stripe.js';
import type { Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp } from '../../test/api/harness.js';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.js';
import {
  billingCatalog,
  StripeDouble,
  stripeDelivery,
  TEST_PRICES,
  TEST_STRIPE_KEY,
  TEST_STRIPE_WEBHOOK_SECRET,
} from '../../test/support/stripe-double.js';
import { signWebhook } from '../webhook-signature.js';

let double: StripeDouble;
let cp: TestControlPlane;
let t: TestApp;
let accounts: BillingAccounts;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  double = new StripeDouble({ secretKey: TEST_STRIPE_KEY, prices: Object.values(TEST_PRICES) });
  const billing = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: await double.start() });
  const catalog = billingCatalog();
  cp = await startTestControlPlane({ catalog, billing });
  accounts = new BillingAccounts({ documents: cp.aws.clients.documents, tableName: cp.config.registryTable });
  t = await startTestApp({
    registry: cp.aws.registry,
    catalog,
    lifecycle: () => cp.workflows.lifecycle,
    overrides: { stripeWebhookSecret: TEST_STRIPE_WEBHOOK_SECRET },
    deps: { billingAccounts: accounts },
  });
});
afterAll(async () => {
  await t?.close();
  await cp?.close();
  await double?.close();
});

async function onboarded(slug: string, tier = 'basic'): Promise<Tenant> {
  const started = await cp.workflows.lifecycle.onboard(
    { name: `Tenant ${slug}`, slug, tier, adminEmail: `owner@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(slug);
}

function deliver(delivery: { raw: string; signature: string | null }, app: TestApp = t) {
  return app.call({
    method: 'POST',
    url: '/v1/webhooks/stripe',
    key: null,
    headers: {
      'content-type': 'application/json',
      ...(delivery.signature === null ? {} : { 'stripe-signature': delivery.signature }),
    },
    payload: delivery.raw,
  });
}

const invoice = (customer: string) => ({
  id: 'in_1TestInvoice0001',
  object: 'invoice',
  customer,
  attempt_count: 2,
  status: 'open',
});

function subscriptionObject(subscriptionId: string, customer: string, prices: string[]) {
  return {
    id: subscriptionId,
    object: 'subscription',
    customer,
    status: 'active',
    items: {
      object: 'list',
      data: prices.map((id, i) => ({
        id: `si_test${i}`,
        object: 'subscription_item',
        price: { id, object: 'price' },
      })),
    },
  };
}

describe('POST /v1/webhooks/stripe', () => {
  it('a signed invoice.payment_failed suspends the tenant, with the reason recorded', async () => {
    const tenant = await onboarded('unpaid-co');
    const account = await accounts.get(tenant.tenantId);
    const delivery = stripeDelivery('invoice.payment_failed', invoice(account!.customerId));
    const res = await deliver(delivery);
    expect(res.statusCode, res.body).toBe(200);
    const answer = res.json() as { action: string; operationId: string; detail: string };
    expect(answer).toMatchObject({
      received: true,
      action: 'suspend',
      tenantId: tenant.tenantId,
      detail: 'payment failed: Stripe invoice in_1TestInvoice0001 (attempt 2)',
    });
    const op = await cp.waitForOperation(answer.operationId);
    expect(op).toMatchObject({
      type: 'suspend',
      status: 'SUCCEEDED',
      actor: 'webhook:stripe',
      idempotencyKey: delivery.id,
      input: { reason: 'payment failed: Stripe invoice in_1TestInvoice0001 (attempt 2)' },
    });
    expect((await cp.aws.registry.requireTenant(tenant.tenantId)).state).toBe('SUSPENDED');

    // Redelivered: the first answer, nothing started again.
    const again = await deliver(delivery);
    expect(again.json()).toEqual(answer);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // A new event for a tenant already suspended is acknowledged and does nothing.
    const later = await deliver(stripeDelivery('invoice.payment_failed', invoice(account!.customerId)));
    expect(later.json()).toMatchObject({
      action: 'ignored',
      detail: 'tenant is SUSPENDED; nothing to suspend',
    });
  });

  it('a bad or missing signature is 401 INVALID_SIGNATURE and writes nothing', async () => {
    const tenant = await onboarded('forged-co');
    const account = await accounts.get(tenant.tenantId);
    const real = stripeDelivery('invoice.payment_failed', invoice(account!.customerId));
    const forged = stripeDelivery('invoice.payment_failed', invoice(account!.customerId), {
      secret: 'whsec_not_the_endpoint_secret_000',
    });
    const items = await t.countItems();
    for (const delivery of [
      forged,
      { raw: real.raw, signature: null },
      { raw: real.raw.replace('"attempt_count":2', '"attempt_count":3'), signature: real.signature },
      { raw: real.raw, signature: signWebhook(TEST_STRIPE_WEBHOOK_SECRET, real.raw, 1) },
    ]) {
      const res = await deliver(delivery);
      expect(res.statusCode).toBe(401);
      expect((res.json() as { error: { code: string } }).error.code).toMatch(
        /^(INVALID_SIGNATURE|SIGNATURE_EXPIRED)$/,
      );
    }
    expect((await deliver(forged)).json()).toMatchObject({ error: { code: 'INVALID_SIGNATURE' } });
    expect(await t.countItems()).toBe(items);
    expect((await cp.aws.registry.requireTenant(tenant.tenantId)).state).toBe('ACTIVE');
  });

  it('customer.subscription.updated onto another tier’s price changes the tenant’s tier', async () => {
    const tenant = await onboarded('upgrade-co');
    const account = await accounts.get(tenant.tenantId);
    const toStandard = subscriptionObject(account!.subscriptionId!, account!.customerId, [
      TEST_PRICES.standard,
      TEST_PRICES.calls,
    ]);
    const res = await deliver(stripeDelivery('customer.subscription.updated', toStandard));
    const answer = res.json() as { action: string; operationId: string };
    expect(answer.action).toBe('change-tier');
    const op = await cp.waitForOperation(answer.operationId);
    expect(op).toMatchObject({ type: 'change-tier', status: 'SUCCEEDED', input: { tier: 'standard' } });
    expect((await cp.aws.registry.requireTenant(tenant.tenantId)).tier).toBe('standard');
    // The tier change's own step puts the subscription on the new tier's prices.
    const moved = op.steps.find((s) => s.name === 'MoveSubscription');
    expect(moved?.detail).toMatch(/moved to price_standard, price_api_calls$/);
    // The same prices again (Stripe's echo of the move) change nothing.
    const echo = await deliver(stripeDelivery('customer.subscription.updated', toStandard));
    expect(echo.json()).toMatchObject({ action: 'ignored', detail: 'tenant is on tier standard already' });
  });

  it('unknown customers and unhandled event types are acknowledged and do nothing', async () => {
    const items = await t.countItems();
    const unknown = await deliver(
      stripeDelivery('invoice.payment_failed', invoice('cus_NotOurs000000000000000')),
    );
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toMatchObject({
      received: true,
      action: 'ignored',
      detail: "customer cus_NotOurs000000000000000 is no tenant's",
    });
    const other = await deliver(stripeDelivery('charge.succeeded', { id: 'ch_1', object: 'charge' }));
    expect(other.json()).toMatchObject({
      action: 'ignored',
      detail: 'event type charge.succeeded is not handled',
    });
    // Only the two idempotency records of the two events were written.
    expect(await t.countItems()).toBe(items + 2);
  });

  it('never logs the Stripe-Signature, even with a serializer that logs request headers', async () => {
    const lines: string[] = [];
    const logged = await startTestApp({
      registry: cp.aws.registry,
      overrides: { stripeWebhookSecret: TEST_STRIPE_WEBHOOK_SECRET, logLevel: 'info' },
      deps: {
        billingAccounts: accounts,
        logger: {
          stream: { write: (line: string) => lines.push(line) },
          serializers: {
            req: (r: { method: string; headers: unknown }) => ({ method: r.method, headers: r.headers }),
          },
        },
      },
    });
    try {
      const d = stripeDelivery('charge.succeeded', { id: 'ch_1', object: 'charge' });
      const res = await deliver(d, logged);
      expect(res.statusCode).toBe(200);
      const signature = d.signature.split('v1=')[1]!.slice(0, 64);
      expect(lines.some((l) => l.includes('"stripe-signature":"[Redacted]"'))).toBe(true);
      expect(lines.join('\n')).not.toContain(signature);
      expect(lines.join('\n')).not.toContain(TEST_STRIPE_WEBHOOK_SECRET);
    } finally {
      await logged.close();
    }
  });

  it('answers 503 WEBHOOK_NOT_CONFIGURED without STRIPE_WEBHOOK_SECRET', async () => {
    const bare = await startTestApp({
      registry: cp.aws.registry,
      overrides: { stripeWebhookSecret: undefined },
    });
    try {
      const d = stripeDelivery('invoice.payment_failed', invoice('cus_x'));
      const res = await deliver(d, bare);
      expect(res.statusCode).toBe(503);
      expect((res.json() as { error: { code: string } }).error.code).toBe('WEBHOOK_NOT_CONFIGURED');
    } finally {
      await bare.close();
    }
  });
});

import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingAccounts } from '../core/billing/accounts.js';
import type { BillingProvider } from '../core/billing/provider.js';
import { stripeProvider } from '../core/billing/stripe.js';
import { inMemoryUsageSource, usageIdentifier } from '../core/billing/usage.js';
import { billingAccountKey } from '../core/registry/keys.js';
import type { Operation } from '../core/registry/records.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import {
  billingCatalog,
  type RecordedRequest,
  StripeDouble,
  TEST_PRICES,
  TEST_STRIPE_KEY,
} from '../test/support/stripe-double.js';
import { BILLING_SKIPPED } from './index.js';

const actor = { actor: 'test:ops' };
const HOUR = 3_600_000;
const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
const hours = [thisHour - 2 * HOUR, thisHour - HOUR].map((t) => new Date(t).toISOString());

let double: StripeDouble;
let cp: TestControlPlane;
let provider: BillingProvider;
const usage = inMemoryUsageSource();

beforeAll(async () => {
  double = new StripeDouble({ secretKey: TEST_STRIPE_KEY, prices: Object.values(TEST_PRICES) });
  provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: await double.start() });
  cp = await startTestControlPlane({ catalog: billingCatalog(), billing: provider, usage });
});
afterAll(async () => {
  await cp?.close();
  await double?.close();
});

async function run(start: Promise<{ operation: Operation }>): Promise<Operation> {
  const op = await cp.waitForOperation((await start).operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return op;
}

const detailOf = (op: Operation, step: string) => op.steps.find((s) => s.name === step)?.detail;
/** What the SDK sent, as the test compares it: method, path, form body, Idempotency-Key. */
const sent = (requests: RecordedRequest[]) =>
  requests.map(({ method, path, body, idempotencyKey }) => ({ method, path, body, idempotencyKey }));

describe('billing on Stripe (local double) through the lifecycle', () => {
  it('onboard → change tier → report usage → offboard sends exactly the expected Stripe requests', async () => {
    const start = double.requests.length;
    const onboard = await run(
      cp.workflows.lifecycle.onboard(
        { name: 'Billed Co', slug: 'billed-co', tier: 'basic', adminEmail: 'owner@billed.example.com' },
        actor,
      ),
    );
    const tenantId = onboard.tenantId;
    const account = await new BillingAccounts({
      documents: cp.aws.clients.documents,
      tableName: cp.config.registryTable,
    }).get(tenantId);
    const customer = account!.customerId;
    const sub = account!.subscriptionId!;
    expect(customer).toMatch(/^cus_/);
    expect(sub).toMatch(/^sub_/);
    expect(detailOf(onboard, 'CreateBillingCustomer')).toBe(`customer ${customer} created`);
    expect(detailOf(onboard, 'CreateSubscription')).toBe(
      `subscription ${sub} on price_basic, price_api_calls (active)`,
    );
    const basicItem = (double.subscriptions.get(sub)!.items as { data: { id: string }[] }).data[0]!.id;

    const change = await run(cp.workflows.lifecycle.changeTier('billed-co', 'standard', actor));
    expect(change.steps.map((s) => s.name)).toEqual([
      'Begin',
      'UpdateStack',
      'MoveApiKey',
      'MoveSubscription',
      'Finish',
    ]);

    usage.hours.push(
      { tenantId, meter: 'api_calls', hour: hours[0]!, quantity: 120 },
      { tenantId, meter: 'api_calls', hour: hours[1]!, quantity: 7 },
      { tenantId, meter: 'api_calls', hour: new Date(thisHour - 40 * 24 * HOUR).toISOString(), quantity: 9 },
    );
    const offboard = await run(cp.workflows.lifecycle.offboard('billed-co', actor));
    expect(detailOf(offboard, 'ReportUsage')).toBe(
      'reported 2 hour(s) of usage (127 units); 0 reported before',
    );
    expect(detailOf(offboard, 'CancelSubscription')).toBe(`subscription ${sub} cancelled`);

    const meterEvent = (hour: string, value: string) => ({
      method: 'POST',
      path: '/v1/billing/meter_events',
      body: {
        event_name: 'api_calls',
        payload: { stripe_customer_id: customer, value },
        identifier: usageIdentifier(tenantId, 'api_calls', hour),
        timestamp: String(Date.parse(hour) / 1000),
      },
      idempotencyKey: usageIdentifier(tenantId, 'api_calls', hour),
    });
    expect(sent(double.requests.slice(start))).toEqual([
      {
        method: 'POST',
        path: '/v1/customers',
        body: {
          name: 'Billed Co',
          email: 'owner@billed.example.com',
          metadata: { tenantId, slug: 'billed-co' },
        },
        idempotencyKey: `${onboard.operationId}:CreateBillingCustomer:customer`,
      },
      {
        method: 'POST',
        path: '/v1/subscriptions',
        body: {
          customer,
          items: [{ price: 'price_basic' }, { price: 'price_api_calls' }],
          metadata: { tenantId },
        },
        idempotencyKey: `${onboard.operationId}:CreateSubscription:subscription`,
      },
      { method: 'GET', path: `/v1/subscriptions/${sub}`, body: {}, idempotencyKey: undefined },
      {
        method: 'POST',
        path: `/v1/subscriptions/${sub}`,
        body: { items: [{ id: basicItem, deleted: 'true' }, { price: 'price_standard' }] },
        idempotencyKey: `${change.operationId}:MoveSubscription:move`,
      },
      meterEvent(hours[0]!, '120'),
      meterEvent(hours[1]!, '7'),
      {
        method: 'DELETE',
        path: `/v1/subscriptions/${sub}`,
        body: {},
        idempotencyKey: `${offboard.operationId}:CancelSubscription:cancel`,
      },
    ]);
    expect(double.requests.slice(start).every((r) => r.status === 200 && !r.replayed)).toBe(true);
    expect(double.requests.slice(start).every((r) => r.authorization === `Bearer ${TEST_STRIPE_KEY}`)).toBe(
      true,
    );
    const live = double.subscriptions.get(sub)!;
    expect(live.status).toBe('canceled');
    expect((live.items as { data: { price: { id: string } }[] }).data.map((i) => i.price.id)).toEqual([
      'price_api_calls',
      'price_standard',
    ]);
  });

  it('a crash between Stripe’s answer and the record: the resumed step sends the same key, nothing is made twice', async () => {
    let engineToKill: { close(): Promise<void> } | undefined;
    let crashed = false;
    // The first subscription call gets through to Stripe, then the process "dies" before recording.
    const crashing: BillingProvider = {
      ...provider,
      async createSubscription(input, key) {
        const answer = await provider.createSubscription(input, key);
        if (crashed) return answer;
        crashed = true;
        void engineToKill!.close();
        return new Promise(() => undefined);
      },
    };
    const local = await startTestControlPlane({ catalog: billingCatalog(), billing: crashing });
    try {
      const first = local.workflows;
      engineToKill = first.engine;
      const started = await first.lifecycle.onboard(
        { name: 'Crash Co', slug: 'crash-co', tier: 'basic', adminEmail: 'owner@crash.example.com' },
        actor,
      );
      await first.engine.idle();
      expect(crashed).toBe(true);
      const subsBefore = double.subscriptions.size;
      const customersBefore = double.customers.size;
      const from = double.requests.length;

      const second = local.restart();
      try {
        expect(await second.engine.resumeOpen()).toBeGreaterThanOrEqual(1);
        const op = await local.waitForOperation(started.operation.operationId);
        expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
      } finally {
        await second.engine.close();
      }
      const again = double.requests.slice(from);
      // The customer was recorded before the crash: not asked for again. The subscription is
      // asked for again with the first attempt's key, and Stripe answers the first subscription.
      expect(again.map((r) => [r.method, r.path, r.idempotencyKey, r.replayed])).toEqual([
        [
          'POST',
          '/v1/subscriptions',
          `${started.operation.operationId}:CreateSubscription:subscription`,
          true,
        ],
      ]);
      expect(double.subscriptions.size).toBe(subsBefore);
      expect(double.customers.size).toBe(customersBefore);
    } finally {
      await local.close();
    }
  });

  it('a failed onboarding cancels the subscription it made (compensation) and keeps the customer', async () => {
    const failing = await startTestControlPlane({
      catalog: billingCatalog(),
      billing: provider,
      hooks: {
        beforeTask(input) {
          if (input.step === 'Activate') throw new Error('activation broke');
        },
      },
    });
    try {
      const from = double.requests.length;
      const started = await failing.workflows.lifecycle.onboard(
        { name: 'Doomed Co', slug: 'doomed-co', tier: 'basic', adminEmail: 'owner@doomed.example.com' },
        actor,
      );
      const op = await failing.waitForOperation(started.operation.operationId);
      expect(op.status).toBe('FAILED');
      const writes = double.requests.slice(from).filter((r) => r.method !== 'GET');
      expect(writes.map((r) => [r.method, r.path.replace(/sub_\w+/, 'sub_…'), r.idempotencyKey])).toEqual([
        ['POST', '/v1/customers', `${op.operationId}:CreateBillingCustomer:customer`],
        ['POST', '/v1/subscriptions', `${op.operationId}:CreateSubscription:subscription`],
        ['DELETE', '/v1/subscriptions/sub_…', `${op.operationId}:Compensate:cancel`],
      ]);
      const subId = writes[2]!.path.split('/').at(-1)!;
      expect(double.subscriptions.get(subId)?.status).toBe('canceled');
    } finally {
      await failing.close();
    }
  });

  it('a tenant onboarded before billing was configured gets its customer and subscription at its next tier change', async () => {
    const onboard = await run(
      cp.workflows.lifecycle.onboard(
        { name: 'Early Co', slug: 'early-co', tier: 'basic', adminEmail: 'owner@early.example.com' },
        actor,
      ),
    );
    // As if onboarded without a provider: no billing record.
    await cp.aws.clients.documents.send(
      new DeleteCommand({ TableName: cp.config.registryTable, Key: billingAccountKey(onboard.tenantId) }),
    );
    const from = double.requests.length;
    const change = await run(cp.workflows.lifecycle.changeTier('early-co', 'standard', actor));
    expect(sent(double.requests.slice(from)).map((r) => [r.method, r.path, r.idempotencyKey])).toEqual([
      ['POST', '/v1/customers', `${change.operationId}:MoveSubscription:customer`],
      ['POST', '/v1/subscriptions', `${change.operationId}:MoveSubscription:subscription`],
    ]);
    expect(double.requests.at(-1)!.body.items).toEqual([
      { price: 'price_standard' },
      { price: 'price_api_calls' },
    ]);
    expect(detailOf(change, 'MoveSubscription')).toMatch(
      /^subscription sub_\w+ on price_standard, price_api_calls \(active\)$/,
    );
  });

  it('with no billing provider configured, the billing steps are skipped and say so', async () => {
    const local = await startTestControlPlane({ catalog: billingCatalog() });
    try {
      const from = double.requests.length;
      const onboard = await local.waitForOperation(
        (
          await local.workflows.lifecycle.onboard(
            { name: 'Free Co', slug: 'free-co', tier: 'basic', adminEmail: 'owner@free.example.com' },
            actor,
          )
        ).operation.operationId,
      );
      expect(onboard.status).toBe('SUCCEEDED');
      const offboard = await local.waitForOperation(
        (await local.workflows.lifecycle.offboard('free-co', actor)).operation.operationId,
      );
      expect(offboard.status).toBe('SUCCEEDED');
      for (const [op, step] of [
        [onboard, 'CreateBillingCustomer'],
        [onboard, 'CreateSubscription'],
        [offboard, 'ReportUsage'],
        [offboard, 'CancelSubscription'],
      ] as const) {
        expect(
          op.steps.find((s) => s.name === step),
          step,
        ).toMatchObject({
          status: 'SUCCEEDED',
          detail: BILLING_SKIPPED,
        });
      }
      expect(double.requests.length).toBe(from);
    } finally {
      await local.close();
    }
  });
});

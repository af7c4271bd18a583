import Stripe from 'stripe';
import type { Config } from '../config.js';
import { ControlPlaneError } from '../errors.js';
import type { BillingProvider, SubscriptionState } from './provider.js';

/**
 * The Stripe adapter of the billing provider, on the official `stripe` package. Every mutating
 * call sends the caller's Idempotency-Key; the SDK's own network retries reuse it, so a lost answer
 * never makes a second customer or subscription. Stripe's errors become BILLING_UNAVAILABLE
 * (connection, 5xx, rate limit: the workflows retry them) or BILLING_ERROR (the rest, with
 * Stripe's type, code and message). The secret key stays inside the SDK client: never logged,
 * never in an error message.
 */

export interface StripeProviderOptions {
  readonly secretKey: string;
  /** Stripe's API base (default https://api.stripe.com); tests point it at a loopback double. */
  readonly apiBase?: string | undefined;
  /** SDK retries of connection errors and 5xx/429 answers, with the same idempotency key. @default 2 */
  readonly maxNetworkRetries?: number;
  readonly timeoutMs?: number;
}

/** The Stripe API version the control plane speaks: the one this SDK version is typed for. */
export const STRIPE_API_VERSION = '2026-10-28.endive';

/** Stripe answers that heal with time: the workflows retry them. */
const TRANSIENT_TYPES = new Set(['StripeConnectionError', 'StripeAPIError', 'StripeRateLimitError']);

export function toBillingError(e: unknown): ControlPlaneError {
  if (e instanceof ControlPlaneError) return e;
  if (e instanceof Stripe.errors.StripeError) {
    const kind = [e.rawType ?? e.type, e.code].filter(Boolean).join('/');
    const transient = TRANSIENT_TYPES.has(e.type) || (e.statusCode ?? 0) >= 500;
    return new ControlPlaneError(
      transient ? 'BILLING_UNAVAILABLE' : 'BILLING_ERROR',
      `Stripe ${kind}: ${e.message}`,
      {
        details: {
          type: e.rawType ?? e.type,
          code: e.code,
          statusCode: e.statusCode,
          requestId: e.requestId,
        },
      },
    );
  }
  return new ControlPlaneError(
    'BILLING_UNAVAILABLE',
    `Stripe call failed: ${(e as Error)?.message ?? String(e)}`,
  );
}

function subscriptionState(sub: Stripe.Subscription): SubscriptionState {
  return {
    subscriptionId: sub.id,
    customerId: typeof sub.customer === 'string' ? sub.customer : sub.customer.id,
    status: sub.status,
    items: sub.items.data.map((i) => ({ itemId: i.id, priceId: i.price.id })),
  };
}

function clientOptions(options: StripeProviderOptions): Stripe.StripeConfig {
  const config: Stripe.StripeConfig = {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    appInfo: { name: 'tenant-control-plane' },
    telemetry: false,
  };
  if (!options.apiBase) return config;
  const url = new URL(options.apiBase);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    ...config,
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

export function stripeProvider(options: StripeProviderOptions): BillingProvider {
  const stripe = new Stripe(options.secretKey, clientOptions(options));
  const call = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw toBillingError(e);
    }
  };
  return {
    name: 'stripe',
    createCustomer: (input, idempotencyKey) =>
      call(async () => {
        const customer = await stripe.customers.create(
          {
            name: input.name,
            email: input.email,
            metadata: { tenantId: input.tenantId, slug: input.slug },
          },
          { idempotencyKey },
        );
        return { customerId: customer.id };
      }),
    createSubscription: (input, idempotencyKey) =>
      call(async () =>
        subscriptionState(
          await stripe.subscriptions.create(
            {
              customer: input.customerId,
              items: input.priceIds.map((price) => ({ price })),
              metadata: { tenantId: input.tenantId },
            },
            { idempotencyKey },
          ),
        ),
      ),
    getSubscription: (subscriptionId) =>
      call(async () => subscriptionState(await stripe.subscriptions.retrieve(subscriptionId))),
    updateSubscriptionItems: (input, idempotencyKey) =>
      call(async () =>
        subscriptionState(
          await stripe.subscriptions.update(
            input.subscriptionId,
            {
              items: [
                ...input.removeItemIds.map((id) => ({ id, deleted: true })),
                ...input.addPriceIds.map((price) => ({ price })),
              ],
            },
            { idempotencyKey },
          ),
        ),
      ),
    cancelSubscription: (subscriptionId, idempotencyKey) =>
      call(async () =>
        subscriptionState(await stripe.subscriptions.cancel(subscriptionId, {}, { idempotencyKey })),
      ),
    reportMeterEvent: (event, idempotencyKey) =>
      call(async () => {
        await stripe.billing.meterEvents.create(
          {
            event_name: event.eventName,
            payload: { stripe_customer_id: event.customerId, value: String(event.value) },
            identifier: event.identifier,
            timestamp: Math.floor(event.timestamp.getTime() / 1000),
          },
          { idempotencyKey },
        );
      }),
    paidRevenue: (customerId, from, to) =>
      call(async () => {
        const minor = new Map<string, number>();
        const created = { gte: Math.floor(from.getTime() / 1000), lt: Math.floor(to.getTime() / 1000) };
        for await (const invoice of stripe.invoices.list({
          customer: customerId,
          status: 'paid',
          created,
          limit: 100,
        }))
          minor.set(invoice.currency, (minor.get(invoice.currency) ?? 0) + invoice.amount_paid);
        return [...minor]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([currency, amount]) => ({
            amount: amount / 10 ** minorDigits(currency),
            currency: currency.toUpperCase(),
          }));
      }),
  };
}

/** Stripe amounts are in the currency's smallest unit: cents, except in its zero-decimal currencies. */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
const minorDigits = (currency: string): number => (ZERO_DECIMAL.has(currency.toLowerCase()) ? 0 : 2);

/** The provider the configuration names: Stripe when STRIPE_SECRET_KEY is set, none otherwise. */
export function billingProviderFromConfig(
  config: Pick<Config, 'stripeSecretKey' | 'stripeApiBase'>,
): BillingProvider | undefined {
  if (!config.stripeSecretKey) return undefined;
  return stripeProvider({ secretKey: config.stripeSecretKey, apiBase: config.stripeApiBase });
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeDouble, TEST_PRICES, TEST_STRIPE_KEY } from '../../test/support/stripe-double.js';
import type { BillingAccount } from './accounts.js';
import { billingRevenue } from './revenue.js';
import { stripeProvider } from './stripe.js';

let double: StripeDouble;
let provider: ReturnType<typeof stripeProvider>;

beforeAll(async () => {
  double = new StripeDouble({ secretKey: TEST_STRIPE_KEY, prices: Object.values(TEST_PRICES) });
  provider = stripeProvider({ secretKey: TEST_STRIPE_KEY, apiBase: await double.start() });
});
afterAll(async () => {
  await double?.close();
});

const at = (iso: string) => new Date(iso);
const accountsOf = (customers: Record<string, string>) => ({
  get: async (tenantId: string) =>
    customers[tenantId]
      ? ({ tenantId, customerId: customers[tenantId] } as unknown as BillingAccount)
      : undefined,
});

describe('revenue from Stripe invoices (local double)', () => {
  it("sums a customer's paid invoices created in [from, to) per currency, in major units, paging through the list", async () => {
    const customer = 'cus_revenue_a';
    for (let i = 0; i < 120; i++)
      double.addInvoice({
        customer,
        amountPaid: 1_000,
        currency: 'usd',
        created: at(`2026-11-0${1 + (i % 9)}T12:00:00Z`),
      });
    double.addInvoice({ customer, amountPaid: 99_999, currency: 'usd', created: at('2026-12-01T00:00:00Z') }); // to: excluded
    double.addInvoice({ customer, amountPaid: 5_000, currency: 'usd', created: at('2026-10-31T23:59:59Z') }); // before from
    double.addInvoice({
      customer,
      amountPaid: 7_000,
      currency: 'usd',
      created: at('2026-11-15T00:00:00Z'),
      status: 'open',
    });
    double.addInvoice({
      customer: 'cus_other',
      amountPaid: 3_000,
      currency: 'usd',
      created: at('2026-11-15T00:00:00Z'),
    });
    double.addInvoice({ customer, amountPaid: 500, currency: 'jpy', created: at('2026-11-20T00:00:00Z') });
    const before = double.requests.length;
    expect(
      await provider.paidRevenue(customer, at('2026-11-01T00:00:00Z'), at('2026-12-01T00:00:00Z')),
    ).toEqual([
      { amount: 500, currency: 'JPY' },
      { amount: 1_200, currency: 'USD' },
    ]);
    const reads = double.requests.slice(before);
    expect(reads.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/v1/invoices'],
      ['GET', '/v1/invoices'],
    ]);
    expect(reads[0]!.body).toMatchObject({
      customer,
      status: 'paid',
      limit: '100',
      created: {
        gte: String(Date.parse('2026-11-01T00:00:00Z') / 1000),
        lt: String(Date.parse('2026-12-01T00:00:00Z') / 1000),
      },
    });
  });

  it('gives the cost report USD revenue per tenant: 0 for a customer that paid nothing, none without a customer', async () => {
    double.addInvoice({
      customer: 'cus_b',
      amountPaid: 4_250,
      currency: 'usd',
      created: at('2026-09-10T00:00:00Z'),
    });
    double.addInvoice({
      customer: 'cus_b',
      amountPaid: 800,
      currency: 'eur',
      created: at('2026-09-11T00:00:00Z'),
    });
    double.addInvoice({
      customer: 'cus_c',
      amountPaid: 900,
      currency: 'eur',
      created: at('2026-09-11T00:00:00Z'),
    });
    const source = billingRevenue(provider, accountsOf({ t_B: 'cus_b', t_C: 'cus_c', t_D: 'cus_d' }));
    const revenue = await source.revenueByTenant({
      from: '2026-09-01',
      to: '2026-10-01',
      tenantIds: ['t_B', 't_C', 't_D', 't_NONE'],
    });
    expect(Object.fromEntries(revenue)).toEqual({
      t_B: { amount: 42.5, currency: 'USD' },
      t_C: { amount: 9, currency: 'EUR' },
      t_D: { amount: 0, currency: 'USD' },
    });
  });
});

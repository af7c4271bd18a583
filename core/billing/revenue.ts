import type { Money, RevenueSource } from '../costs/report.js';
import type { BillingAccounts } from './accounts.js';
import type { BillingProvider } from './provider.js';

/** Tenants whose invoices are read at once: a cost report of many tenants stays within Stripe's read rate. */
const CONCURRENCY = 4;

/**
 * Revenue per tenant for the cost report (core/costs): the invoices its billing customer paid in
 * the report's range (0 when it paid none). A tenant with no billing customer has no revenue: its
 * row says null, never 0. Where a customer paid in several currencies, the report's currency (USD, Cost Explorer's)
 * is taken, else the largest amount.
 */
export function billingRevenue(
  provider: Pick<BillingProvider, 'paidRevenue'>,
  accounts: Pick<BillingAccounts, 'get'>,
  currency = 'USD',
): RevenueSource {
  return {
    async revenueByTenant({ from, to, tenantIds }) {
      const revenue = new Map<string, Money>();
      const queue = [...tenantIds];
      const worker = async (): Promise<void> => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const account = await accounts.get(id);
          if (!account) continue;
          const paid = await provider.paidRevenue(account.customerId, new Date(from), new Date(to));
          const pick =
            paid.find((p) => p.currency === currency) ?? [...paid].sort((a, b) => b.amount - a.amount)[0];
          revenue.set(id, pick ?? { amount: 0, currency });
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      return revenue;
    },
  };
}

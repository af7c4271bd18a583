import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, TierCatalog } from './catalog.js';

const withBilling = (prices: Record<string, string[]>) => ({
  ...DEFAULT_CATALOG,
  tiers: DEFAULT_CATALOG.tiers.map((t) =>
    prices[t.name] ? { ...t, billing: { stripePriceIds: prices[t.name] } } : t,
  ),
});

const issues = (raw: unknown): string[] => {
  try {
    TierCatalog.parse(raw);
    return [];
  } catch (e) {
    return ((e as { details: { path: string; message: string }[] }).details ?? []).map(
      (d) => `${d.path}: ${d.message}`,
    );
  }
};

describe('tier billing prices', () => {
  it('the shipped catalog has none: price ids belong to an operator’s Stripe account', () => {
    expect(TierCatalog.load().tiers.map((t) => t.billing)).toEqual(
      DEFAULT_CATALOG.tiers.map(() => undefined),
    );
  });

  it('maps a subscription’s prices to the tier whose first price is among them', () => {
    const catalog = TierCatalog.parse(
      withBilling({ basic: ['price_basic', 'price_calls'], standard: ['price_standard', 'price_calls'] }),
    );
    expect(catalog.tierOfPrices(['price_calls', 'price_standard'])?.name).toBe('standard');
    expect(catalog.tierOfPrices(['price_calls'])).toBeUndefined();
    expect(catalog.tierOfPrices([])).toBeUndefined();
  });

  it('refuses a shared first price, a repeated price, a non-price id and an empty list, naming each', () => {
    expect(issues(withBilling({ basic: ['price_a'], standard: ['price_a', 'price_b'] }))).toEqual([
      "tiers.1.billing.stripePriceIds.0: tier basic has this first price already; a tier's first price names it",
    ]);
    expect(issues(withBilling({ basic: ['price_a', 'price_a'] }))).toEqual([
      'tiers.0.billing.stripePriceIds: a price appears twice',
    ]);
    expect(issues(withBilling({ basic: ['prod_a'] }))).toEqual([
      'tiers.0.billing.stripePriceIds.0: a Stripe price id (price_…)',
    ]);
    expect(issues(withBilling({ basic: [] }))[0]).toMatch(/^tiers\.0\.billing\.stripePriceIds: /);
  });
});

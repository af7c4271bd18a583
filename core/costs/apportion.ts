/**
 * Cost per tenant, pure: a period's cost grouped by the `TenantId` cost-allocation tag splits into
 * each tenant's **direct** cost (resources tagged with its id) and the **shared** cost (untagged and
 * platform-tagged resources: the pooled table, the shared VPC, the user pool). Shared cost is
 * apportioned by each tenant's share of one metered usage (the catalog's `sharedCostMeter`), the
 * method of AWS's SaaS tenant cost attribution guidance: share = usage(tenant) ÷ usage(all tenants),
 * per period. Amounts are computed in millionths of the currency unit, and the remainders of the
 * division go to the largest fractions (largest-remainder method), so the shares of a period add up
 * to its shared cost exactly. A period with no metered usage leaves its shared cost unapportioned
 * (reported as such, never guessed).
 */

/** Millionths of a currency unit: exact sums of Cost Explorer's decimal strings. */
export type Micros = number;
export const toMicros = (amount: string | number): Micros => Math.round(Number(amount) * 1_000_000);
export const fromMicros = (m: Micros): number => m / 1_000_000;

export interface CostPeriodInput {
  readonly start: string;
  readonly end: string;
  readonly estimated: boolean;
  /** Cost by tenant id, of resources tagged with that id. */
  readonly direct: ReadonlyMap<string, Micros>;
  /** Untagged and platform-tagged cost. */
  readonly shared: Micros;
  /** Metered usage of the apportioning meter in the period, by tenant id. */
  readonly usage: ReadonlyMap<string, number>;
}

export interface ApportionedPeriod {
  readonly start: string;
  readonly end: string;
  readonly estimated: boolean;
  readonly shared: Micros;
  readonly unapportioned: Micros;
  readonly tenants: ReadonlyMap<string, { direct: Micros; apportioned: Micros; usage: number }>;
}

/** Splits `total` in proportion to `weights`, exactly: the parts add up to `total`. */
export function largestRemainder(total: Micros, weights: ReadonlyMap<string, number>): Map<string, Micros> {
  const sum = [...weights.values()].reduce((a, b) => a + b, 0);
  const parts = new Map<string, Micros>();
  if (sum <= 0) return parts;
  const raw = [...weights].map(([id, w]) => ({ id, exact: (total * w) / sum }));
  for (const r of raw) parts.set(r.id, Math.floor(r.exact));
  let left = total - [...parts.values()].reduce((a, b) => a + b, 0);
  // Ties by id, so the split does not depend on the order tenants were read in.
  const order = raw.sort(
    (a, b) => b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || (a.id < b.id ? -1 : 1),
  );
  for (let i = 0; left > 0; i = (i + 1) % order.length, left--)
    parts.set(order[i]!.id, parts.get(order[i]!.id)! + 1);
  return parts;
}

export function apportionPeriod(p: CostPeriodInput): ApportionedPeriod {
  const weights = new Map([...p.usage].filter(([, u]) => u > 0));
  const shares = largestRemainder(p.shared, weights);
  const ids = new Set([...p.direct.keys(), ...shares.keys()]);
  const tenants = new Map(
    [...ids].map((id) => [
      id,
      { direct: p.direct.get(id) ?? 0, apportioned: shares.get(id) ?? 0, usage: p.usage.get(id) ?? 0 },
    ]),
  );
  return {
    start: p.start,
    end: p.end,
    estimated: p.estimated,
    shared: p.shared,
    unapportioned: shares.size === 0 ? p.shared : 0,
    tenants,
  };
}

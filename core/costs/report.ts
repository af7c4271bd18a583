import type { UsageReader } from '../usage/store.js';
import { apportionPeriod, fromMicros, type Micros, toMicros } from './apportion.js';
import type { CostQuery, CostSource } from './cost-explorer.js';

/**
 * The cost report: Cost Explorer's cost by `TenantId` tag (a `CostSource`), the shared part
 * apportioned by metered usage (apportion.ts), and cost ÷ revenue where a `RevenueSource` is wired.
 */

export interface Money {
  readonly amount: number;
  readonly currency: string;
}

/**
 * Where revenue per tenant comes from (the billing provider, e.g. Stripe invoices paid in the
 * period). Optional: without it a report has no cost ÷ revenue.
 */
export interface RevenueSource {
  revenueByTenant(query: {
    readonly from: string;
    readonly to: string;
    readonly tenantIds: readonly string[];
  }): Promise<ReadonlyMap<string, Money>>;
}

export interface TenantInfo {
  readonly tenantId: string;
  readonly slug: string;
  readonly tier: string;
}

export interface CostReporterDeps {
  readonly source: CostSource;
  readonly usage: UsageReader;
  /** Every tenant whose usage may weigh (all states: an offboarded tenant's usage still happened). */
  readonly tenants: () => Promise<readonly TenantInfo[]>;
  /** The `sum` meter that apportions shared cost; none: shared cost stays unapportioned. */
  readonly sharedCostMeter: string | undefined;
  /** `TenantId` tag values that are not a tenant: '' (untagged) and the platform's own value. */
  readonly sharedTagValues: readonly string[];
  readonly revenue?: RevenueSource | undefined;
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

export interface TenantCostPeriod {
  readonly start: string;
  readonly end: string;
  readonly direct: number;
  readonly apportioned: number;
  readonly total: number;
  readonly usage: number;
}

export interface TenantCost {
  readonly tenantId: string;
  readonly slug: string | null;
  readonly tier: string | null;
  readonly direct: number;
  readonly apportioned: number;
  readonly total: number;
  /** Usage of the apportioning meter over the range. */
  readonly usage: number;
  /** usage ÷ all tenants' usage over the range (0 to 1). */
  readonly usageShare: number;
  readonly revenue: Money | null;
  /** total ÷ revenue, when revenue is known, in the same currency and above zero. */
  readonly costToRevenue: number | null;
  readonly periods: TenantCostPeriod[];
}

export interface CostReport {
  readonly from: string;
  readonly to: string;
  readonly granularity: CostQuery['granularity'];
  readonly currency: string;
  readonly method: {
    readonly tag: 'TenantId';
    readonly sharedCostMeter: string | null;
    readonly sharedTagValues: readonly string[];
  };
  readonly total: number;
  readonly direct: number;
  readonly shared: number;
  readonly apportioned: number;
  readonly unapportioned: number;
  readonly estimated: boolean;
  readonly periods: {
    start: string;
    end: string;
    total: number;
    direct: number;
    shared: number;
    unapportioned: number;
    estimated: boolean;
  }[];
  /** Highest total first. */
  readonly tenants: TenantCost[];
}

const dayStart = (d: string) => new Date(`${d}T00:00:00.000Z`);

export async function buildCostReport(deps: CostReporterDeps, query: CostQuery): Promise<CostReport> {
  const [tagged, tenants] = await Promise.all([deps.source.costByTenantTag(query), deps.tenants()]);
  const shared = new Set(deps.sharedTagValues);
  const info = new Map(tenants.map((t) => [t.tenantId, t]));

  // The apportioning meter's hours of every tenant over the range, one read per tenant.
  const meter = deps.sharedCostMeter;
  const hours = new Map<string, { hour: string; sum: number }[]>();
  if (meter) {
    await Promise.all(
      tenants.map(async (t) =>
        hours.set(
          t.tenantId,
          await deps.usage.hourly(t.tenantId, meter, dayStart(query.from), dayStart(query.to)),
        ),
      ),
    );
  }
  const usageIn = (start: string, end: string) => {
    const from = dayStart(start).toISOString();
    const to = dayStart(end).toISOString();
    const out = new Map<string, number>();
    for (const [id, hs] of hours) {
      const u = hs.filter((h) => h.hour >= from && h.hour < to).reduce((n, h) => n + h.sum, 0);
      if (u > 0) out.set(id, u);
    }
    return out;
  };

  const periods = tagged.map((p) => {
    const direct = new Map<string, Micros>();
    let sharedMicros = 0;
    for (const [value, amount] of p.byTag) {
      if (shared.has(value)) sharedMicros += toMicros(amount);
      else direct.set(value, (direct.get(value) ?? 0) + toMicros(amount));
    }
    return apportionPeriod({
      start: p.start,
      end: p.end,
      estimated: p.estimated,
      direct,
      shared: sharedMicros,
      usage: usageIn(p.start, p.end),
    });
  });

  const ids = new Set(periods.flatMap((p) => [...p.tenants.keys()]));
  const revenue = deps.revenue
    ? await deps.revenue.revenueByTenant({ from: query.from, to: query.to, tenantIds: [...ids] })
    : undefined;
  const currency = tagged.find((p) => p.byTag.size > 0)?.unit ?? 'USD';
  const totalUsage = periods.reduce(
    (n, p) => n + [...p.tenants.values()].reduce((m, t) => m + t.usage, 0),
    0,
  );

  const rows: TenantCost[] = [...ids].map((id) => {
    const per = periods.map((p) => {
      const t = p.tenants.get(id) ?? { direct: 0, apportioned: 0, usage: 0 };
      return {
        start: p.start,
        end: p.end,
        direct: fromMicros(t.direct),
        apportioned: fromMicros(t.apportioned),
        total: fromMicros(t.direct + t.apportioned),
        usage: t.usage,
      };
    });
    const sum = (f: (p: { direct: Micros; apportioned: Micros; usage: number }) => number) =>
      periods.reduce((n, p) => n + f(p.tenants.get(id) ?? { direct: 0, apportioned: 0, usage: 0 }), 0);
    const direct = sum((t) => t.direct);
    const apportioned = sum((t) => t.apportioned);
    const usage = sum((t) => t.usage);
    const total = fromMicros(direct + apportioned);
    const money = revenue?.get(id);
    return {
      tenantId: id,
      slug: info.get(id)?.slug ?? null,
      tier: info.get(id)?.tier ?? null,
      direct: fromMicros(direct),
      apportioned: fromMicros(apportioned),
      total,
      usage,
      usageShare: totalUsage > 0 ? round(usage / totalUsage) : 0,
      revenue: money ?? null,
      costToRevenue:
        money && money.currency === currency && money.amount > 0 ? round(total / money.amount) : null,
      periods: per,
    };
  });
  rows.sort((a, b) => b.total - a.total || (a.tenantId < b.tenantId ? -1 : 1));

  const sumOf = (f: (p: (typeof periods)[number]) => Micros) => periods.reduce((n, p) => n + f(p), 0);
  const directOf = (p: (typeof periods)[number]) => [...p.tenants.values()].reduce((n, t) => n + t.direct, 0);
  return {
    from: query.from,
    to: query.to,
    granularity: query.granularity,
    currency,
    method: { tag: 'TenantId', sharedCostMeter: meter ?? null, sharedTagValues: [...shared] },
    total: fromMicros(sumOf((p) => directOf(p) + p.shared)),
    direct: fromMicros(sumOf(directOf)),
    shared: fromMicros(sumOf((p) => p.shared)),
    apportioned: fromMicros(sumOf((p) => p.shared - p.unapportioned)),
    unapportioned: fromMicros(sumOf((p) => p.unapportioned)),
    estimated: periods.some((p) => p.estimated),
    periods: periods.map((p) => ({
      start: p.start,
      end: p.end,
      total: fromMicros(directOf(p) + p.shared),
      direct: fromMicros(directOf(p)),
      shared: fromMicros(p.shared),
      unapportioned: fromMicros(p.unapportioned),
      estimated: p.estimated,
    })),
    tenants: rows,
  };
}

import type { RegistryReader } from '../registry/queries.js';
import type { BillingAccounts } from './accounts.js';
import type { BillingProvider } from './provider.js';

/**
 * Usage reported to the billing provider as meter events, each hour of each meter of each tenant
 * exactly once. The usage itself comes from a `UsageSource` (the metering store, core/usage/, once
 * wired); this module only needs the hourly totals.
 */

/** One tenant's aggregated quantity of one meter in one hour. */
export interface UsageHour {
  readonly tenantId: string;
  readonly meter: string;
  /** The hour's start, ISO 8601 (`2026-12-04T03:00:00.000Z`). */
  readonly hour: string;
  readonly quantity: number;
}

/** What the reporter reads: hourly totals per meter of one tenant, for hours starting in [from, to). */
export interface UsageSource {
  hourlyUsage(query: {
    readonly tenantId: string;
    readonly from: Date;
    readonly to: Date;
  }): Promise<readonly UsageHour[]>;
}

const HOUR_MS = 3_600_000;

/** Stripe takes meter events up to 35 days old; the reporter looks back 30. */
export const USAGE_LOOKBACK_DAYS = 30;
/** A closed hour is reported this long after its end, so late events of the hour are in. */
export const USAGE_SETTLE_SECONDS = 300;

/** Idempotency key and meter-event identifier of one tenant's hour of one meter (≤ 100 chars). */
export function usageIdentifier(tenantId: string, meter: string, hour: string): string {
  const compact = hour.slice(0, 13).replace(/[-T:]/g, '');
  return `usage-${tenantId}-${meter}-${compact}`.slice(0, 100);
}

export interface UsageReporterDeps {
  readonly provider: BillingProvider;
  readonly accounts: BillingAccounts;
  readonly source: UsageSource;
  readonly clock: () => Date;
}

export interface UsageReportResult {
  readonly reported: number;
  /** Hours found already reported (by an earlier run or a crashed one). */
  readonly alreadyReported: number;
  readonly quantity: number;
}

/**
 * Reports a tenant's unreported hours: `closed` hours (ended at least USAGE_SETTLE_SECONDS ago,
 * the periodic report) or, for an offboarding's final report, every hour up to `now` including the
 * current one. Each hour is sent with an identifier and Idempotency-Key derived from tenant, meter
 * and hour, then marked reported: a crash in between resends the same event, which Stripe drops.
 */
export async function reportTenantUsage(
  deps: UsageReporterDeps,
  tenantId: string,
  through: 'closed' | 'now',
): Promise<UsageReportResult | { readonly skipped: string }> {
  const account = await deps.accounts.get(tenantId);
  if (!account) return { skipped: 'the tenant has no billing customer' };
  const now = deps.clock();
  const from = new Date(Math.floor((now.getTime() - USAGE_LOOKBACK_DAYS * 24 * HOUR_MS) / HOUR_MS) * HOUR_MS);
  const to =
    through === 'now'
      ? new Date(now.getTime() + 1)
      : // an hour starting at S is closed once S + 1 h + the settle time has passed
        new Date(now.getTime() - USAGE_SETTLE_SECONDS * 1000 - HOUR_MS + 1);
  const hours = (await deps.source.hourlyUsage({ tenantId, from, to })).filter(
    (h) => h.quantity > 0 && Date.parse(h.hour) >= from.getTime() && Date.parse(h.hour) < to.getTime(),
  );
  const byMeter = new Map<string, UsageHour[]>();
  for (const h of hours) byMeter.set(h.meter, [...(byMeter.get(h.meter) ?? []), h]);
  let reported = 0;
  let alreadyReported = 0;
  let quantity = 0;
  for (const [meter, meterHours] of [...byMeter].sort(([a], [b]) => a.localeCompare(b))) {
    const done = await deps.accounts.reportedHours(tenantId, meter, from.toISOString());
    for (const h of [...meterHours].sort((a, b) => a.hour.localeCompare(b.hour))) {
      const hour = new Date(h.hour).toISOString();
      if (done.has(hour)) {
        alreadyReported++;
        continue;
      }
      const identifier = usageIdentifier(tenantId, meter, hour);
      await deps.provider.reportMeterEvent(
        {
          eventName: meter,
          customerId: account.customerId,
          value: h.quantity,
          timestamp: new Date(hour),
          identifier,
        },
        identifier,
      );
      await deps.accounts.markReported(tenantId, {
        meter,
        hour,
        quantity: h.quantity,
        identifier,
        reportedAt: deps.clock().toISOString(),
      });
      reported++;
      quantity += h.quantity;
    }
  }
  return { reported, alreadyReported, quantity };
}

/**
 * The periodic job: every tenant's closed, unreported hours (offboarded tenants reported theirs
 * when they left). Safe to run from several control planes at once: an hour two of them send
 * carries one identifier and Idempotency-Key, and its mark is written once.
 */
export async function reportAllUsage(
  deps: UsageReporterDeps & { readonly registry: Pick<RegistryReader, 'listTenants'> },
): Promise<{ readonly tenants: number; readonly reported: number; readonly quantity: number }> {
  let cursor: string | undefined;
  let tenants = 0;
  let reported = 0;
  let quantity = 0;
  do {
    const page = await deps.registry.listTenants({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      if (tenant.state === 'OFFBOARDED') continue;
      const result = await reportTenantUsage(deps, tenant.tenantId, 'closed');
      if ('skipped' in result) continue;
      tenants++;
      reported += result.reported;
      quantity += result.quantity;
    }
    cursor = page.nextCursor;
  } while (cursor);
  return { tenants, reported, quantity };
}

/** A UsageSource over fixed hours (tests, and a stand-in until the metering store is wired). */
export function inMemoryUsageSource(hours: UsageHour[] = []): UsageSource & { readonly hours: UsageHour[] } {
  return {
    hours,
    async hourlyUsage({ tenantId, from, to }) {
      return hours.filter(
        (h) =>
          h.tenantId === tenantId &&
          Date.parse(h.hour) >= from.getTime() &&
          Date.parse(h.hour) < to.getTime(),
      );
    },
  };
}

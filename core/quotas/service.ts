import type { QuotaSource } from './aws.js';
import {
  assertChangeFits,
  assertFits,
  changeDemand,
  judge,
  QUOTA_NAMES,
  QUOTAS,
  type QuotaName,
  type QuotaView,
  type Reading,
  type TierShape,
} from './rules.js';

/**
 * Quota pre-checks with a short cache, so an onboarding costs no AWS call while its readings are
 * fresh (QUOTA_CACHE_SECONDS): concurrent checks share one read, and each admitted onboarding is
 * added to the cached usage until the next read, so a burst within the window cannot overshoot.
 * A call the endpoint lacks is asked again only after an hour (it will not appear in between).
 */

export interface QuotaServiceOptions {
  readonly source: QuotaSource;
  /** The catalog's tiers (for what each takes, shown by GET /v1/quotas). */
  readonly tiers: () => readonly TierShape[];
  /** QUOTA_LIMITS: stand-in (or lower) limits per quota. */
  readonly configuredLimits?: Readonly<Partial<Record<QuotaName, number>>>;
  /**
   * Limits used only where AWS gives none and none is configured: the tier catalog's
   * lambdaConcurrencyLimit (less the 100 AWS keeps unreserved) for `lambda.reserved-concurrency`.
   */
  readonly standInLimits?: Readonly<Partial<Record<QuotaName, number>>>;
  readonly cacheSeconds: number;
  /** QUOTA_PRECHECK: false admits every onboarding unchecked (GET /v1/quotas still reads). */
  readonly enabled: boolean;
  readonly clock?: () => Date;
}

const NOT_AVAILABLE_TTL_MS = 3600_000;

/**
 * The quotas a tier change is checked against: reserved Lambda concurrency, whose reservations
 * differ between tiers of one isolation. (The others are not checked on a tier change yet.)
 */
const CHANGE_CHECKED: readonly QuotaName[] = ['lambda.reserved-concurrency'];

interface Cached {
  reading: Promise<Reading>;
  expiresAt: number;
  /** Onboardings admitted since the reading (usage only). */
  admitted: number;
}

export class QuotaService {
  private readonly cache = new Map<string, Cached>();
  private readonly clock: () => Date;

  constructor(private readonly options: QuotaServiceOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  private cached(key: string, load: () => Promise<Reading>): Cached {
    const now = this.clock().getTime();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return hit;
    const entry: Cached = { reading: load(), expiresAt: now + this.options.cacheSeconds * 1000, admitted: 0 };
    this.cache.set(key, entry);
    void entry.reading.then((r) => {
      if (!r.ok && r.status === 'not-available') entry.expiresAt = now + NOT_AVAILABLE_TTL_MS;
      // A failed read is not kept: the next check asks again.
      if (!r.ok && r.status === 'error' && this.cache.get(key) === entry) this.cache.delete(key);
    });
    return entry;
  }

  /** One quota as it stands (cached): usage, limit, headroom, status. */
  async view(quota: QuotaName): Promise<QuotaView> {
    const usageEntry = this.cached(`usage:${quota}`, () => this.options.source.usage(quota));
    const [usage, limit] = await Promise.all([
      usageEntry.reading,
      this.cached(`limit:${quota}`, () => this.options.source.limit(quota)).reading,
    ]);
    const counted: Reading = usage.ok ? { ok: true, value: usage.value + usageEntry.admitted } : usage;
    return judge(
      quota,
      { usage: counted, limit },
      this.options.configuredLimits?.[quota],
      this.options.tiers(),
      this.clock().toISOString(),
      this.options.standInLimits?.[quota],
    );
  }

  /** Every quota: what GET /v1/quotas shows. */
  headroom(): Promise<QuotaView[]> {
    return Promise.all(QUOTA_NAMES.map((q) => this.view(q)));
  }

  /**
   * Before an onboarding is accepted: QUOTA_EXCEEDED (nothing written) when one more tenant of
   * `tier` does not fit a checked quota. Reads only the quotas the tier takes of.
   */
  async admit(tier: TierShape): Promise<void> {
    if (!this.options.enabled) return;
    const taken = QUOTA_NAMES.filter((q) => QUOTAS[q].demand(tier) > 0);
    assertFits(await Promise.all(taken.map((q) => this.view(q))), tier);
  }

  /**
   * Before a tier change is accepted: QUOTA_EXCEEDED (nothing written) when what moving from
   * `from` to `to` takes more of does not fit. Reads only the quotas the change takes more of.
   */
  async admitChange(from: TierShape, to: TierShape): Promise<void> {
    if (!this.options.enabled) return;
    const taken = CHANGE_CHECKED.filter((q) => changeDemand(q, from, to) > 0);
    assertChangeFits(await Promise.all(taken.map((q) => this.view(q))), from, to);
  }

  /** A tier change was recorded: what it takes more of is counted until the next read. */
  admittedChange(from: TierShape, to: TierShape): void {
    for (const q of CHANGE_CHECKED) {
      const entry = this.cache.get(`usage:${q}`);
      if (entry) entry.admitted += changeDemand(q, from, to);
    }
  }

  /** An onboarding of `tier` was recorded: counted in the cached usage until the next read. */
  admitted(tier: TierShape): void {
    for (const q of QUOTA_NAMES) {
      const entry = this.cache.get(`usage:${q}`);
      if (entry) entry.admitted += QUOTAS[q].demand(tier);
    }
  }
}

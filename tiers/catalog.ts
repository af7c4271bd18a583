import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ControlPlaneError, issuesToFields } from '../core/errors.js';
import { type Flags, FlagsSchema } from '../core/tenant-config/schema.js';
import { type Meter, MeterNameSchema, MeterSchema, TierMeterSchema } from '../core/usage/meters.js';

/**
 * The tier catalog: what each tier isolates and what it is allowed. One zod schema validates the
 * shipped default, an operator's override file, and feeds GET /v1/tiers' OpenAPI schema.
 */

export const ISOLATION_MODELS = ['pool', 'bridge', 'silo'] as const;
export const IsolationSchema = z.enum(ISOLATION_MODELS);
export type Isolation = z.infer<typeof IsolationSchema>;

export const TierNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    'lowercase letters, digits and -, 3 to 32 chars, starting with a letter',
  );

export const ThrottleSchema = z
  .object({
    /** Steady-state requests per second of the tenant's API key. */
    rateLimit: z.number().positive().max(10_000),
    burstLimit: z.number().int().positive().max(5_000),
    /** Requests per day; API Gateway usage plan quota. */
    dailyQuota: z.number().int().positive(),
  })
  .strict();

export const DatabaseSchema = z
  .object({
    instanceClass: z
      .string()
      .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'an RDS instance class such as db.t4g.micro'),
    allocatedStorageGb: z.number().int().min(20).max(65_536),
    multiAz: z.boolean(),
    backupRetentionDays: z.number().int().min(1).max(35),
  })
  .strict();

/**
 * AWS keeps 100 of an account's Lambda concurrency unreserved in each region: no function may
 * reserve into them (PutFunctionConcurrency refuses).
 */
export const LAMBDA_UNRESERVED_MIN = 100;
/** The regional Lambda concurrency quota of a new account; raised quotas go in the catalog. */
export const LAMBDA_CONCURRENCY_DEFAULT = 1000;

/**
 * A bridge or silo tenant's own queue (SQS, with a dead-letter queue, encrypted with the tenant's
 * KMS key, usable only by principals tagged with its TenantId).
 */
export const TenantQueueSchema = z
  .object({
    /** How long a received message stays invisible to other consumers. @default 30 */
    visibilityTimeoutSeconds: z.number().int().min(0).max(43_200).default(30),
    /** Receives before a message moves to the dead-letter queue. @default 5 */
    maxReceiveCount: z.number().int().min(1).max(1000).default(5),
  })
  .strict();

/**
 * Noisy-neighbour controls of a tier, provisioned in each tenant's stack (docs/tiers.md): a tenant
 * worker function with reserved Lambda concurrency (its cap and its guarantee), and a queue of its own.
 */
export const NoisyNeighbourSchema = z
  .object({
    /** ReservedConcurrentExecutions of the tenant's worker function; absent: no worker function. */
    reservedConcurrency: z
      .number()
      .int()
      .min(1, 'accepted: an integer from 1 to lambdaConcurrencyLimit less the 100 AWS keeps unreserved')
      .optional(),
    /** Absent: no tenant queue. */
    tenantQueue: TenantQueueSchema.optional(),
  })
  .strict();
export type NoisyNeighbour = z.infer<typeof NoisyNeighbourSchema>;

const StripePriceIdSchema = z.string().regex(/^price_[A-Za-z0-9_]{1,250}$/, 'a Stripe price id (price_…)');

/** What a tenant of the tier pays, in the billing provider (docs/billing.md). */
export const TierBillingSchema = z
  .object({
    /**
     * Stripe prices of the tier's subscription, one item each. The first is the tier's own (it
     * tells the Stripe webhook which tier a subscription is on); the rest, e.g. metered prices,
     * may be shared between tiers.
     */
    stripePriceIds: z.array(StripePriceIdSchema).min(1).max(20),
  })
  .strict();

export const TierSchema = z
  .object({
    name: TierNameSchema,
    displayName: z.string().min(1).max(64).optional(),
    isolation: IsolationSchema,
    throttle: ThrottleSchema,
    /** Required for bridge and silo (dedicated database); absent for pool. */
    database: DatabaseSchema.optional(),
    /** Silo only: give each tenant its own AWS account through Organizations. */
    dedicatedAccount: z.boolean().default(false),
    /** Tiers a tenant on this tier may move to (upgrade or downgrade). */
    allowedTransitions: z.array(TierNameSchema).default([]),
    /** Feature flag defaults of the tier's tenants; a tenant's config overrides them (docs/config.md). */
    features: FlagsSchema.default({}),
    /** The meters this tier is metered on, each with its included quantity per calendar month. */
    meters: z.record(MeterNameSchema, TierMeterSchema).default({}),
    /** Absent: tenants of the tier get a billing customer and no subscription. */
    billing: TierBillingSchema.optional(),
    /** Bridge and silo only: per-tenant Lambda reserved concurrency and queue. @default none */
    noisyNeighbour: NoisyNeighbourSchema.optional(),
    /** Regions a tenant of this tier may live in (within ALLOWED_REGIONS); absent: any allowed one. */
    regions: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'))
      .min(1)
      .optional(),
  })
  .strict()
  .superRefine((tier, ctx) => {
    const prices = tier.billing?.stripePriceIds ?? [];
    if (new Set(prices).size !== prices.length) {
      ctx.addIssue({ code: 'custom', path: ['billing', 'stripePriceIds'], message: 'a price appears twice' });
    }
    if (tier.isolation === 'pool' && tier.database) {
      ctx.addIssue({
        code: 'custom',
        path: ['database'],
        message: 'pool tiers share the pooled table; remove database',
      });
    }
    if (tier.isolation !== 'pool' && !tier.database) {
      ctx.addIssue({
        code: 'custom',
        path: ['database'],
        message: `${tier.isolation} tiers have a dedicated database; database is required`,
      });
    }
    if (tier.dedicatedAccount && tier.isolation !== 'silo') {
      ctx.addIssue({
        code: 'custom',
        path: ['dedicatedAccount'],
        message: 'only silo tiers can have a dedicated account',
      });
    }
    if (tier.noisyNeighbour && tier.isolation === 'pool') {
      ctx.addIssue({
        code: 'custom',
        path: ['noisyNeighbour'],
        message:
          'pool tenants share the platform and have no function or queue of their own; noisyNeighbour is for bridge and silo tiers',
      });
    }
    if (tier.throttle.burstLimit < tier.throttle.rateLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['throttle', 'burstLimit'],
        message: 'burstLimit must be at least rateLimit',
      });
    }
  });
export type Tier = z.infer<typeof TierSchema>;

export const TierCatalogSchema = z
  .object({
    tiers: z.array(TierSchema).min(1),
    /** Every meter usage events may name (core/usage/meters.ts). */
    meters: z.array(MeterSchema).default([]),
    /**
     * The `sum` meter whose usage share apportions pooled resources' shared cost among tenants
     * (docs/metering.md). Without it, shared cost is reported unapportioned.
     */
    sharedCostMeter: MeterNameSchema.optional(),
    /**
     * The regional Lambda concurrency quota of the accounts tenant stacks run in; a tier's
     * reservedConcurrency must leave AWS's 100 unreserved. @default 1000 (a new account's)
     */
    lambdaConcurrencyLimit: z
      .number()
      .int()
      .min(LAMBDA_UNRESERVED_MIN + 1)
      .default(LAMBDA_CONCURRENCY_DEFAULT),
  })
  .strict()
  .superRefine((catalog, ctx) => {
    const names = new Set<string>();
    catalog.tiers.forEach((t, i) => {
      if (names.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'name'], message: `duplicate tier ${t.name}` });
      names.add(t.name);
    });
    const ownPrices = new Map<string, string>();
    catalog.tiers.forEach((t, i) => {
      const own = t.billing?.stripePriceIds[0];
      if (!own) return;
      const other = ownPrices.get(own);
      if (other)
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'billing', 'stripePriceIds', 0],
          message: `tier ${other} has this first price already; a tier's first price names it`,
        });
      ownPrices.set(own, t.name);
    });
    catalog.tiers.forEach((t, i) => {
      t.allowedTransitions.forEach((target, j) => {
        if (!names.has(target)) {
          ctx.addIssue({
            code: 'custom',
            path: ['tiers', i, 'allowedTransitions', j],
            message: `unknown tier ${target}`,
          });
        } else if (target === t.name) {
          ctx.addIssue({
            code: 'custom',
            path: ['tiers', i, 'allowedTransitions', j],
            message: 'a tier cannot transition to itself',
          });
        }
      });
    });
    const meters = new Map<string, Meter>();
    catalog.meters.forEach((m, i) => {
      if (meters.has(m.name))
        ctx.addIssue({ code: 'custom', path: ['meters', i, 'name'], message: `duplicate meter ${m.name}` });
      meters.set(m.name, m);
    });
    catalog.tiers.forEach((t, i) => {
      for (const name of Object.keys(t.meters))
        if (!meters.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['tiers', i, 'meters', name],
            message: `unknown meter ${name}; declare it in meters`,
          });
    });
    const reservable = catalog.lambdaConcurrencyLimit - LAMBDA_UNRESERVED_MIN;
    catalog.tiers.forEach((t, i) => {
      const reserved = t.noisyNeighbour?.reservedConcurrency;
      if (reserved !== undefined && reserved > reservable)
        ctx.addIssue({
          code: 'custom',
          path: ['tiers', i, 'noisyNeighbour', 'reservedConcurrency'],
          message: `got ${reserved}; accepted: an integer from 1 to ${reservable} (lambdaConcurrencyLimit ${catalog.lambdaConcurrencyLimit} less the ${LAMBDA_UNRESERVED_MIN} AWS keeps unreserved)`,
        });
    });
    if (catalog.sharedCostMeter !== undefined) {
      const driver = meters.get(catalog.sharedCostMeter);
      if (driver?.aggregation !== 'sum')
        ctx.addIssue({
          code: 'custom',
          path: ['sharedCostMeter'],
          message: `must name a declared meter with aggregation sum (got ${catalog.sharedCostMeter})`,
        });
    }
  });
export type TierCatalogData = z.infer<typeof TierCatalogSchema>;

/** Included quantities per month of the shipped meters, by tier: requests, GB stored, seats. */
const included = (apiRequests: number, storageGb: number, seats: number) => ({
  'api-requests': { included: apiRequests },
  'storage-gb': { included: storageGb },
  seats: { included: seats },
});

export const DEFAULT_CATALOG: z.input<typeof TierCatalogSchema> = {
  meters: [
    { name: 'api-requests', unit: 'requests', aggregation: 'sum', description: 'Requests served' },
    { name: 'storage-gb', unit: 'GB', aggregation: 'max', description: 'Peak data stored' },
    { name: 'seats', unit: 'seats', aggregation: 'last', description: 'Users with access, latest count' },
  ],
  sharedCostMeter: 'api-requests',
  tiers: [
    {
      name: 'basic',
      displayName: 'Basic',
      isolation: 'pool',
      throttle: { rateLimit: 10, burstLimit: 20, dailyQuota: 10_000 },
      meters: included(100_000, 5, 5),
      allowedTransitions: ['standard', 'premium', 'enterprise'],
      features: { sso: false, 'audit-export': false, 'custom-domain': false, 'max-projects': 3 },
    },
    {
      name: 'standard',
      displayName: 'Standard',
      isolation: 'pool',
      throttle: { rateLimit: 50, burstLimit: 100, dailyQuota: 100_000 },
      meters: included(1_000_000, 50, 25),
      allowedTransitions: ['basic', 'premium', 'enterprise'],
      features: { sso: false, 'audit-export': true, 'custom-domain': false, 'max-projects': 20 },
    },
    {
      name: 'premium',
      displayName: 'Premium',
      isolation: 'bridge',
      throttle: { rateLimit: 200, burstLimit: 400, dailyQuota: 1_000_000 },
      database: {
        instanceClass: 'db.t4g.small',
        allocatedStorageGb: 20,
        multiAz: false,
        backupRetentionDays: 7,
      },
      meters: included(10_000_000, 200, 100),
      allowedTransitions: ['standard', 'enterprise'],
      features: { sso: true, 'audit-export': true, 'custom-domain': true, 'max-projects': 100 },
    },
    {
      name: 'enterprise',
      displayName: 'Enterprise',
      isolation: 'silo',
      throttle: { rateLimit: 1_000, burstLimit: 2_000, dailyQuota: 10_000_000 },
      database: {
        instanceClass: 'db.m7g.large',
        allocatedStorageGb: 100,
        multiAz: true,
        backupRetentionDays: 30,
      },
      meters: included(100_000_000, 1_000, 1_000),
      allowedTransitions: ['premium', 'enterprise-dedicated'],
      features: { sso: true, 'audit-export': true, 'custom-domain': true, 'max-projects': 1000 },
    },
    {
      name: 'enterprise-dedicated',
      displayName: 'Enterprise, dedicated account',
      isolation: 'silo',
      throttle: { rateLimit: 1_000, burstLimit: 2_000, dailyQuota: 10_000_000 },
      database: {
        instanceClass: 'db.m7g.large',
        allocatedStorageGb: 100,
        multiAz: true,
        backupRetentionDays: 30,
      },
      dedicatedAccount: true,
      meters: included(100_000_000, 1_000, 1_000),
      allowedTransitions: ['enterprise', 'premium'],
      features: { sso: true, 'audit-export': true, 'custom-domain': true, 'max-projects': 1000 },
    },
  ],
};

export class TierCatalog {
  readonly tiers: readonly Tier[];
  readonly meters: readonly Meter[];
  readonly sharedCostMeter: string | undefined;
  /** The accounts' regional Lambda concurrency quota the tiers' reservedConcurrency is checked against. */
  readonly lambdaConcurrencyLimit: number;
  private readonly byName: ReadonlyMap<string, Tier>;
  private readonly meterByName: ReadonlyMap<string, Meter>;

  constructor(data: TierCatalogData) {
    this.tiers = data.tiers;
    this.meters = data.meters;
    this.sharedCostMeter = data.sharedCostMeter;
    this.lambdaConcurrencyLimit = data.lambdaConcurrencyLimit;
    this.byName = new Map(data.tiers.map((t) => [t.name, t]));
    this.meterByName = new Map(data.meters.map((m) => [m.name, m]));
  }

  /** A declared meter, or undefined. */
  meter(name: string): Meter | undefined {
    return this.meterByName.get(name);
  }

  /** The included quantity per month of a meter on a tier, or undefined when the tier is not metered on it. */
  included(tier: string, meter: string): number | undefined {
    return this.byName.get(tier)?.meters[meter]?.included;
  }

  /** The meters a tier is metered on, in the catalog's order. */
  tierMeters(tier: string): string[] {
    const metered = this.byName.get(tier)?.meters ?? {};
    return this.meters.filter((m) => m.name in metered).map((m) => m.name);
  }

  /** Validates raw catalog data; throws CATALOG_INVALID naming every bad field. */
  static parse(raw: unknown, origin = 'tier catalog'): TierCatalog {
    const result = TierCatalogSchema.safeParse(raw);
    if (!result.success) {
      const fields = issuesToFields(result.error.issues);
      throw new ControlPlaneError(
        'CATALOG_INVALID',
        `invalid ${origin}:\n${fields.map((f) => `  - ${f.path}: ${f.message}`).join('\n')}`,
        { details: fields },
      );
    }
    return new TierCatalog(result.data);
  }

  /** The shipped catalog, or the override file when one is given. */
  static load(file?: string): TierCatalog {
    if (!file) return TierCatalog.parse(DEFAULT_CATALOG, 'default tier catalog');
    if (!existsSync(file))
      throw new ControlPlaneError('CATALOG_INVALID', `tier catalog file ${file} does not exist`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ControlPlaneError(
        'CATALOG_INVALID',
        `tier catalog file ${file} is not valid JSON: ${(e as Error).message}`,
      );
    }
    return TierCatalog.parse(raw, `tier catalog ${file}`);
  }

  /** The feature flag defaults of a tier (none for a tier the catalog no longer has). */
  features(name: string): Flags {
    return this.byName.get(name)?.features ?? {};
  }

  find(name: string): Tier | undefined {
    return this.byName.get(name);
  }

  /** The tier, or UNKNOWN_TIER listing the tiers there are. */
  get(name: string): Tier {
    const tier = this.byName.get(name);
    if (!tier) {
      throw new ControlPlaneError(
        'UNKNOWN_TIER',
        `unknown tier "${name}"; the catalog has ${this.names().join(', ')}`,
        {
          details: { tier: name, accepted: this.names() },
        },
      );
    }
    return tier;
  }

  names(): string[] {
    return this.tiers.map((t) => t.name);
  }

  /** The tier whose own (first) Stripe price is among `priceIds`, if one is. */
  tierOfPrices(priceIds: readonly string[]): Tier | undefined {
    return this.tiers.find((t) => {
      const own = t.billing?.stripePriceIds[0];
      return own !== undefined && priceIds.includes(own);
    });
  }

  /** Throws TIER_CHANGE_NOT_ALLOWED unless the catalog lets `from` move to `to`. */
  assertTransition(from: string, to: string): { from: Tier; to: Tier } {
    const source = this.get(from);
    const target = this.get(to);
    if (!source.allowedTransitions.includes(to)) {
      throw new ControlPlaneError(
        'TIER_CHANGE_NOT_ALLOWED',
        `tier ${from} cannot move to ${to}; allowed: ${source.allowedTransitions.join(', ') || 'none'}`,
        { details: { from, to, allowed: source.allowedTransitions } },
      );
    }
    return { from: source, to: target };
  }
}

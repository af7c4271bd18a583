import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ControlPlaneError, issuesToFields } from '../core/errors.js';

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
    /** Regions a tenant of this tier may live in (within ALLOWED_REGIONS); absent: any allowed one. */
    regions: z
      .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'))
      .min(1)
      .optional(),
  })
  .strict()
  .superRefine((tier, ctx) => {
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
  })
  .strict()
  .superRefine((catalog, ctx) => {
    const names = new Set<string>();
    catalog.tiers.forEach((t, i) => {
      if (names.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['tiers', i, 'name'], message: `duplicate tier ${t.name}` });
      names.add(t.name);
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
  });
export type TierCatalogData = z.infer<typeof TierCatalogSchema>;

export const DEFAULT_CATALOG: z.input<typeof TierCatalogSchema> = {
  tiers: [
    {
      name: 'basic',
      displayName: 'Basic',
      isolation: 'pool',
      throttle: { rateLimit: 10, burstLimit: 20, dailyQuota: 10_000 },
      allowedTransitions: ['standard', 'premium', 'enterprise'],
    },
    {
      name: 'standard',
      displayName: 'Standard',
      isolation: 'pool',
      throttle: { rateLimit: 50, burstLimit: 100, dailyQuota: 100_000 },
      allowedTransitions: ['basic', 'premium', 'enterprise'],
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
      allowedTransitions: ['standard', 'enterprise'],
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
      allowedTransitions: ['premium', 'enterprise-dedicated'],
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
      allowedTransitions: ['enterprise', 'premium'],
    },
  ],
};

export class TierCatalog {
  readonly tiers: readonly Tier[];
  private readonly byName: ReadonlyMap<string, Tier>;

  constructor(data: TierCatalogData) {
    this.tiers = data.tiers;
    this.byName = new Map(data.tiers.map((t) => [t.name, t]));
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

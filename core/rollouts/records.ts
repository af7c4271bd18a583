import { z } from 'zod';
import { ErrorInfoSchema, TenantIdSchema } from '../registry/records.js';
import { admissionCap, ON_FAILURE, ROLLOUT_STATUSES, TENANT_PROGRESS } from './lifecycle.js';

/** One zod schema per concept: rollout requests, records and progress, template versions. */

export const ISOLATIONS = ['pool', 'bridge', 'silo'] as const;
export const IsolationSchema = z.enum(ISOLATIONS);
export type Isolation = z.infer<typeof IsolationSchema>;

export const RolloutIdSchema = z.string().regex(/^ro_[0-9A-HJKMNP-TV-Z]{26}$/, 'ro_ followed by a ULID');

/** A template version id: the first 12 hex digits of the template body's sha256. */
export const VersionIdSchema = z.string().regex(/^[0-9a-f]{12}$/, '12 lowercase hex digits');

export const TemplateVersionSchema = z.object({
  isolation: IsolationSchema,
  versionId: VersionIdSchema,
  /** The full sha256 of the body. */
  sha256: z.string(),
  bytes: z.number().int(),
  createdAt: z.string(),
  /** The code's template version when it was registered (TEMPLATE_CODE_VERSION). */
  codeVersion: z.string(),
});
export type TemplateVersion = z.infer<typeof TemplateVersionSchema>;

/** A rollout holds at most this many tenants: its plan is one registry item (and one Map input). */
export const MAX_ROLLOUT_TENANTS = 5000;

const WaveSpecSchema = z.union([
  z.strictObject({ tiers: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ tenants: z.array(z.string().min(1)).min(1).max(MAX_ROLLOUT_TENANTS) }),
  z.strictObject({ percent: z.number().gt(0).max(100) }),
]);

const FailureBudgetSchema = z.union([
  z.strictObject({ count: z.int().nonnegative() }),
  z.strictObject({
    percent: z.number().min(0).max(100, 'a failure budget is at most 100 (percent of the selected tenants)'),
  }),
]);

export const RolloutRequestSchema = z
  .strictObject({
    /** Select by isolation model… */
    isolation: z.array(IsolationSchema).min(1).optional(),
    /** …or by tier (not both). */
    tiers: z.array(z.string().min(1)).min(1).optional(),
    /** `latest` (the code's current template of each isolation model) or a version id. */
    targetVersion: z.union([z.literal('latest'), VersionIdSchema]).default('latest'),
    waves: z.array(WaveSpecSchema).max(20).default([]),
    maxConcurrency: z.int().min(1).max(1000).default(10),
    failureBudget: FailureBudgetSchema.default({ count: 0 }),
    canary: z
      .strictObject({
        count: z.int().min(1).max(100),
        /** Seconds the canary must stay healthy before wave 1 starts. */
        bakeSeconds: z.int().min(0).max(86_400).default(0),
      })
      .optional(),
    /** Seconds between waves. */
    bakeSeconds: z.int().min(0).max(86_400).default(0),
    onFailure: z.enum(ON_FAILURE).default('pause'),
  })
  .refine((r) => !(r.isolation && r.tiers), {
    message: 'give isolation or tiers, not both',
    path: ['tiers'],
  })
  .meta({ id: 'RolloutRequest' });
export type RolloutRequest = z.output<typeof RolloutRequestSchema>;

export const RolloutPatchSchema = z
  .strictObject({
    maxConcurrency: z.int().min(1).max(1000).optional(),
    failureBudget: FailureBudgetSchema.optional(),
  })
  .refine((p) => p.maxConcurrency !== undefined || p.failureBudget !== undefined, {
    message: 'give maxConcurrency or failureBudget',
  })
  .meta({ id: 'RolloutPatch' });
export type RolloutPatch = z.output<typeof RolloutPatchSchema>;

export const RolloutWaveSchema = z.object({
  name: z.string(),
  canary: z.boolean(),
  tenantIds: z.array(TenantIdSchema),
});

export const RolloutCountsSchema = z.object({
  inflight: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  /** inflight + failed: what the strict budget caps. */
  exposure: z.number().int(),
});
export type RolloutCounts = z.infer<typeof RolloutCountsSchema>;

export const RolloutSchema = z.object({
  rolloutId: RolloutIdSchema,
  status: z.enum(ROLLOUT_STATUSES),
  request: z.record(z.string(), z.unknown()),
  /** The version each isolation model moves to. */
  targets: z.partialRecord(IsolationSchema, VersionIdSchema),
  /** A rollback's per-tenant versions (each tenant's previous one), over `targets`. */
  tenantTargets: z.record(z.string(), z.string()).optional(),
  /** A rollback: the rollout it undoes. */
  rollbackOf: z.string().optional(),
  /** The rollback rollout started when this one's budget tripped (onFailure rollback). */
  rolledBackBy: z.string().optional(),
  waves: z.array(RolloutWaveSchema),
  onFailure: z.enum(ON_FAILURE),
  maxConcurrency: z.number().int(),
  /** Failures tolerated (the budget as a count); `cap` is what admission compares exposure with. */
  budget: z.number().int(),
  cap: z.number().int(),
  bakeSeconds: z.number().int(),
  canaryBakeSeconds: z.number().int(),
  counts: RolloutCountsSchema,
  currentWave: z.number().int(),
  /** Passes run over the current wave (busy tenants are retried in later passes). */
  passes: z.number().int(),
  bakeUntil: z.string().optional(),
  /** Why it paused or failed. */
  reason: z.string().optional(),
  /** Executions started for it (a resume starts another). */
  executions: z.number().int(),
  actor: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
});
export type Rollout = z.infer<typeof RolloutSchema>;

/** A new PENDING rollout: counters at zero, the cap of its first wave. */
export function newRollout(
  fields: Pick<
    Rollout,
    | 'rolloutId'
    | 'request'
    | 'targets'
    | 'waves'
    | 'onFailure'
    | 'maxConcurrency'
    | 'budget'
    | 'bakeSeconds'
    | 'canaryBakeSeconds'
    | 'actor'
    | 'createdAt'
  > &
    Partial<Pick<Rollout, 'tenantTargets' | 'rollbackOf'>>,
): Rollout {
  return {
    ...fields,
    status: 'PENDING',
    cap: admissionCap(fields.budget, fields.waves[0]?.canary ?? false, 0),
    counts: { inflight: 0, succeeded: 0, failed: 0, exposure: 0 },
    currentWave: 0,
    passes: 0,
    executions: 1,
    version: 1,
    updatedAt: fields.createdAt,
  };
}

export const RolloutTenantSchema = z.object({
  rolloutId: RolloutIdSchema,
  tenantId: TenantIdSchema,
  wave: z.number().int(),
  status: z.enum(TENANT_PROGRESS),
  fromVersion: z.string().optional(),
  toVersion: z.string(),
  operationId: z.string().optional(),
  /** Times the tenant was found busy. */
  busyPasses: z.number().int().default(0),
  /** The pass it was last tried in. */
  pass: z.number().int().default(0),
  error: ErrorInfoSchema.optional(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
});
export type RolloutTenant = z.infer<typeof RolloutTenantSchema>;

/** A wave's progress as routes and the CLI show it. */
export const WaveProgressSchema = z.object({
  name: z.string(),
  canary: z.boolean(),
  total: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  running: z.number().int(),
  busy: z.number().int(),
  skipped: z.number().int(),
  remaining: z.number().int(),
  /** Seconds to go at this wave's pace so far; absent until one update ended. */
  etaSeconds: z.number().optional(),
});
export type WaveProgress = z.infer<typeof WaveProgressSchema>;

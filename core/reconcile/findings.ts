import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * What the reconciler found when it compared a tenant's registry record with AWS, as data. Pure:
 * classification (./classify.ts, ./drift.ts) makes findings, the store keeps them (./store.ts), the
 * API answers them (GET /v1/tenants/{id}/health). docs/reconcile.md.
 */

/**
 * - `missing`: the registry records it, AWS has it not (or not where recorded);
 * - `orphan`: AWS has it, tagged with a TenantId of no tenant or of an OFFBOARDED one;
 * - `state-mismatch`: both have it, in different states (disabled user, drifted resource, …);
 * - `version-skew`: the stack runs another template version than the registry records;
 * - `unchecked`: nothing could be compared (e.g. drift detection unavailable on this endpoint):
 *   said so plainly, never reported as in sync.
 */
export const FINDING_CLASSES = ['missing', 'orphan', 'state-mismatch', 'version-skew', 'unchecked'] as const;
export const FindingClassSchema = z.enum(FINDING_CLASSES);
export type FindingClass = z.infer<typeof FindingClassSchema>;

export const RESOURCE_KINDS = [
  'stack',
  'stack-resource',
  'parameters',
  'group',
  'user',
  'api-key',
  'usage-plan',
  'account',
  'drift-detection',
  /** The tenant as a whole: not compared (an operation in flight, a FAILED tenant). */
  'tenant',
] as const;
export const ResourceKindSchema = z.enum(RESOURCE_KINDS);
export type ResourceKind = z.infer<typeof ResourceKindSchema>;

export const SeveritySchema = z.enum(['info', 'warning', 'error']);
export type Severity = z.infer<typeof SeveritySchema>;

export const FindingSchema = z
  .object({
    /** Stable for the same difference on the same resource: a finding seen again keeps its id. */
    id: z.string(),
    class: FindingClassSchema,
    resource: ResourceKindSchema,
    /** The resource: stack name, `<stack>/<logical id>`, key id, username, account id. */
    ref: z.string(),
    severity: SeveritySchema,
    message: z.string(),
    expected: z.string().optional(),
    actual: z.string().optional(),
    /** Repair (POST /v1/tenants/{id}/repair) brings it back; orphans are never repaired. */
    repairable: z.boolean(),
    /** When this difference was first seen (kept while it lasts). */
    firstSeenAt: z.string(),
  })
  .meta({ id: 'Finding' });
export type Finding = z.infer<typeof FindingSchema>;

/** A finding as classification makes it: the id and first sighting are added by `finding`. */
export type FindingInput = Omit<Finding, 'id' | 'firstSeenAt' | 'severity'> & { severity?: Severity };

/** The default severity of a class: a missing resource breaks the tenant, the rest is drift. */
const SEVERITY: Record<FindingClass, Severity> = {
  missing: 'error',
  orphan: 'warning',
  'state-mismatch': 'warning',
  'version-skew': 'warning',
  unchecked: 'info',
};

export function findingId(f: Pick<Finding, 'class' | 'resource' | 'ref'>): string {
  return `f_${createHash('sha256').update(`${f.class}|${f.resource}|${f.ref}`).digest('hex').slice(0, 16)}`;
}

export function finding(input: FindingInput, at: string): Finding {
  return {
    ...input,
    severity: input.severity ?? SEVERITY[input.class],
    id: findingId(input),
    firstSeenAt: at,
  };
}

/** `unknown`: never reconciled, or not compared (see its finding); a tenant nothing was compared for is never called healthy. */
export const HEALTH_STATUSES = ['healthy', 'drifted', 'degraded', 'unknown'] as const;
export const HealthStatusSchema = z.enum(HEALTH_STATUSES);
export type HealthStatus = z.infer<typeof HealthStatusSchema>;

/**
 * `degraded`: something the tenant needs is missing or broken (an error finding); `drifted`: AWS
 * differs from the record in a way the tenant still works with; `healthy`: nothing differs.
 * `unchecked` findings (info) do not make a tenant healthy or unhealthy: they say what was not looked at.
 */
export function healthStatus(
  findings: readonly Pick<Finding, 'severity' | 'class' | 'resource'>[],
): HealthStatus {
  // Not compared at all (an operation in flight, AWS unreadable): nothing is known.
  if (findings.some((f) => f.class === 'unchecked' && f.resource === 'tenant')) return 'unknown';
  if (findings.some((f) => f.severity === 'error')) return 'degraded';
  if (findings.some((f) => f.severity === 'warning')) return 'drifted';
  return 'healthy';
}

/**
 * This run's findings with their first sighting carried over from the last run's, and which of them
 * are new (each new one is published as `tenant.drift_detected`).
 */
export function mergeFindings(
  previous: readonly Finding[],
  current: readonly Finding[],
): { findings: Finding[]; fresh: Finding[] } {
  const before = new Map(previous.map((f) => [f.id, f]));
  const findings = current.map((f) => {
    const seen = before.get(f.id);
    return seen ? { ...f, firstSeenAt: seen.firstSeenAt } : f;
  });
  return { findings, fresh: findings.filter((f) => !before.has(f.id)) };
}

export const TenantHealthSchema = z
  .object({
    tenantId: z.string(),
    status: HealthStatusSchema,
    /** When the reconciler last compared this tenant; absent: never. */
    checkedAt: z.string().optional(),
    /** The reconcile run that did. */
    runId: z.string().optional(),
    findings: z.array(FindingSchema),
  })
  .meta({ id: 'TenantHealth' });
export type TenantHealth = z.infer<typeof TenantHealthSchema>;

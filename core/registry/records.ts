import { z } from 'zod';
import { OPERATION_STATUSES, OPERATION_TYPES, TENANT_STATES } from '../lifecycle.js';

/**
 * The registry's records, one zod schema each. The same schemas validate what the registry reads
 * back, and describe the API's responses in OpenAPI.
 */

/**
 * The one slug rule: the registry, the API and the templates' TenantSlug parameter all use it.
 * No `--`: slugs name stacks and RDS resources, which refuse consecutive hyphens.
 */
export const SLUG_PATTERN = /^[a-z](?!.*--)[a-z0-9-]{1,30}[a-z0-9]$/;
export const SLUG_ACCEPTED =
  'a DNS-safe slug: 3 to 32 lowercase letters, digits or single hyphens, starting with a letter, not ending with -';
export const SlugSchema = z.string().regex(SLUG_PATTERN, SLUG_ACCEPTED);

export const TenantIdSchema = z.string().regex(/^t_[0-9A-HJKMNP-TV-Z]{26}$/, 't_ followed by a ULID');
export const OperationIdSchema = z.string().regex(/^op_[0-9A-HJKMNP-TV-Z]{26}$/, 'op_ followed by a ULID');

export const TenantStateSchema = z.enum(TENANT_STATES);
export const OperationTypeSchema = z.enum(OPERATION_TYPES);
export const OperationStatusSchema = z.enum(OPERATION_STATUSES);

export const ErrorInfoSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** The step that failed first (an operation's lastError), never a compensation step. */
  step: z.string().optional(),
  /** Compensation steps that failed too, each with its own error; every one of them ran. */
  undoFailed: z.array(z.object({ step: z.string(), code: z.string(), message: z.string() })).optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;

/** A tenant stack's role: the one serving it, the one a tier change builds, the one a change retires. */
export const STACK_ROLES = ['current', 'target', 'retiring'] as const;
export const StackRoleSchema = z.enum(STACK_ROLES);
export type StackRole = z.infer<typeof StackRoleSchema>;

/** Records written before roles had their own field named them in `name` (`tenant` = current). */
const LEGACY_ROLES: Record<string, StackRole> = { tenant: 'current', target: 'target', retiring: 'retiring' };

/** Older records lack `role` and `region`: the role comes from `name`, the region from the stack's ARN. */
function upgradeStackRef(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const ref = raw as Record<string, unknown>;
  if (ref.role !== undefined && ref.region !== undefined) return raw;
  const arnRegion = typeof ref.arn === 'string' ? (ref.arn.split(':')[3] ?? '') : '';
  return {
    ...ref,
    role: ref.role ?? LEGACY_ROLES[String(ref.name)] ?? ref.name,
    region: ref.region ?? arnRegion,
  };
}

/**
 * One stack of a tenant. A tenant's stacks are identified by what they are, (role, account,
 * region), never by name: two silo stacks of one tenant carry the same name in two accounts.
 */
export const StackRefSchema = z.preprocess(
  upgradeStackRef,
  z.object({
    role: StackRoleSchema,
    stackName: z.string(),
    /** The stack id; empty while a create has been asked for and not yet seen. */
    arn: z.string(),
    templateVersion: z.string(),
    status: z.string(),
    /** The tenant's dedicated account the stack lives in; absent: the control plane's own account. */
    accountId: z.string().optional(),
    region: z.string(),
    /** Times a delete ended DELETE_FAILED; reported after 3, never dropped. */
    deleteAttempts: z.number().int().optional(),
  }),
);
export type StackRef = z.infer<typeof StackRefSchema>;

/** Per-tenant identity and API-access records the workflows manage through the SDKs. */
export const TenantAccessSchema = z.object({
  userPoolId: z.string().optional(),
  groupName: z.string().optional(),
  adminUsername: z.string().optional(),
  apiKeyId: z.string().optional(),
  usagePlanId: z.string().optional(),
  /**
   * What the current suspension blocked, written before each block so a re-run or crash never
   * loses it; resume restores exactly this (a user the tenant disabled itself stays disabled).
   * Absent: no suspension recorded (records from before this field: resume enables the group).
   */
  suspension: z
    .object({
      /** Users that were enabled and that suspension disabled. */
      disabledUsers: z.array(z.string()).default([]),
      /** True when the API key was enabled and suspension disabled it. */
      apiKeyDisabled: z.boolean().default(false),
      /** True while the tenant role carries the suspension's deny policy. */
      roleBlocked: z.boolean().default(false),
    })
    .optional(),
});
export type TenantAccess = z.infer<typeof TenantAccessSchema>;

export const TenantSchema = z.object({
  tenantId: TenantIdSchema,
  slug: SlugSchema,
  name: z.string(),
  tier: z.string(),
  isolation: z.enum(['pool', 'bridge', 'silo']),
  state: TenantStateSchema,
  adminEmail: z.string(),
  region: z.string(),
  /** Dedicated-account tenants: the AWS account, the CreateAccount request that made it, when it was closed. */
  accountId: z.string().optional(),
  accountRequestId: z.string().optional(),
  accountClosedAt: z.string().optional(),
  allowedPrincipals: z.array(z.string()).default([]),
  stacks: z.array(StackRefSchema).default([]),
  /** Stack outputs the tenant needs (e.g. the PrivateLink service name). */
  outputs: z.record(z.string(), z.string()).default({}),
  access: TenantAccessSchema.default({}),
  templateVersion: z.string().optional(),
  version: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  currentOperationId: z.string().optional(),
  lastError: ErrorInfoSchema.optional(),
  /** Set when the tenant reached OFFBOARDED; the record and audit trail are kept. */
  offboardedAt: z.string().optional(),
});
export type Tenant = z.infer<typeof TenantSchema>;

export const StepStatusSchema = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'WAITING', 'COMPENSATED']);
export const StepSchema = z.object({
  name: z.string(),
  status: StepStatusSchema,
  startedAt: z.string(),
  endedAt: z.string().optional(),
  /** A human-readable note shown while the step runs, e.g. "waiting for account slot". */
  detail: z.string().optional(),
  error: ErrorInfoSchema.optional(),
});
export type Step = z.infer<typeof StepSchema>;

export const OperationSchema = z.object({
  operationId: OperationIdSchema,
  tenantId: TenantIdSchema,
  type: OperationTypeSchema,
  status: OperationStatusSchema,
  steps: z.array(StepSchema).default([]),
  actor: z.string(),
  idempotencyKey: z.string().optional(),
  /** Operation-specific input, e.g. `{ tier }` for change-tier or `{ reason }` for suspend. */
  input: z.record(z.string(), z.unknown()).default({}),
  /** The control-plane process (local engine) running it; absent on Step Functions. */
  runner: z.string().optional(),
  /** Set while the operation waits on the application plane (migration hand-off). */
  waitingFor: z.string().optional(),
  waitingSince: z.string().optional(),
  /** The application plane's answer to the hand-off. */
  callback: z
    .object({
      status: z.enum(['succeeded', 'failed']),
      reason: z.string().optional(),
      actor: z.string(),
      at: z.string(),
    })
    .optional(),
  error: ErrorInfoSchema.optional(),
  /** A cancel asked for (POST /v1/operations/{id}/cancel): the next step stops and compensation runs. */
  cancel: z.object({ actor: z.string(), at: z.string() }).optional(),
  /** Which run of the operation this is: 2 after its first retry (absent: the first). */
  attempt: z.number().int().positive().optional(),
  /** The earlier runs a retry ended: when, who retried, and why each failed. */
  previousAttempts: z
    .array(
      z.object({
        attempt: z.number().int().positive(),
        endedAt: z.string().optional(),
        error: ErrorInfoSchema.optional(),
        retriedBy: z.string(),
      }),
    )
    .optional(),
  /**
   * Counts every change (a step started, its detail, its end, the status, the end): a long poll
   * given `since=<version>` answers as soon as it differs. Older records lack it: 0.
   */
  version: z.number().int().nonnegative().default(0),
  createdAt: z.string(),
  updatedAt: z.string(),
  endedAt: z.string().optional(),
});
export type Operation = z.infer<typeof OperationSchema>;

export const AuditEventSchema = z.object({
  eventId: z.string(),
  tenantId: TenantIdSchema,
  at: z.string(),
  actor: z.string(),
  /** What happened, e.g. `tenant.created`, `state.changed`, `operation.started`. */
  action: z.string(),
  operationId: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | undefined;
}

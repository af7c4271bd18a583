/**
 * The one error catalogue. Every layer throws `ControlPlaneError` with a code from here; the API
 * renders it as `{ error: { code, message, details? } }` with the catalogue's HTTP status, so
 * clients can match on codes that never change. Documented in docs/errors.md (a test keeps the two
 * in step).
 */

export interface ErrorSpec {
  readonly status: number;
  /** What the code means, for docs/errors.md. */
  readonly description: string;
}

export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: {
    status: 400,
    description: 'The request does not match its schema; details lists each field.',
  },
  INVALID_JSON: { status: 400, description: 'The request body is not valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The request body is not application/json.' },
  BODY_TOO_LARGE: { status: 413, description: 'The request body is larger than the configured limit.' },
  UNKNOWN_QUERY_PARAMETER: {
    status: 400,
    description: 'The query string has a parameter the route does not take; details lists the accepted ones.',
  },
  HEADERS_TOO_LARGE: {
    status: 431,
    description: "The request's headers are larger than the server accepts.",
  },
  URI_TOO_LONG: {
    status: 414,
    description: 'A path segment of the URL is longer than any id the API takes.',
  },
  BAD_REQUEST: { status: 400, description: 'The HTTP request itself is malformed.' },
  REQUEST_TIMEOUT: { status: 408, description: 'The request did not arrive in full in time.' },
  UNKNOWN_TIER: { status: 400, description: 'The tier is not in the tier catalog.' },
  TIER_CHANGE_NOT_ALLOWED: {
    status: 409,
    description: "The tier catalog does not allow moving from the tenant's tier to this one.",
  },
  INVALID_PARAMETER: { status: 400, description: 'A tenant value CloudFormation would reject.' },
  UNAUTHENTICATED: { status: 401, description: 'No credential, or one that is not recognised.' },
  FORBIDDEN: { status: 403, description: 'The credential lacks the scope this route needs.' },
  INVALID_SIGNATURE: { status: 401, description: 'The webhook signature does not match the body.' },
  SIGNATURE_EXPIRED: { status: 401, description: 'The webhook timestamp is more than 5 minutes off.' },
  WEBHOOK_NOT_CONFIGURED: {
    status: 503,
    description:
      "The webhook's signing secret is not configured (SIGNUP_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET), so it accepts nothing.",
  },
  TENANT_NOT_FOUND: { status: 404, description: 'No tenant with that id or slug.' },
  OPERATION_NOT_FOUND: { status: 404, description: 'No operation with that id.' },
  EXPORT_NOT_FOUND: {
    status: 404,
    description: 'The tenant has no complete data export (or no such file in it).',
  },
  EXPORTS_UNAVAILABLE: {
    status: 503,
    description: 'This instance of the API cannot read tenant exports (no artifact bucket wired).',
  },
  ROUTE_NOT_FOUND: { status: 404, description: 'No such route.' },
  TENANT_EXISTS: { status: 409, description: 'A tenant with that slug exists already.' },
  OPERATION_IN_PROGRESS: {
    status: 409,
    description: 'The tenant has an operation in flight; one at a time.',
  },
  INVALID_STATE_TRANSITION: {
    status: 409,
    description: "The tenant's lifecycle state does not allow this operation.",
  },
  VERSION_CONFLICT: { status: 409, description: 'The record changed since it was read (optimistic lock).' },
  NOT_WAITING_FOR_CALLBACK: { status: 409, description: 'The operation waits on no callback.' },
  API_KEY_EXISTS: {
    status: 409,
    description: 'An API key with that name exists already; names identify the actor in the audit trail.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    description: 'The Idempotency-Key was used before with a different request.',
  },
  IDEMPOTENCY_IN_FLIGHT: {
    status: 409,
    description: 'A request with this Idempotency-Key is still being processed; retry.',
  },
  CONFIG_INVALID: { status: 500, description: 'The configuration failed validation at start-up.' },
  CATALOG_INVALID: { status: 500, description: 'The tier catalog failed validation at start-up.' },
  LOCAL_AWS_UNAVAILABLE: {
    status: 503,
    description: 'The local AWS emulator (moto) could not be started or reached.',
  },
  AWS_THROTTLED: { status: 503, description: 'AWS throttled the call after retries.' },
  AWS_TRANSIENT: {
    status: 503,
    description: 'AWS answered with a server fault or the connection dropped, after retries; retry later.',
  },
  AWS_ERROR: { status: 502, description: 'An AWS call failed; the message carries the AWS reason.' },
  STACK_FAILED: {
    status: 502,
    description: 'A CloudFormation stack operation failed; the message carries the reason.',
  },
  STACK_DELETE_FAILED: {
    status: 502,
    description: 'A stack could not be deleted after retries; it is reported, never marked gone.',
  },
  ACCOUNT_CREATION_FAILED: { status: 502, description: 'Organizations could not create the tenant account.' },
  CALLBACK_TIMEOUT: {
    status: 504,
    description: 'The application plane did not answer the migration hand-off in time.',
  },
  MIGRATION_REJECTED: { status: 409, description: 'The application plane reported the migration as failed.' },
  WORKFLOW_FAILED: { status: 500, description: 'A workflow step failed in a way no other code describes.' },
  TASK_ARGS_INVALID: {
    status: 500,
    description:
      "A Task state passed args its task's schema rejects (workflows/tasks/contract.ts); nothing ran.",
  },
  SHUTTING_DOWN: {
    status: 503,
    description: 'The control plane is shutting down; retry on another instance.',
  },
  INTERNAL: { status: 500, description: 'An unexpected error; the log has the request id.' },
  CAPABILITY_UNAVAILABLE: {
    status: 501,
    description:
      'The AWS endpoint in use (e.g. the local emulator) does not implement a call this request needs; nothing was done or written.',
  },
  QUOTA_EXCEEDED: {
    status: 409,
    description:
      'Onboarding this tenant would exceed an AWS quota; details name the quota, its usage and its limit. Nothing was written.',
  },
  // ---------------------------------------------------------------- metering and cost (docs/metering.md)
  UNKNOWN_METER: { status: 400, description: 'The meter is not declared in the tier catalog.' },
  METER_NOT_IN_TIER: {
    status: 400,
    description: "The tenant's tier is not metered on this meter (the catalog lists a tier's meters).",
  },
  USAGE_QUANTITY_INVALID: {
    status: 400,
    description: 'A usage quantity that is not a finite number from 0 to the limit.',
  },
  USAGE_TIMESTAMP_OUT_OF_RANGE: {
    status: 400,
    description: 'A usage timestamp too far in the past or the future of the control plane clock.',
  },
  USAGE_BATCH_TOO_LARGE: { status: 413, description: 'A usage batch with more events than accepted.' },
  USAGE_BATCH_REJECTED: {
    status: 400,
    description: 'Every event of the usage batch was refused; nothing was recorded. details lists each.',
  },
  TENANT_NOT_METERED: { status: 409, description: 'The tenant is offboarded; it is metered no more.' },
  INVALID_TIME_RANGE: {
    status: 400,
    description: 'A from/to range that is empty, reversed, too long or not aligned as the route needs.',
  },
  COST_DATA_UNAVAILABLE: {
    status: 503,
    description: 'Cost Explorer cannot answer (not enabled, no data yet, or not wired on this instance).',
  },
  BILLING_ERROR: {
    status: 502,
    description:
      'The billing provider (Stripe) refused a call; the message carries its error type, code and reason.',
  },
  BILLING_UNAVAILABLE: {
    status: 503,
    description:
      'The billing provider could not be reached, answered a server fault or rate-limited the call, after retries; retried by the workflow.',
  },
  OPERATION_NOT_RETRYABLE: {
    status: 409,
    description:
      'The operation cannot be retried: it has not failed, or the tenant changed since it ended (a later operation).',
  },
  OPERATION_NOT_CANCELLABLE: {
    status: 409,
    description:
      'The operation cannot be cancelled: it has ended, it has nothing to undo (offboard), or it is past its point of no return.',
  },
  RECONCILE_UNAVAILABLE: {
    status: 503,
    description:
      'This API instance does not run the reconciler (the API function on AWS); the scheduled workflow does.',
  },
  RECONCILE_RUN_NOT_FOUND: { status: 404, description: 'No reconcile run with that id.' },
  OPERATION_CANCELLED: {
    status: 409,
    description: "The operation was cancelled at the caller's request; its compensation ran (lastError).",
  },
  EVENT_STREAM_UNAVAILABLE: {
    status: 503,
    description:
      'The event stream is not served here (workflows run on Step Functions) or has as many streams open as it serves.',
  },
  API_KEY_NOT_FOUND: {
    status: 404,
    description: 'No API key has that name (it was never created, or was revoked).',
  },
  REGION_NOT_ALLOWED: {
    status: 400,
    description: "The region is not one the deployment (ALLOWED_REGIONS) or the tenant's tier allows.",
  },
  REGION_NOT_AVAILABLE: {
    status: 400,
    description:
      'The region is allowed, but this deployment (workflows on Step Functions) has no platform there (PLATFORM_REGIONS).',
  },
  PORT_IN_USE: {
    status: 500,
    description: 'The API port (PORT on HOST) is taken or not allowed; found before anything started.',
  },
  API_KEY_MANAGED: {
    status: 409,
    description: 'The admin key is set by configuration and cannot be revoked or rotated through the API.',
  },
  CONSOLE_UNAVAILABLE: {
    status: 503,
    description: 'The web console is not served by this process, or its bundle could not be built.',
  },
  UNKNOWN_TEMPLATE_VERSION: {
    status: 400,
    description: 'The template version is not one the control plane has registered for that isolation model.',
  },
  ROLLOUT_EMPTY_SELECTION: {
    status: 400,
    description: 'The rollout selects no tenant (isolation, tiers and waves together match none).',
  },
  ROLLOUT_TOO_LARGE: {
    status: 400,
    description: 'The rollout selects more tenants than one rollout may hold; split it by tier or isolation.',
  },
  ROLLOUT_OVERLAP: {
    status: 409,
    description: 'Another rollout that has not ended holds some of the selected tenants.',
  },
  ROLLOUT_NOT_FOUND: { status: 404, description: 'No rollout with this id.' },
  ROLLOUT_INVALID_TRANSITION: {
    status: 409,
    description:
      "The rollout's status does not allow this action (e.g. resume a rollout that is not paused).",
  },
  ROLLOUT_CONFLICT: {
    status: 409,
    description: 'The rollout changed while the request was applied; read it again and retry.',
  },
  INVALID_EMAIL: {
    status: 400,
    description:
      'The email address is not one a tenant user can have (one @, a domain with a dot, no spaces).',
  },
  TENANT_USER_EXISTS: {
    status: 409,
    description: 'A user with that email exists already in the tenant user pool (in this or another tenant).',
  },
  TENANT_USER_NOT_FOUND: { status: 404, description: "No user with that name in the tenant's group." },
  TENANT_NOT_ACTIVE: {
    status: 403,
    description:
      'The tenant is suspended, offboarded or not yet provisioned: it gets no credentials, users or application access.',
  },
  TOKEN_INVALID: {
    status: 401,
    description:
      'The tenant token failed verification (signature, issuer, audience, expiry or token_use), or carries no tenant claim.',
  },
  TENANT_ROLE_MISSING: {
    status: 409,
    description:
      'The tenant has no role to vend credentials for (its stack has no TenantRoleArn output yet).',
  },
  STS_LIMIT_EXCEEDED: {
    status: 400,
    description:
      'A credentials request exceeds an STS limit (session tags: 50, key 128 and value 256 characters; session policy: 2,048 characters, packed size); the message names it.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class ControlPlaneError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ControlPlaneError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isControlPlaneError(e: unknown, code?: ErrorCode): e is ControlPlaneError {
  return e instanceof ControlPlaneError && (code === undefined || e.code === code);
}

/** A short, log-safe description of any thrown value. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Turns zod issues into `{ path, message }` pairs that name the field and what is accepted. */
export function issuesToFields(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): FieldIssue[] {
  return issues.map((i) => ({
    path: i.path.length === 0 ? '(root)' : i.path.map((p) => String(p)).join('.'),
    message: i.message,
  }));
}

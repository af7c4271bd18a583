import type { AwsClients } from '../../core/aws/clients.js';
import { ControlPlaneError, describeError, ERROR_CATALOGUE, type ErrorCode } from '../../core/errors.js';
import type { LeaseGate } from '../../core/registry/leases.js';
import type { Operation, Tenant } from '../../core/registry/records.js';
import type { Registry, StepEnd } from '../../core/registry/registry.js';
import type { PlatformOutputs, SynthesisService, TemplateTarget } from '../../templates/index.js';
import type { Tier, TierCatalog } from '../../tiers/catalog.js';
import type { EventPublisher } from '../events.js';
import type { RateLimiter } from '../gates.js';

/** Everything the task handlers touch, injected (Temporal's `createActivities(deps)` shape). */
export interface TaskDeps {
  readonly registry: Registry;
  readonly clients: AwsClients;
  readonly catalog: TierCatalog;
  readonly synth: SynthesisService;
  /** The platform's shared resources (VPC, pooled table, bus, user pool, usage plans). */
  readonly platform: () => PlatformOutputs;
  readonly target: TemplateTarget;
  /** Resource name prefix, e.g. `tcp`. */
  readonly prefix: string;
  readonly events: EventPublisher;
  /** At most N stack operations in flight across all workflows. */
  readonly stackGate: LeaseGate;
  /** Cognito user-creating calls per second. */
  readonly cognitoLimiter: RateLimiter;
  /** At most 5 account creations in flight (Organizations' limit), FIFO. */
  readonly accountGate: LeaseGate;
  readonly accounts: { readonly emailPattern: string; readonly ouPath: string; readonly roleName: string };
  readonly migrationTimeoutSeconds: number;
  /** Days a tenant's data export is kept (recorded in its manifest). @default 90 */
  readonly exportRetentionDays?: number;
  readonly clock: () => Date;
  /** CloudFormation's execution role for stacks in the control plane's own account (AWS). */
  readonly cloudFormationRoleArn?: string | undefined;
  /** Permissions boundary passed to tenant templates for their roles (AWS). */
  readonly tenantRoleBoundaryArn?: string | undefined;
  /** Told about every operation that ended (metrics). */
  readonly onFinished?: (operation: Operation) => void;
}

/** What every Task state passes (see definitions/builder.ts). */
export interface TaskInput {
  readonly task: string;
  readonly step: string;
  readonly operationId: string;
  readonly tenantId: string;
  readonly args: Record<string, unknown>;
  /** True for a task called in a Task → Choice → Wait loop until it answers `done`. */
  readonly poll?: boolean;
  /** The execution's base poll interval; pending answers back off from it. */
  readonly pollSeconds?: number;
  /** The whole execution state, for handlers that read a caught error. */
  readonly state?: Record<string, unknown>;
}

/** Polling handlers answer `{ done: false, detail }` until the thing they wait on has settled. */
export interface PollResult {
  readonly done: boolean;
  readonly detail?: string;
}

export type TaskResult = PollResult | Record<string, unknown> | undefined;

/** What the task runner lets a handler do about the step's own record. */
export interface StepCall {
  /**
   * The step's successful end, for the handler's last registry write (`patchTenant`'s `endsStep`),
   * so it lands in the same transaction and the runner writes nothing more. Undefined when this
   * process does not know when the step started (a step resumed from another process).
   */
  end(detail?: string): StepEnd | undefined;
}

export type TaskHandler = (input: TaskInput, deps: TaskDeps, step?: StepCall) => Promise<TaskResult>;

export interface TaskScope {
  readonly tenant: Tenant;
  readonly operation: Operation;
}

/** The tenant and the operation a step works on, in one BatchGetItem. */
export function loadScope(deps: TaskDeps, input: TaskInput): Promise<TaskScope> {
  return deps.registry.getScope(input.tenantId, input.operationId);
}

/** The tier a step works on: the tenant's current one, or the operation's target. */
export function tierFor(deps: TaskDeps, scope: TaskScope, which: unknown): Tier {
  if (which === 'target') {
    const target = scope.operation.input.tier;
    if (typeof target !== 'string')
      throw new ControlPlaneError(
        'WORKFLOW_FAILED',
        `operation ${scope.operation.operationId} has no target tier`,
      );
    return deps.catalog.get(target);
  }
  return deps.catalog.get(scope.tenant.tier);
}

/** Task errors carry the catalogue code as their name: that is what ASL Retry/Catch match on. */
export class TaskError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'InternalErrorException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'TransactionConflictException',
]);

/** Maps anything a handler throws to a TaskError whose name is a catalogue code. */
export function toTaskError(e: unknown): TaskError {
  if (e instanceof TaskError) return e;
  if (e instanceof ControlPlaneError) return new TaskError(e.code, e.message);
  const err = e as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    message?: string;
  };
  const status = err.$metadata?.httpStatusCode ?? 0;
  const name = err.name ?? err.code ?? 'Error';
  if (name in ERROR_CATALOGUE) return new TaskError(name as ErrorCode, err.message ?? name);
  if (
    TRANSIENT_NAMES.has(name) ||
    TRANSIENT_NAMES.has(err.code ?? '') ||
    err.$retryable ||
    status >= 500 ||
    /deserialization error|socket hang up|timed out/i.test(err.message ?? '')
  ) {
    return new TaskError(
      /thrott|limit|toomany/i.test(name) ? 'AWS_THROTTLED' : 'AWS_TRANSIENT',
      describeError(e),
    );
  }
  return new TaskError('AWS_ERROR', describeError(e));
}

/** True for AWS "not found" answers, whatever the service calls them. */
export function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string }).name ?? '';
  const message = (e as { message?: string }).message ?? '';
  return /NotFound|NoSuch|DoesNotExist/i.test(name) || /does not exist|not found/i.test(message);
}

export function ignoreNotFound(e: unknown): undefined {
  if (isNotFound(e)) return undefined;
  throw e;
}

/** Names the workflows give per-tenant resources; deterministic, so a re-run finds them. */
export const names = {
  group: (tenant: Tenant) => `tenant-${tenant.tenantId}`,
  adminUser: (tenant: Tenant) => `${tenant.slug}-admin`,
  apiKey: (prefix: string, tenant: Tenant) => `${prefix}-${tenant.tenantId}`,
  snapshot: (stackName: string, operationId: string) =>
    `${stackName}-final-${operationId.slice(-10).toLowerCase()}`,
  /** ClientRequestToken: [a-zA-Z0-9-]{1,128}, one per operation step. */
  token: (operationId: string, step: string, stackName: string) =>
    `${operationId}-${step}-${stackName}`.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, 128),
};

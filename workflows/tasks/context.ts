import type { AwsClients } from '../../core/aws/clients.js';
import { isNotFound as isAwsNotFound, toControlPlaneError } from '../../core/aws/errors.js';
import type { BillingAccounts } from '../../core/billing/accounts.js';
import type { BillingProvider } from '../../core/billing/provider.js';
import type { UsageSource } from '../../core/billing/usage.js';
import { ControlPlaneError, type ErrorCode } from '../../core/errors.js';
import { CANCEL_RULES } from '../../core/lifecycle.js';
import type { LeaseGate } from '../../core/registry/leases.js';
import type { ErrorInfo, Operation, Step, Tenant } from '../../core/registry/records.js';
import type { Registry, StepEnd, TenantPatch } from '../../core/registry/registry.js';
import type { TemplateVersionStore } from '../../core/rollouts/template-versions.js';
import type { TenantDomains } from '../../core/tenant-config/store.js';
import type { PlatformOutputs, SynthesisService, TemplateTarget } from '../../templates/index.js';
import type { Tier, TierCatalog } from '../../tiers/catalog.js';
import type { EventPublisher } from '../events.js';
import type { RateLimiter } from '../gates.js';
import type { RegionalPlatforms } from '../platforms.js';
import type { TaskArgs, TaskName } from './contract.js';

/** Everything the task handlers touch, injected (Temporal's `createActivities(deps)` shape). */
export interface TaskDeps {
  readonly registry: Registry;
  /** The clients of the region the step works in (the tenant's: see `regions`). */
  readonly clients: AwsClients;
  readonly catalog: TierCatalog;
  readonly synth: SynthesisService;
  /** The shared resources (VPC, pooled table, bus, user pool, usage plans) of the step's region. */
  readonly platform: () => PlatformOutputs;
  /**
   * Every region's platform and clients. The task runner hands each handler the deps of its
   * tenant's region (a tenant without a recorded region is at home); absent: all at home.
   */
  readonly regions?: RegionalPlatforms;
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
  /** The billing provider and its records; absent when none is configured (billing steps are skipped). */
  readonly billing?: BillingDeps | undefined;
  /** Told about every step change the runner recorded (live progress: long polls, the event stream). */
  readonly onStep?: (change: StepChange) => void;
  /** Tenants' config documents: offboarding releases the custom domain's certificate through it. */
  readonly tenantDomains: TenantDomains;
  /** Registered template versions and their bodies (rollouts). */
  readonly templateVersions?: TemplateVersionStore;
}

export interface BillingDeps {
  readonly provider: BillingProvider;
  readonly accounts: BillingAccounts;
  /** Where usage is read from for meter events; absent until the metering store is wired. */
  readonly usage?: UsageSource | undefined;
}

/** One step change as the task runner recorded it. */
export interface StepChange {
  readonly operationId: string;
  readonly tenantId: string;
  readonly step: string;
  readonly status: Step['status'];
  readonly detail?: string | undefined;
  readonly error?: ErrorInfo | undefined;
}

/**
 * What every Task state passes (see definitions/builder.ts). `A` is the task's args as its
 * handler receives them, validated by the runner against the task's schema (./contract.ts).
 */
export interface TaskInput<A extends object = Record<string, unknown>> {
  readonly task: string;
  readonly step: string;
  readonly operationId: string;
  readonly tenantId: string;
  readonly args: A;
  /** True for a task called in a Task → Choice → Wait loop until it answers `done`. */
  readonly poll?: boolean;
  /** A compensation step (Flow.undo): a NotFound answer counts as done, its target is gone already. */
  readonly undo?: boolean;
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

export type TaskHandler<A extends object = Record<string, unknown>> = (
  input: TaskInput<A>,
  deps: TaskDeps,
  step?: StepCall,
) => Promise<TaskResult>;

/** The handler of task `K`: it receives `K`'s validated args. */
export type HandlerOf<K extends TaskName> = TaskHandler<TaskArgs<K>>;

export interface TaskScope {
  readonly tenant: Tenant;
  readonly operation: Operation;
}

const regionalMemo = new WeakMap<TaskDeps, Map<string, TaskDeps>>();

/**
 * The deps of a region: its clients and its platform, the home deps at home (or without
 * `regions`). With an `owner` (an operation's step) the platform is deployed there first if need
 * be; without one it is read as deployed (reconcile, the API's reads).
 */
export async function depsInRegion(
  deps: TaskDeps,
  region: string | undefined,
  owner?: string,
): Promise<TaskDeps> {
  const { regions } = deps;
  if (!regions || !region || region === regions.home) return deps;
  let byRegion = regionalMemo.get(deps);
  if (!byRegion) {
    byRegion = new Map();
    regionalMemo.set(deps, byRegion);
  }
  // Steps ensure the platform, reads read it: a read first must not spare the steps their ensure.
  const key = `${owner ? 'ensure' : 'read'}:${region}`;
  const known = byRegion.get(key);
  if (known) return known;
  const platform = await (owner ? regions.ensure(region, owner) : regions.read(region));
  const scoped: TaskDeps = { ...deps, clients: regions.clients(region), platform: () => platform };
  byRegion.set(key, scoped);
  return scoped;
}

/**
 * The tenant and the operation a step works on, in one BatchGetItem. A forward step of an operation
 * someone cancelled stops here (OPERATION_CANCELLED), so the machine's Catch runs its compensation;
 * undo steps, the failure ending and steps past the point of no return go on.
 */
export async function loadScope(deps: TaskDeps, input: TaskInput): Promise<TaskScope> {
  const scope = await deps.registry.getScope(input.tenantId, input.operationId);
  const { cancel, type, steps } = scope.operation;
  if (cancel && !input.undo && input.task !== 'RecordFailure') {
    const noReturn = CANCEL_RULES[type].pointOfNoReturn;
    if (!noReturn || !steps.some((s) => s.name === noReturn && s.status === 'SUCCEEDED'))
      throw new TaskError('OPERATION_CANCELLED', `cancelled by ${cancel.actor} at ${cancel.at}`);
  }
  return scope;
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
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/**
 * Maps anything a handler throws to a TaskError whose name is a catalogue code, through the one
 * AWS error classifier (core/aws/errors.ts): ours keep their code, throttling and transient faults
 * become AWS_THROTTLED / AWS_TRANSIENT (which the definitions' Retry matches), the rest AWS_ERROR
 * with the AWS reason.
 */
export function toTaskError(e: unknown): TaskError {
  if (e instanceof TaskError) return e;
  const err = toControlPlaneError(e, 'AWS');
  return new TaskError(err.code, err.message);
}

/** True for AWS "not found" answers, whatever the service calls them (core/aws/errors.ts). */
export const isNotFound = isAwsNotFound;

/** NotFound, or one of ours wrapping a NotFound (its `cause`): what an undo step counts as done. */
export function isGone(e: unknown): boolean {
  return isNotFound(e) || isNotFound((e as { cause?: unknown } | undefined)?.cause);
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

/** The tenant fields an update operation asks for (its input, as the API validated it). */
export function updateOf(input: Record<string, unknown>): TenantPatch {
  const patch: TenantPatch = {};
  if (typeof input.name === 'string') patch.name = input.name;
  if (typeof input.adminEmail === 'string') patch.adminEmail = input.adminEmail;
  if (Array.isArray(input.allowedPrincipals)) patch.allowedPrincipals = input.allowedPrincipals.map(String);
  return patch;
}

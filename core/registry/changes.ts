import { assertTransition, endState, OPERATION_RULES, type OperationType } from '../lifecycle.js';
import type { IdempotencyLink } from './idempotency.js';
import {
  type ErrorInfo,
  type Operation,
  OperationSchema,
  type Step,
  type Tenant,
  TenantSchema,
} from './records.js';
import type { TransactItem } from './transact-items.js';

/**
 * The records a registry change writes, built as plain values (no I/O): a new tenant, a new
 * operation, and the tenant and operation an ending operation leaves.
 */

/** What a new tenant record starts from: the tenant's own fields, nothing restated. */
export type NewTenant = Pick<Tenant, 'slug' | 'name' | 'tier' | 'isolation' | 'adminEmail' | 'region'> & {
  readonly allowedPrincipals?: readonly string[];
};

export interface OperationRequest {
  readonly actor: string;
  readonly input?: Record<string, unknown>;
  readonly idempotencyKey?: string;
  /** The idempotency record this request took: pointed at the operation in the same transaction. */
  readonly idempotency?: IdempotencyLink | undefined;
  /** Reject the start when the tenant changed since this version was read. */
  readonly expectedVersion?: number;
  /** The runner (local engine process) that will run it: its claim, written with the record. */
  readonly runner?: string;
  /**
   * The tenant as the caller read it (consistently) just before: not read again. Its version
   * conditions the write, so a stale copy fails as a lost race would (VERSION_CONFLICT, or
   * OPERATION_IN_PROGRESS when another operation took the tenant meanwhile).
   */
  readonly tenant?: Tenant;
  /** A caller's own records, written in the operation's transaction (all or nothing). */
  readonly alongside?: AlongsideItems;
}

/** Items written with an operation's start, and what their failed conditions mean to the caller. */
export interface AlongsideItems {
  readonly items: (operation: Operation) => TransactItem[];
  /** The error for a start cancelled by these items' conditions (indexes into `items`). */
  readonly cancelled: (indexes: number[]) => Error;
}

/** Fields of a tenant that workflows record as they go. */
export type TenantPatch = Partial<
  Pick<
    Tenant,
    | 'tier'
    | 'isolation'
    | 'accountId'
    | 'accountRequestId'
    | 'accountClosedAt'
    | 'stacks'
    | 'outputs'
    | 'access'
    | 'templateVersion'
    | 'offboardedAt'
    | 'name'
    | 'adminEmail'
    | 'allowedPrincipals'
  >
>;

/** A step that a tenant patch completes (see patchTenant): written whole, with its start. */
export interface StepEnd {
  readonly name: string;
  readonly startedAt: string;
  readonly detail?: string | undefined;
}

export function newTenantRecord(input: NewTenant, tenantId: string, operationId: string, at: string): Tenant {
  return TenantSchema.parse({
    tenantId,
    slug: input.slug,
    name: input.name,
    tier: input.tier,
    isolation: input.isolation,
    state: OPERATION_RULES.onboard.during,
    adminEmail: input.adminEmail,
    region: input.region,
    allowedPrincipals: [...(input.allowedPrincipals ?? [])],
    stacks: [],
    outputs: {},
    access: {},
    version: 1,
    createdAt: at,
    updatedAt: at,
    currentOperationId: operationId,
  });
}

export function newOperationRecord(
  operationId: string,
  tenantId: string,
  type: OperationType,
  op: OperationRequest,
  at: string,
): Operation {
  return OperationSchema.parse({
    operationId,
    tenantId,
    type,
    status: 'PENDING',
    steps: [],
    actor: op.actor,
    ...(op.idempotencyKey ? { idempotencyKey: op.idempotencyKey } : {}),
    ...(op.runner ? { runner: op.runner } : {}),
    input: op.input ?? {},
    createdAt: at,
    updatedAt: at,
  });
}

/**
 * The tenant and operation once `operation` ends with `outcome`: the tenant in its end state (its
 * lastError set or cleared), the operation SUCCEEDED/FAILED with every open step closed, so no
 * reader ever sees a finished operation with a step still running.
 */
export function endedRecords(
  current: Tenant,
  operation: Operation,
  end: {
    outcome: 'succeeded' | 'rolled-back' | 'failed';
    error?: ErrorInfo | undefined;
    patch?: TenantPatch | undefined;
    step?: { name: string; startedAt: string } | undefined;
    at: string;
  },
): { next: Tenant; ended: Operation } {
  const { at } = end;
  const to = endState(operation.type, end.outcome);
  assertTransition(current.state, to);
  const next: Tenant = {
    ...current,
    ...(end.patch ?? {}),
    state: to,
    version: current.version + 1,
    updatedAt: at,
  };
  delete next.currentOperationId;
  if (end.error) next.lastError = end.error;
  else if (end.outcome === 'succeeded') delete next.lastError;
  const steps: Step[] = operation.steps.map((s) =>
    s.status === 'RUNNING' ? { ...s, status: 'SUCCEEDED' as const, endedAt: at } : s,
  );
  if (end.step && !steps.some((s) => s.name === end.step!.name)) {
    steps.push({ name: end.step.name, status: 'SUCCEEDED', startedAt: end.step.startedAt, endedAt: at });
  }
  const ended: Operation = {
    ...operation,
    steps,
    status: end.outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
    version: operation.version + 1,
    updatedAt: at,
    endedAt: at,
    ...(end.error ? { error: end.error } : {}),
  };
  delete ended.waitingFor;
  delete ended.waitingSince;
  return { next, ended };
}

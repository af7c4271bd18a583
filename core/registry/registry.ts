import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cancelledItems } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import { newOperationId, newTenantId } from '../ids.js';
import { isOperationEnded, type OperationType, startState } from '../lifecycle.js';
import {
  endedRecords,
  type NewTenant,
  newOperationRecord,
  newTenantRecord,
  type OperationRequest,
  type StepEnd,
  type TenantPatch,
} from './changes.js';
import {
  type IdempotencyClaim,
  type IdempotencyLink,
  IdempotencyStore,
  type IdempotencyStoreOptions,
} from './idempotency.js';
import { nowIso, type RegistryIo } from './io.js';
import { requestCancel, retryOperation } from './operation-control.js';
import { RegistryQueries } from './queries.js';
import type { ErrorInfo, Operation, Step, Tenant } from './records.js';
import {
  type OperationProgress,
  recordStep,
  type StepMode,
  stepEnded,
  stepUpdate,
  updateOperation,
} from './steps.js';
import {
  eventPut,
  operationCreatePut,
  operationEndPut,
  slugClaimPut,
  type TransactItem,
  tenantCreatePut,
  tenantReplacePut,
  transact,
} from './transact-items.js';

export type { NewTenant, OperationRequest, StepEnd, TenantPatch } from './changes.js';
export { fromOperationItem, toTenantItem } from './codec.js';
export type { IdempotencyClaim, IdempotencyLink, IdempotencyTake, ProcessOwner } from './idempotency.js';
export { listShard } from './keys.js';
export type { OperationListQuery } from './operation-history.js';
export type { RegistryReader, TenantListQuery } from './queries.js';
export { nextStepSeq } from './steps.js';

export interface RegistryOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
  /** Idempotency records: their owner process and in-progress expiry. */
  readonly idempotency?: IdempotencyStoreOptions;
}

const inProgressError = (tenantId: string, operationId: string) =>
  new ControlPlaneError(
    'OPERATION_IN_PROGRESS',
    `tenant ${tenantId} has operation ${operationId} in flight; wait for it to finish`,
    { details: { operationId } },
  );

/** The request's idempotency record was taken over (its owner was judged dead): nothing was written. */
const keyTakenOver = (link: IdempotencyLink, e: unknown) =>
  new ControlPlaneError(
    'IDEMPOTENCY_IN_FLIGHT',
    `a request with Idempotency-Key "${link.key}" was taken over by another one; retry to get its answer`,
    { details: { key: link.key }, cause: e },
  );

/**
 * The tenant registry on DynamoDB: the reads (RegistryQueries) plus every change, each one
 * transaction of items (transact-items.ts). Every state change writes its audit event in the same
 * transaction; every write to a tenant is conditioned on its version (optimistic lock) and, for
 * operations, on no other operation being in flight.
 */
export class Registry extends RegistryQueries {
  readonly idempotency: IdempotencyStore;

  constructor(options: RegistryOptions) {
    const io: RegistryIo = {
      db: options.documents,
      tableName: options.tableName,
      clock: options.clock ?? (() => new Date()),
    };
    super(io);
    this.idempotency = new IdempotencyStore(io, options.idempotency);
  }

  private now(): string {
    return nowIso(this.io);
  }

  /** The items that point a request's idempotency record at its operation (none without a key). */
  private linkItems(op: OperationRequest, operation: Operation): TransactItem[] {
    return op.idempotency
      ? [this.idempotency.linkItem(op.idempotency, operation.operationId, operation.tenantId)]
      : [];
  }

  // ---------------------------------------------------------------- tenants

  /**
   * Creates the tenant in PROVISIONING with its onboard operation, claiming the slug in the same
   * transaction: of N concurrent creates with one slug exactly one wins, the rest get TENANT_EXISTS.
   */
  async createTenant(
    input: NewTenant,
    op: OperationRequest,
  ): Promise<{ tenant: Tenant; operation: Operation }> {
    const at = this.now();
    const tenantId = newTenantId();
    const operationId = newOperationId();
    const tenant = newTenantRecord(input, tenantId, operationId, at);
    const operation = newOperationRecord(operationId, tenantId, 'onboard', op, at);
    const items = [
      slugClaimPut(this.io, tenant.slug, tenantId, at),
      tenantCreatePut(this.io, tenant),
      operationCreatePut(this.io, operation),
      eventPut(this.io, {
        tenantId,
        actor: op.actor,
        action: 'tenant.created',
        operationId,
        to: tenant.state,
        at,
        detail: { tier: tenant.tier },
      }),
      eventPut(this.io, {
        tenantId,
        actor: op.actor,
        action: 'operation.started',
        operationId,
        at,
        detail: { type: 'onboard' },
      }),
      ...this.linkItems(op, operation),
    ];
    try {
      await transact(this.io, items);
    } catch (e) {
      const failed = cancelledItems(e);
      if (failed.includes(0)) {
        // The SDK retried a transaction whose first answer was lost: the slug names our own tenant.
        const owner = await this.getTenantBySlug(tenant.slug);
        if (owner?.tenantId === tenantId) return { tenant, operation };
        throw new ControlPlaneError(
          'TENANT_EXISTS',
          `a tenant with slug "${tenant.slug}" exists already; choose another slug`,
          { details: { slug: tenant.slug }, cause: e },
        );
      }
      if (op.idempotency && failed.includes(items.length - 1)) throw keyTakenOver(op.idempotency, e);
      throw e;
    }
    return { tenant, operation };
  }

  /**
   * Records workflow progress on the tenant (stacks, outputs, access records) without a state
   * change. Conditioned on the operation still owning the tenant.
   */
  async patchTenant(
    tenant: Tenant | string,
    operationId: string,
    patch: TenantPatch,
    options: {
      readonly actor?: string;
      /** The step this patch completes, recorded as SUCCEEDED in the same transaction. */
      readonly endsStep?: StepEnd | undefined;
    } = {},
  ): Promise<Tenant> {
    const actor = options.actor ?? 'workflow';
    // Callers that just read the tenant pass it, saving a read; the version condition keeps it safe.
    const current = typeof tenant === 'string' ? await this.requireTenant(tenant) : tenant;
    if (current.currentOperationId !== operationId) {
      throw new ControlPlaneError(
        'OPERATION_IN_PROGRESS',
        `tenant ${current.tenantId} is owned by operation ${current.currentOperationId ?? '(none)'}, not ${operationId}`,
      );
    }
    const next: Tenant = { ...current, ...patch, version: current.version + 1, updatedAt: this.now() };
    for (const [k, v] of Object.entries(patch))
      if (v === undefined) delete (next as Record<string, unknown>)[k];
    const step = options.endsStep;
    await this.writeTenant(current, next, [
      eventPut(this.io, {
        tenantId: current.tenantId,
        actor,
        action: 'tenant.updated',
        operationId,
        detail: { fields: Object.keys(patch) },
      }),
      ...(step
        ? [
            {
              Update: stepUpdate(
                this.io,
                operationId,
                {
                  name: step.name,
                  status: 'SUCCEEDED',
                  startedAt: step.startedAt,
                  endedAt: next.updatedAt,
                  ...(step.detail ? { detail: step.detail } : {}),
                },
                'put',
              ),
            },
          ]
        : []),
    ]);
    return next;
  }

  /** Conditional replace of a tenant record at `current.version`, plus extra items in one transaction. */
  private async writeTenant(
    current: Tenant,
    next: Tenant,
    extra: TransactItem[],
    extraCondition?: { expression: string; values?: Record<string, unknown> },
  ): Promise<void> {
    try {
      await transact(this.io, [tenantReplacePut(this.io, current, next, extraCondition), ...extra]);
    } catch (e) {
      if (cancelledItems(e).includes(0)) {
        throw new ControlPlaneError(
          'VERSION_CONFLICT',
          `tenant ${current.tenantId} changed since version ${current.version} was read; read it again and retry`,
          { details: { tenantId: current.tenantId, expectedVersion: current.version }, cause: e },
        );
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- operations

  /**
   * Starts an operation on an existing tenant: the lifecycle must allow it, no other operation may
   * be in flight, and (when given) the version must match. Tenant state, operation and audit events
   * are written in one transaction.
   */
  async startOperation(
    tenantIdOrSlug: string,
    type: Exclude<OperationType, 'onboard'>,
    op: OperationRequest,
  ): Promise<{ tenant: Tenant; operation: Operation }> {
    const current = op.tenant ?? (await this.requireTenant(tenantIdOrSlug));
    if (current.currentOperationId) throw inProgressError(current.tenantId, current.currentOperationId);
    // The lifecycle's refusal and an operation in flight say more than a stale version, so they go first.
    const during = startState(type, current.state);
    if (op.expectedVersion !== undefined && op.expectedVersion !== current.version) {
      throw new ControlPlaneError(
        'VERSION_CONFLICT',
        `tenant ${current.tenantId} is at version ${current.version}, not ${op.expectedVersion}`,
      );
    }
    const at = this.now();
    const operation = newOperationRecord(newOperationId(), current.tenantId, type, op, at);
    const next: Tenant = {
      ...current,
      state: during,
      currentOperationId: operation.operationId,
      version: current.version + 1,
      updatedAt: at,
    };
    const extra = [
      operationCreatePut(this.io, operation),
      eventPut(this.io, {
        tenantId: current.tenantId,
        actor: op.actor,
        action: 'state.changed',
        operationId: operation.operationId,
        from: current.state,
        to: during,
        at,
      }),
      eventPut(this.io, {
        tenantId: current.tenantId,
        actor: op.actor,
        action: 'operation.started',
        operationId: operation.operationId,
        at,
        detail: { type, ...(op.input ?? {}) },
      }),
      ...this.linkItems(op, operation),
    ];
    const alongside = op.alongside?.items(operation) ?? [];
    try {
      await this.writeTenant(current, next, [...extra, ...alongside], {
        expression: 'attribute_not_exists(currentOperationId)',
      });
    } catch (e) {
      // The caller's items first: theirs is the reason it acts on (e.g. "no slot, try later").
      const theirs = cancelledItems(e instanceof ControlPlaneError ? e.cause : e)
        .map((i) => i - 1 - extra.length)
        .filter((i) => i >= 0);
      if (op.alongside && theirs.length > 0) throw op.alongside.cancelled(theirs);
      if (e instanceof ControlPlaneError && e.code === 'VERSION_CONFLICT') {
        // Lost a race: say why in the terms the caller cares about.
        const now = await this.requireTenant(current.tenantId);
        if (now.currentOperationId) throw inProgressError(now.tenantId, now.currentOperationId);
      }
      // The tenant item comes first, then `extra`: the link is the last item.
      if (op.idempotency && cancelledItems(e).includes(extra.length)) throw keyTakenOver(op.idempotency, e);
      throw e;
    }
    return { tenant: next, operation };
  }

  /** Opens a FAILED operation again for its next attempt (operation-control.ts). */
  retryOperation(
    operationId: string,
    op: OperationRequest,
  ): Promise<{ tenant: Tenant; operation: Operation }> {
    return retryOperation(this.io, this, this.idempotency, operationId, op);
  }

  /** Records a cancel request on a running operation (operation-control.ts). */
  requestCancel(operationId: string, actor: string): Promise<Operation> {
    return requestCancel(this.io, operationId, actor);
  }

  /**
   * Updates an operation's progress (status, waitingFor, callback). Read-modify-write on the
   * operation's revision, retried on a lost race, so concurrent step writers never drop a step.
   */
  updateOperation(operationId: string, change: (op: Operation) => OperationProgress): Promise<Operation> {
    return updateOperation(this.io, operationId, change);
  }

  /** Writes one step in a single UpdateItem (see steps.ts); false when its condition did not hold. */
  recordStep(operationId: string, step: Step, mode: StepMode): Promise<boolean> {
    return recordStep(this.io, operationId, step, mode);
  }

  /** Marks a step started (or restarted after a crash). */
  async stepStarted(operationId: string, name: string, detail?: string): Promise<void> {
    await this.recordStep(
      operationId,
      { name, status: 'RUNNING', startedAt: this.now(), ...(detail ? { detail } : {}) },
      'put',
    );
  }

  /**
   * Marks a step ended. With `startedAt` (a quick step) the whole step is written; without, the
   * recorded step is closed in place, keeping its start (one write, no read).
   */
  stepEnded(
    operationId: string,
    name: string,
    status: Step['status'],
    error?: ErrorInfo,
    detail?: string,
    startedAt?: string,
  ): Promise<void> {
    return stepEnded(this.io, operationId, {
      name,
      status,
      ...(error ? { error } : {}),
      ...(detail ? { detail } : {}),
      ...(startedAt ? { startedAt } : {}),
    });
  }

  /**
   * Ends an operation: operation status, the tenant's end state, its lastError and the audit events,
   * in one transaction conditioned on the operation still owning the tenant.
   */
  async finishOperation(args: {
    operationId: string;
    outcome: 'succeeded' | 'rolled-back' | 'failed';
    error?: ErrorInfo;
    patch?: TenantPatch;
    actor?: string;
    /** What the caller read already (saves two reads). */
    scope?: { tenant: Tenant; operation: Operation };
    /** The step finishing the operation, recorded in the same write. */
    step?: { name: string; startedAt: string };
  }): Promise<{ tenant: Tenant; operation: Operation }> {
    const operation = args.scope?.operation ?? (await this.requireOperation(args.operationId));
    const current = args.scope?.tenant ?? (await this.requireTenant(operation.tenantId));
    if (isOperationEnded(operation)) return { tenant: current, operation };
    if (current.currentOperationId !== operation.operationId) {
      throw new ControlPlaneError(
        'OPERATION_IN_PROGRESS',
        `tenant ${current.tenantId} is not owned by operation ${operation.operationId}`,
      );
    }
    const at = this.now();
    const actor = args.actor ?? 'workflow';
    const { next, ended } = endedRecords(current, operation, { ...args, at });
    const to = next.state;
    const status = ended.status;
    const ids = { tenantId: current.tenantId, actor, operationId: operation.operationId, at };
    await this.writeTenant(
      current,
      next,
      [
        operationEndPut(this.io, ended),
        eventPut(this.io, { ...ids, action: 'state.changed', from: current.state, to }),
        eventPut(this.io, {
          ...ids,
          action: status === 'SUCCEEDED' ? 'operation.succeeded' : 'operation.failed',
          detail: { type: operation.type, ...(args.error ? { error: args.error } : {}) },
        }),
      ],
      { expression: 'currentOperationId = :op', values: { ':op': operation.operationId } },
    );
    return { tenant: next, operation: ended };
  }

  // ---------------------------------------------------------------- idempotency (see idempotency.ts)

  /** See IdempotencyStore.claim (kept here for callers of the registry's older API). */
  claimIdempotencyKey(scope: string, key: string, request: unknown): Promise<IdempotencyClaim> {
    return this.idempotency.claim(scope, key, request);
  }

  completeIdempotencyKey(scope: string, key: string, response: unknown): Promise<void> {
    return this.idempotency.completeClaim(scope, key, response);
  }

  /** Forgets a claim whose request failed before writing anything, so a retry can run again. */
  releaseIdempotencyKey(scope: string, key: string): Promise<void> {
    return this.idempotency.releaseClaim(scope, key);
  }
}

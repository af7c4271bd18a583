import { cancelledItems } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import { assertCancellable, isOperationEnded, retryState } from '../lifecycle.js';
import type { OperationRequest } from './changes.js';
import { toOperationItem } from './codec.js';
import type { IdempotencyStore } from './idempotency.js';
import { nowIso, type RegistryIo } from './io.js';
import { openOperationKeys } from './keys.js';
import type { RegistryQueries } from './queries.js';
import type { Operation, Tenant } from './records.js';
import { updateOperation } from './steps.js';
import { eventPut, type TransactItem, tenantReplacePut, transact } from './transact-items.js';

/**
 * Operation control: retry and cancel.
 *
 * Retrying a FAILED operation: the same operation (same id, its audit trail whole) opened again for
 * its next attempt, with the tenant moved back into the operation's `during` state, in one
 * transaction. Only the tenant's latest change may be retried: the tenant must not have changed since
 * the operation ended (its `updatedAt` is the operation's `endedAt`), so a retry never undoes what a
 * later operation did.
 */

const notRetryable = (operation: Operation, why: string) =>
  new ControlPlaneError(
    'OPERATION_NOT_RETRYABLE',
    `operation ${operation.operationId} cannot be retried: ${why}`,
    {
      details: { operationId: operation.operationId, status: operation.status },
    },
  );

/** The operation's next attempt, as a value: steps cleared, the ended attempt kept in `previousAttempts`. */
export function nextAttempt(operation: Operation, actor: string, at: string, runner?: string): Operation {
  const attempt = operation.attempt ?? 1;
  const next: Operation = {
    ...operation,
    status: 'PENDING',
    steps: [],
    attempt: attempt + 1,
    previousAttempts: [
      ...(operation.previousAttempts ?? []),
      {
        attempt,
        retriedBy: actor,
        ...(operation.endedAt ? { endedAt: operation.endedAt } : {}),
        ...(operation.error ? { error: operation.error } : {}),
      },
    ],
    updatedAt: at,
  };
  if (runner) next.runner = runner;
  for (const field of ['error', 'endedAt', 'callback', 'cancel', 'waitingFor', 'waitingSince'] as const)
    delete next[field];
  return next;
}

export async function retryOperation(
  io: RegistryIo,
  reads: RegistryQueries,
  idempotency: IdempotencyStore,
  operationId: string,
  op: OperationRequest,
): Promise<{ tenant: Tenant; operation: Operation }> {
  const operation = await reads.requireOperation(operationId);
  if (operation.status !== 'FAILED') throw notRetryable(operation, `it is ${operation.status}, not FAILED`);
  const current = await reads.requireTenant(operation.tenantId);
  if (current.currentOperationId)
    throw new ControlPlaneError(
      'OPERATION_IN_PROGRESS',
      `tenant ${current.tenantId} has operation ${current.currentOperationId} in flight; wait for it to finish`,
      { details: { operationId: current.currentOperationId } },
    );
  if (current.updatedAt !== operation.endedAt)
    throw notRetryable(operation, `tenant ${current.tenantId} changed after it ended (a later operation)`);
  const during = retryState(operation.type, current.state);
  const at = nowIso(io);
  const next = nextAttempt(operation, op.actor, at, op.runner);
  const tenant: Tenant = {
    ...current,
    state: during,
    currentOperationId: operationId,
    version: current.version + 1,
    updatedAt: at,
  };
  const ids = { tenantId: current.tenantId, actor: op.actor, operationId, at };
  const items: TransactItem[] = [
    tenantReplacePut(io, current, tenant, { expression: 'attribute_not_exists(currentOperationId)' }),
    {
      // Of two retries of one attempt, one wins: the operation must still be the FAILED one read.
      Put: {
        TableName: io.tableName,
        Item: { ...toOperationItem(next), rev: io.clock().getTime(), ...openOperationKeys(operationId) },
        ConditionExpression: '#st = :failed AND endedAt = :ended',
        ExpressionAttributeNames: { '#st': 'status' },
        ExpressionAttributeValues: { ':failed': 'FAILED', ':ended': operation.endedAt },
      },
    },
    eventPut(io, { ...ids, action: 'state.changed', from: current.state, to: during }),
    eventPut(io, {
      ...ids,
      action: 'operation.retried',
      detail: {
        type: operation.type,
        attempt: next.attempt,
        ...(operation.error ? { error: operation.error } : {}),
      },
    }),
    ...(op.idempotency ? [idempotency.linkItem(op.idempotency, operationId, current.tenantId)] : []),
  ];
  try {
    await transact(io, items);
  } catch (e) {
    const failed = cancelledItems(e);
    if (failed.includes(0))
      throw new ControlPlaneError(
        'VERSION_CONFLICT',
        `tenant ${current.tenantId} changed while the retry was being recorded; read the operation again`,
        { cause: e },
      );
    if (failed.includes(1)) throw notRetryable(operation, 'another retry of it was recorded first');
    if (op.idempotency && failed.includes(items.length - 1))
      throw new ControlPlaneError(
        'IDEMPOTENCY_IN_FLIGHT',
        `a request with Idempotency-Key "${op.idempotency.key}" was taken over by another one; retry to get its answer`,
        { details: { key: op.idempotency.key }, cause: e },
      );
    throw e;
  }
  return { tenant, operation: next };
}

/**
 * Records a cancel request on a running operation (the next forward step stops and compensation
 * runs, workflows/tasks/context.ts). Asking again answers the same; an ended, offboarding or
 * past-its-point-of-no-return operation is OPERATION_NOT_CANCELLABLE.
 */
export function requestCancel(io: RegistryIo, operationId: string, actor: string): Promise<Operation> {
  return updateOperation(io, operationId, (op) => {
    if (isOperationEnded(op))
      throw new ControlPlaneError(
        'OPERATION_NOT_CANCELLABLE',
        `operation ${operationId} has ended (${op.status}); nothing runs to cancel`,
        { details: { operationId, status: op.status } },
      );
    assertCancellable(op.type, op.steps);
    // Asked already: the first request stands.
    if (op.cancel) return {};
    return { cancel: { actor, at: nowIso(io) } };
  });
}

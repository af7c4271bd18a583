import { GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import { fromOperationItem, stepOrderAttribute } from './codec.js';
import { nowIso, type RegistryIo } from './io.js';
import { operationKey } from './keys.js';
import type { ErrorInfo, Operation, Step } from './records.js';

/**
 * An operation's progress: its steps, one UpdateItem each with no read, and its status fields
 * (read-modify-write on the operation's revision).
 */

export type StepMode = 'start' | 'detail' | 'end' | 'put';

/** The progress fields of an operation that `updateOperation` may change. */
export type OperationProgress = Partial<
  Pick<Operation, 'status' | 'waitingFor' | 'waitingSince' | 'callback' | 'cancel'>
>;

let stepSeq = 0;
/** A step's order among its operation's steps: the time it was written, then a counter. */
export function nextStepSeq(now: number = Date.now()): number {
  stepSeq = (stepSeq + 1) % 1000;
  return now * 1000 + stepSeq;
}

/**
 * The UpdateItem that writes one step of an operation (no read). `mode`:
 * - `start`: the step begins (kept as is if already there, e.g. a poll's later calls);
 * - `detail`: a running step's latest detail;
 * - `end`: a recorded step's status, end time, detail and error, keeping its start and order;
 * - `put`: the whole step (a quick step written once when it ended, or a failure).
 * Conditioned on the operation still being open, so a late writer cannot reopen it.
 */
export function stepUpdate(
  io: RegistryIo,
  operationId: string,
  step: Step,
  mode: StepMode,
): UpdateCommandInput & { Key: Record<string, unknown>; UpdateExpression: string } {
  const names: Record<string, string> = {
    '#m': 'stepMap',
    '#n': step.name,
    '#st': 'status',
    '#u': 'updatedAt',
    '#ver': 'version',
  };
  const values: Record<string, unknown> = {
    ':u': nowIso(io),
    ':pending': 'PENDING',
    ':running': 'RUNNING',
    ':one': 1,
  };
  const sets: string[] = [];
  const setField = (field: keyof Step, value: unknown) => {
    names[`#f_${field}`] = field;
    values[`:f_${field}`] = value;
    sets.push(`#m.#n.#f_${field} = :f_${field}`);
  };
  if (mode === 'detail') setField('detail', step.detail ?? '');
  else if (mode === 'end') {
    setField('status', step.status);
    if (step.endedAt) setField('endedAt', step.endedAt);
    if (step.detail) setField('detail', step.detail);
    if (step.error) setField('error', step.error);
  } else {
    const seq = nextStepSeq(io.clock().getTime());
    values[':s'] = { ...step, seq };
    sets.push('#m.#n = :s');
    // A step's first position is kept in a top-level attribute (if_not_exists works there, unlike
    // on the nested path): a step written again after a resume stays where it first ran.
    names['#o'] = stepOrderAttribute(step.name);
    values[':o'] = seq;
    sets.push('#o = if_not_exists(#o, :o)');
  }
  // `start` keeps a step already there (a poll's later calls, a resumed step): a condition rather
  // than if_not_exists on the nested path, which moto ignores.
  const exists =
    mode === 'detail' || mode === 'end'
      ? ' AND attribute_exists(#m.#n)'
      : mode === 'start'
        ? ' AND attribute_not_exists(#m.#n)'
        : '';
  return {
    TableName: io.tableName,
    Key: { ...operationKey(operationId) },
    UpdateExpression: `SET ${sets.join(', ')}, #st = :running, #u = :u ADD #ver :one`,
    ConditionExpression: `#st IN (:pending, :running)${exists}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** Writes one step in a single UpdateItem (see stepUpdate); false when its condition did not hold. */
export async function recordStep(
  io: RegistryIo,
  operationId: string,
  step: Step,
  mode: StepMode,
): Promise<boolean> {
  try {
    await io.db.send(new UpdateCommand(stepUpdate(io, operationId, step, mode)));
    return true;
  } catch (e) {
    if (!isConditionFailed(e)) throw e;
    return false;
  }
}

/**
 * Marks a step ended. With `startedAt` (a quick step) the whole step is written; without, the
 * recorded step is closed in place, keeping its start (one write, no read).
 */
export async function stepEnded(
  io: RegistryIo,
  operationId: string,
  end: { name: string; status: Step['status']; error?: ErrorInfo; detail?: string; startedAt?: string },
): Promise<void> {
  const at = nowIso(io);
  const step: Step = {
    name: end.name,
    status: end.status,
    startedAt: end.startedAt ?? at,
    endedAt: at,
    ...(end.error ? { error: end.error } : {}),
    ...(end.detail ? { detail: end.detail } : {}),
  };
  if (end.startedAt) {
    await recordStep(io, operationId, step, 'put');
    return;
  }
  // Not recorded as started (only if its start write was lost): written whole, started now.
  if (!(await recordStep(io, operationId, step, 'end'))) await recordStep(io, operationId, step, 'put');
}

/** Lost races on an operation's revision retried before giving up (each is one concurrent writer). */
const MAX_REVISION_RETRIES = 20;

/**
 * Updates an operation's progress (status RUNNING, waitingFor, callback). Read-modify-write on the
 * operation's revision, retried on a lost race; only the changed attributes are written, so step
 * records written meanwhile are never overwritten.
 */
export async function updateOperation(
  io: RegistryIo,
  operationId: string,
  change: (op: Operation) => OperationProgress,
): Promise<Operation> {
  for (let attempt = 0; ; attempt++) {
    const out = await io.db.send(
      new GetCommand({ TableName: io.tableName, Key: operationKey(operationId), ConsistentRead: true }),
    );
    if (!out.Item)
      throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation with id "${operationId}"`);
    const rev = Number(out.Item.rev ?? 0);
    const current = fromOperationItem(out.Item);
    const patch = change(current);
    const next: Operation = { ...current, ...patch, version: current.version + 1, updatedAt: nowIso(io) };
    if ('waitingFor' in patch && patch.waitingFor === undefined) {
      delete next.waitingFor;
      delete next.waitingSince;
    }
    const names: Record<string, string> = { '#u': 'updatedAt', '#ver': 'version' };
    const values: Record<string, unknown> = {
      ':u': next.updatedAt,
      ':rev': rev,
      ':next': rev + 1,
      ':one': 1,
    };
    const sets = ['#u = :u', 'rev = :next'];
    const removes: string[] = [];
    for (const key of ['status', 'waitingFor', 'waitingSince', 'callback', 'cancel'] as const) {
      if (!(key in patch) && !(key === 'waitingSince' && 'waitingFor' in patch)) continue;
      names[`#${key}`] = key;
      if (next[key] === undefined) removes.push(`#${key}`);
      else {
        sets.push(`#${key} = :${key}`);
        values[`:${key}`] = next[key];
      }
    }
    try {
      await io.db.send(
        new UpdateCommand({
          TableName: io.tableName,
          Key: operationKey(operationId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''} ADD #ver :one`,
          ConditionExpression: 'rev = :rev',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return next;
    } catch (e) {
      if (!isConditionFailed(e) || attempt >= MAX_REVISION_RETRIES) throw e;
    }
  }
}

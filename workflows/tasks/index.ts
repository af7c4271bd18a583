import { describeError } from '../../core/errors.js';
import { closeAccount, vendAccount } from './accounts.js';
import { createApiKey, deleteApiKey, moveApiKey, setApiKeyEnabled } from './api-access.js';
import {
  type StepCall,
  type TaskDeps,
  TaskError,
  type TaskHandler,
  type TaskInput,
  type TaskResult,
  toTaskError,
} from './context.js';
import { setDatabaseRunning } from './database.js';
import { createIdentity, deleteIdentity, setUsersEnabled } from './identity.js';
import { awaitMigration, cutOver, requestMigration } from './migration.js';
import { beginOperation, compensateOnboard, finish, recordFailure } from './operation.js';
import {
  ensureStack,
  ensureStackUpdated,
  resolveTemplate,
  retireStacks,
  snapshotDatabase,
} from './stacks.js';
import { copyTenantData, eraseTenantData, exportTenantData } from './tenant-data.js';

export type { TaskDeps, TaskInput, TaskResult } from './context.js';

/** Every handler a Task state can name in `Parameters.task`. */
export const TASK_HANDLERS: Readonly<Record<string, TaskHandler>> = {
  BeginOperation: beginOperation,
  ResolveTemplate: resolveTemplate,
  EnsureStack: ensureStack,
  EnsureStackUpdated: ensureStackUpdated,
  RetireStacks: retireStacks,
  SnapshotDatabase: snapshotDatabase,
  CreateIdentity: createIdentity,
  DeleteIdentity: deleteIdentity,
  SetUsersEnabled: setUsersEnabled,
  CreateApiKey: createApiKey,
  MoveApiKey: moveApiKey,
  SetApiKeyEnabled: setApiKeyEnabled,
  DeleteApiKey: deleteApiKey,
  SetDatabaseRunning: setDatabaseRunning,
  RequestMigration: requestMigration,
  AwaitMigration: awaitMigration,
  CutOver: cutOver,
  Finish: finish,
  RecordFailure: recordFailure,
  CompensateOnboard: compensateOnboard,
  VendAccount: vendAccount,
  CloseAccount: closeAccount,
  ExportTenantData: exportTenantData,
  CopyTenantData: copyTenantData,
  EraseTenantData: eraseTenantData,
};

/** Wait before the next call of a pending polled task: doubling from the base, at most 20x. */
export function backoffSeconds(baseSeconds: number, attempt: number): number {
  return Math.max(1, Math.round(Math.min(baseSeconds * 2 ** Math.max(0, attempt - 1), baseSeconds * 20)));
}

export interface TaskRunnerHooks {
  /** Called before each task runs; tests use it to crash the engine at a chosen step. */
  readonly beforeTask?: (input: TaskInput) => void | Promise<void>;
}

export type TaskRunner = (input: TaskInput) => Promise<TaskResult>;

/**
 * The single entry point of every Task state, on both engines (a Lambda handler on AWS, the local
 * executor's override here). Records each step on the operation with as few writes as it can (one
 * for a quick step, one at a polled step's start, one per new detail, one at its end), and turns
 * every failure into a TaskError named by its code.
 */
export interface TaskRunnerOptions {
  /**
   * Local engine: its Wait states run a fixed interval (`baseMs`), so the backoff is slept here,
   * before a pending answer returns. On Step Functions the Wait itself backs off (`waitSeconds`).
   */
  readonly localBackoff?: { readonly baseMs: number };
}

export function createTaskRunner(
  deps: TaskDeps,
  hooks: TaskRunnerHooks = {},
  options: TaskRunnerOptions = {},
): TaskRunner {
  // Which polled steps this process has recorded as started, their last detail written and how
  // many pending answers in a row they gave. Lost on restart or in a new Lambda container: then a
  // step is written once more and its backoff starts over, harmlessly.
  const polled = new Map<
    string,
    { detail?: string | undefined; pending: number; startedAt?: string | undefined }
  >();
  return async (input) => {
    const handler = TASK_HANDLERS[input.task];
    if (!handler) throw new TaskError('WORKFLOW_FAILED', `no task handler named ${input.task}`);
    await hooks.beforeTask?.(input);
    const key = `${input.operationId}/${input.step}`;
    const startedAt = deps.clock().toISOString();
    if (input.poll && !polled.has(key)) {
      const wrote = await deps.registry.recordStep(
        input.operationId,
        { name: input.step, status: 'RUNNING', startedAt },
        'start',
      );
      // Not written: the step was started by an earlier process, whose start time stays.
      polled.set(key, { pending: 0, startedAt: wrote ? startedAt : undefined });
    }
    // The start this process knows: a quick step's is now, a polled step's its first call's.
    const knownStart = input.poll ? polled.get(key)?.startedAt : startedAt;
    let endedByHandler = false;
    const step: StepCall = {
      end(detail) {
        if (!knownStart) return undefined;
        endedByHandler = true;
        return { name: input.step, startedAt: knownStart, detail };
      },
    };
    try {
      const result = await handler(input, deps, step);
      const poll = result as { done?: boolean; detail?: string } | undefined;
      if (input.poll && poll?.done === false) {
        const memo = polled.get(key) ?? { pending: 0 };
        memo.pending++;
        if (poll.detail && poll.detail !== memo.detail) {
          await deps.registry.recordStep(
            input.operationId,
            { name: input.step, status: 'RUNNING', startedAt, detail: poll.detail },
            'detail',
          );
          memo.detail = poll.detail;
        }
        polled.set(key, memo);
        const waitSeconds = backoffSeconds(input.pollSeconds ?? 1, memo.pending);
        if (options.localBackoff) {
          const extra = options.localBackoff.baseMs * (Math.min(2 ** (memo.pending - 1), 20) - 1);
          if (extra > 0) await new Promise((r) => setTimeout(r, extra));
        }
        return { ...poll, waitSeconds };
      }
      polled.delete(key);
      // A handler that returned after writing its end with its last patch needs no second write.
      if (!endedByHandler)
        await deps.registry.stepEnded(
          input.operationId,
          input.step,
          'SUCCEEDED',
          undefined,
          poll?.detail,
          // A polled step keeps the start recorded at its first call; a quick step started just now.
          input.poll ? undefined : startedAt,
        );
      return result ?? {};
    } catch (e) {
      polled.delete(key);
      const err = toTaskError(e);
      await deps.registry
        .stepEnded(
          input.operationId,
          input.step,
          'FAILED',
          { code: err.code, message: err.message },
          undefined,
          input.poll ? undefined : startedAt,
        )
        .catch((recordError) => {
          // The registry being down must not hide the original error.
          err.message = `${err.message} (step not recorded: ${describeError(recordError)})`;
        });
      throw err;
    }
  };
}

import { describeError } from '../../core/errors.js';
import { closeAccount, vendAccount } from './accounts.js';
import { createApiKey, deleteApiKey, moveApiKey, setApiKeyEnabled } from './api-access.js';
import {
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
};

export interface TaskRunnerHooks {
  /** Called before each task runs; tests use it to crash the engine at a chosen step. */
  readonly beforeTask?: (input: TaskInput) => void | Promise<void>;
}

export type TaskRunner = (input: TaskInput) => Promise<TaskResult>;

/**
 * The single entry point of every Task state, on both engines (a Lambda handler on AWS, the local
 * executor's override here). Records each step's start and end on the operation, keeps a polling
 * step RUNNING with its latest detail, and turns every failure into a TaskError named by its code.
 */
export function createTaskRunner(deps: TaskDeps, hooks: TaskRunnerHooks = {}): TaskRunner {
  return async (input) => {
    const handler = TASK_HANDLERS[input.task];
    if (!handler) throw new TaskError('WORKFLOW_FAILED', `no task handler named ${input.task}`);
    await hooks.beforeTask?.(input);
    const op = await deps.registry.getOperation(input.operationId);
    const last = op?.steps.filter((s) => s.name === input.step).pop();
    const continuing = last?.status === 'RUNNING';
    if (!continuing) await deps.registry.stepStarted(input.operationId, input.step);
    try {
      const result = await handler(input, deps);
      const poll = result as { done?: boolean; detail?: string } | undefined;
      if (poll && poll.done === false) {
        if (poll.detail && poll.detail !== last?.detail) {
          await deps.registry.updateOperation(input.operationId, (o) => ({
            steps: o.steps.map((s, i) =>
              i === o.steps.length - 1 && s.name === input.step ? { ...s, detail: poll.detail! } : s,
            ),
          }));
        }
      } else {
        await deps.registry.stepEnded(input.operationId, input.step, 'SUCCEEDED', undefined, poll?.detail);
      }
      return result ?? {};
    } catch (e) {
      const err = toTaskError(e);
      await deps.registry
        .stepEnded(input.operationId, input.step, 'FAILED', { code: err.code, message: err.message })
        .catch((recordError) => {
          // The registry being down must not hide the original error.
          err.message = `${err.message} (step not recorded: ${describeError(recordError)})`;
        });
      throw err;
    }
  };
}

import { closeAccount, vendAccount } from './accounts.js';
import { createApiKey, deleteApiKey, moveApiKey, setApiKeyEnabled } from './api-access.js';
import {
  cancelSubscription,
  ensureBillingCustomer,
  ensureSubscription,
  moveSubscription,
  reportUsage,
} from './billing.js';
import type { TaskDeps } from './context.js';
import { setDatabaseRunning } from './database.js';
import { releaseDomain } from './domain.js';
import { createIdentity, deleteIdentity, setAdminEmail, setUsersEnabled } from './identity.js';
import { awaitMigration, cutOver, requestMigration } from './migration.js';
import { beginOperation, compensateOnboard, finish, recordFailure } from './operation.js';
import {
  createTaskRunnerWith,
  type TaskHandlers,
  type TaskRunner,
  type TaskRunnerHooks,
  type TaskRunnerOptions,
} from './runner.js';
import {
  ensureStack,
  ensureStackAtVersion,
  ensureStackUpdated,
  resolveTemplate,
  retireStacks,
  snapshotDatabase,
} from './stacks.js';
import { copyTenantData, eraseTenantData, exportTenantData } from './tenant-data.js';
import { setRoleBlocked } from './tenant-role.js';

export { BILLING_SKIPPED } from './billing.js';
export type { BillingDeps, HandlerOf, TaskDeps, TaskHandler, TaskInput, TaskResult } from './context.js';
export { TaskError, toTaskError } from './context.js';
export {
  checkTaskArgs,
  isTaskName,
  TASK_ARGS,
  TASK_NAMES,
  type TaskArgs,
  type TaskName,
} from './contract.js';
export type { TaskHandlers, TaskRunner, TaskRunnerHooks, TaskRunnerOptions } from './runner.js';

/**
 * Every handler a Task state can name in `Parameters.task`: exactly the tasks of the contract
 * (./contract.ts), each typed by its own args, so a missing or extra handler does not typecheck.
 */
export const TASK_HANDLERS = {
  BeginOperation: beginOperation,
  ResolveTemplate: resolveTemplate,
  EnsureStack: ensureStack,
  EnsureStackUpdated: ensureStackUpdated,
  EnsureStackAtVersion: ensureStackAtVersion,
  RetireStacks: retireStacks,
  SnapshotDatabase: snapshotDatabase,
  CreateIdentity: createIdentity,
  DeleteIdentity: deleteIdentity,
  SetUsersEnabled: setUsersEnabled,
  SetAdminEmail: setAdminEmail,
  CreateApiKey: createApiKey,
  MoveApiKey: moveApiKey,
  SetApiKeyEnabled: setApiKeyEnabled,
  SetRoleBlocked: setRoleBlocked,
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
  EnsureBillingCustomer: ensureBillingCustomer,
  EnsureSubscription: ensureSubscription,
  MoveSubscription: moveSubscription,
  CancelSubscription: cancelSubscription,
  ReportUsage: reportUsage,
  ReleaseDomain: releaseDomain,
} as const satisfies TaskHandlers;

/** The task runner over every handler of the contract (see ./runner.ts). */
export function createTaskRunner(
  deps: TaskDeps,
  hooks: TaskRunnerHooks = {},
  options: TaskRunnerOptions = {},
): TaskRunner {
  return createTaskRunnerWith(TASK_HANDLERS, deps, hooks, options);
}

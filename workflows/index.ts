import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { OperationClaims } from '../core/registry/claims.js';
import type { Operation } from '../core/registry/records.js';
import type { AwsRuntime } from '../core/runtime.js';
import { type PlatformOutputs, SynthesisService, type TemplateTarget } from '../templates/index.js';
import type { TierCatalog } from '../tiers/catalog.js';
import { LocalEngine } from './engine/local.js';
import { StepFunctionsEngine } from './engine/stepfunctions.js';
import type { WorkflowEngine } from './engine/types.js';
import { type EventPublisher, eventBridgePublisher } from './events.js';
import { createGates, RateLimiter } from './gates.js';
import { createLifecycleService } from './lifecycle.js';
import type { LifecycleService } from './service.js';
import { createTaskRunner, type TaskDeps, type TaskRunner, type TaskRunnerHooks } from './tasks/index.js';
import { OperationWatch } from './watch.js';

export { definitionText, substitute, workflowDefinitions } from './definitions/index.js';
export { LocalEngine } from './engine/local.js';
export { StepFunctionsEngine } from './engine/stepfunctions.js';
export type { WorkflowEngine } from './engine/types.js';
export { type GateSpec, gateSpecs } from './gates.js';
export { createLifecycleService, slugify } from './lifecycle.js';
export type { CallContext, LifecycleService, Started } from './service.js';
export {
  createTaskRunner,
  TASK_HANDLERS,
  type TaskInput,
  type TaskResult,
  type TaskRunnerHooks,
} from './tasks/index.js';
export {
  EMAIL_PATTERN,
  normalizeEmail,
  type TenantUser,
  TenantUsers,
  type TenantUsersOptions,
} from './tenant-users.js';
export { OperationWatch } from './watch.js';

export interface Workflows {
  readonly engine: WorkflowEngine;
  /** Long polling on operations; close it before the API so waiting requests answer at once. */
  readonly watch: OperationWatch;
  readonly lifecycle: LifecycleService;
  readonly runTask: TaskRunner;
  readonly deps: TaskDeps;
  /** This process's claims (local engine): heartbeated, so other processes can tell it died. */
  readonly claims?: OperationClaims | undefined;
  /** Stops the long polls and the engine, then waits for the gate releases of operations that ended. */
  close(): Promise<void>;
}

export interface WorkflowsOptions {
  readonly config: Config;
  readonly aws: AwsRuntime;
  readonly catalog: TierCatalog;
  /**
   * The platform's outputs. Absent in a process that only starts executions (the API function):
   * there a task that needs the platform fails with a clear error.
   */
  readonly platform?: PlatformOutputs;
  readonly synth?: SynthesisService;
  readonly events?: EventPublisher;
  readonly hooks?: TaskRunnerHooks;
  readonly onStarted?: (operation: Operation) => void;
  readonly onFinished?: (operation: Operation) => void;
  readonly log?: { error(obj: unknown, msg?: string): void };
  readonly clock?: () => Date;
}

/** Wires the task handlers, the engine the configuration names, and the lifecycle service. */
export function createWorkflows(options: WorkflowsOptions): Workflows {
  const { config, aws, catalog, platform } = options;
  const clock = options.clock ?? (() => new Date());
  const target: TemplateTarget = aws.emulator ? 'moto' : 'aws';
  const registry = aws.registry;
  const platformOutputs = (): PlatformOutputs => {
    if (!platform)
      throw new ControlPlaneError('INTERNAL', 'this process was built without the platform (API role)');
    return platform;
  };
  // The engine is made after the task deps; the watch asks it lazily.
  let engineRef: WorkflowEngine | undefined;
  const watch = new OperationWatch({
    registry,
    runsHere: (operationId) => engineRef?.runsHere(operationId) ?? false,
    pollMs: config.operationWatchPollMs,
  });
  const gates = createGates(
    { documents: aws.clients.documents, tableName: registry.tableName, clock },
    config,
  );
  // Gate releases still running; close() waits for them before the SDK clients go.
  const releasing = new Set<Promise<void>>();
  const deps: TaskDeps = {
    registry,
    clients: aws.clients,
    catalog,
    synth: options.synth ?? new SynthesisService({ cacheDir: join(config.dataDir, 'templates') }),
    platform: platformOutputs,
    target,
    prefix: config.resourcePrefix,
    events: options.events ?? eventBridgePublisher(aws.clients, () => platformOutputs().eventBusName, clock),
    stackGate: gates.stackGate,
    cognitoLimiter: new RateLimiter(config.cognitoUsersPerSecond),
    accountGate: gates.accountGate,
    accounts: {
      emailPattern: config.accountEmailPattern,
      ouPath: config.accountOuPath,
      roleName: config.accountRoleName,
    },
    migrationTimeoutSeconds: config.migrationCallbackTimeoutSeconds,
    exportRetentionDays: config.tenantExportRetentionDays,
    clock,
    onFinished: (operation) => {
      options.onFinished?.(operation);
      watch.ended(operation);
      // Whatever the operation still holds (a path that missed its release) is freed at its end.
      const release = gates
        .releaseOperation(operation.operationId)
        .catch((e) =>
          options.log?.error({ err: e, operationId: operation.operationId }, 'could not release gates'),
        )
        .finally(() => releasing.delete(release));
      releasing.add(release);
    },
    cloudFormationRoleArn: config.cloudFormationRoleArn,
    tenantRoleBoundaryArn: config.tenantRoleBoundaryArn,
  };
  const runTask = createTaskRunner(
    deps,
    options.hooks,
    config.engine === 'local' ? { localBackoff: { baseMs: config.stackPollMs } } : {},
  );
  // The local engine's claims also own this process's idempotency records (the API's `processOwner`).
  const claims =
    config.engine === 'local'
      ? new OperationClaims({
          documents: aws.clients.documents,
          tableName: registry.tableName,
          ttlSeconds: config.operationClaimSeconds,
          clock,
        })
      : undefined;
  const engine: WorkflowEngine =
    config.engine === 'stepfunctions'
      ? new StepFunctionsEngine({
          sfn: aws.clients.sfn,
          registry,
          stateMachineArn: (type) => `${config.stateMachineArnPrefix ?? ''}${type}`,
          pollSeconds: Math.max(1, Math.round(config.stackPollMs / 1000)),
        })
      : new LocalEngine({
          registry,
          runTask,
          pollMs: config.stackPollMs,
          ...(claims ? { claims } : {}),
          ...(options.log ? { log: options.log } : {}),
        });
  engineRef = engine;
  const lifecycle = createLifecycleService({
    registry,
    watch,
    catalog,
    engine,
    defaultRegion: config.region,
    clock,
    ...(options.onStarted ? { onStarted: options.onStarted } : {}),
  });
  const close = async (): Promise<void> => {
    watch.close();
    await engine.close();
    await Promise.all([...releasing]);
  };
  return { engine, watch, lifecycle, runTask, deps, claims, close };
}

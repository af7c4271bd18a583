import { join } from 'node:path';
import { BillingAccounts } from '../core/billing/accounts.js';
import type { BillingProvider } from '../core/billing/provider.js';
import type { UsageSource } from '../core/billing/usage.js';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { awsQuotaSource } from '../core/quotas/aws.js';
import { LAMBDA_UNRESERVED, reservedConcurrencyHeld } from '../core/quotas/rules.js';
import { QuotaService } from '../core/quotas/service.js';
import { FindingsStore } from '../core/reconcile/store.js';
import { OperationClaims } from '../core/registry/claims.js';
import type { RegistryReader } from '../core/registry/queries.js';
import type { Operation } from '../core/registry/records.js';
import { ISOLATIONS } from '../core/rollouts/records.js';
import { RolloutStore } from '../core/rollouts/store.js';
import { TemplateVersionStore } from '../core/rollouts/template-versions.js';
import type { AwsRuntime } from '../core/runtime.js';
import { regionalAcmCertificates } from '../core/tenant-config/certificates.js';
import { TenantConfigStore } from '../core/tenant-config/store.js';
import {
  ensurePlatform,
  type PlatformOutputs,
  readPlatform,
  StackDeployer,
  SynthesisService,
  TEMPLATE_CODE_VERSION,
  type TemplateTarget,
} from '../templates/index.js';
import type { TierCatalog } from '../tiers/catalog.js';
import { LocalEngine } from './engine/local.js';
import { StepFunctionsEngine } from './engine/stepfunctions.js';
import type { WorkflowEngine } from './engine/types.js';
import { EventTap, operationFeed } from './event-tap.js';
import { type EventPublisher, eventBridgePublisher } from './events.js';
import { createGates, RateLimiter } from './gates.js';
import { createLifecycleService } from './lifecycle.js';
import { RegionalPlatforms } from './platforms.js';
import { cloudFormationDrift, unavailableDrift } from './reconcile/drift.js';
import { Reconciler } from './reconcile/reconciler.js';
import { LocalRolloutEngine } from './rollouts/engine.js';
import { eventBridgeRolloutPublisher, type RolloutEventPublisher } from './rollouts/events.js';
import { allTenants, createRolloutService, type RolloutService } from './rollouts/service.js';
import {
  ROLLOUT_MACHINE,
  type RolloutEngine,
  StepFunctionsRolloutEngine,
} from './rollouts/stepfunctions-engine.js';
import { createRolloutTaskRunner, type RolloutTaskInput } from './rollouts/tasks.js';
import type { LifecycleService } from './service.js';
import { createTaskRunner, type TaskDeps, type TaskRunner, type TaskRunnerHooks } from './tasks/index.js';
import { OperationWatch } from './watch.js';

export { definitionText, reconcileDefinition, substitute, workflowDefinitions } from './definitions/index.js';
export { LocalEngine } from './engine/local.js';
export { StepFunctionsEngine } from './engine/stepfunctions.js';
export type { WorkflowEngine } from './engine/types.js';
export {
  EventTap,
  type Replay,
  STREAM_EVENT_TYPES,
  type StreamEventType,
  type TappedEvent,
} from './event-tap.js';
export { type GateSpec, gateSpecs } from './gates.js';
export { createLifecycleService, slugify, updateInput } from './lifecycle.js';
export { platformGateSpecs, RegionalPlatforms, regionalTenantExports } from './platforms.js';
export { cloudFormationDrift, type DriftDetector, unavailableDrift } from './reconcile/drift.js';
export { type PageResult, Reconciler, type ReconcilerOptions } from './reconcile/reconciler.js';
export {
  isRolloutTask,
  ROLLOUT_TASKS,
  rolloutDefinition,
  rolloutDefinitionText,
} from './rollouts/definition.js';
export { LocalRolloutEngine } from './rollouts/engine.js';
export { ROLLOUT_EVENT_TYPES, type RolloutEvent, type RolloutEventPublisher } from './rollouts/events.js';
export {
  allTenants,
  type RolloutService,
  type RolloutView,
  type TemplateVersionView,
  tenantsByVersion,
  waveProgress,
} from './rollouts/service.js';
export {
  ROLLOUT_MACHINE,
  type RolloutEngine,
  rolloutExecutionName,
  StepFunctionsRolloutEngine,
} from './rollouts/stepfunctions-engine.js';
export type { CallContext, LifecycleService, Started, TenantUpdate } from './service.js';
export {
  BILLING_SKIPPED,
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
  /** This process's lifecycle events and operation/step changes, for the event stream. */
  readonly tap: EventTap;
  readonly lifecycle: LifecycleService;
  readonly runTask: TaskRunner;
  readonly deps: TaskDeps;
  /** This process's claims (local engine): heartbeated, so other processes can tell it died. */
  readonly claims?: OperationClaims | undefined;
  /** Quota pre-checks the lifecycle asks before an onboarding (and GET /v1/quotas reads). */
  readonly quotas: QuotaService;
  /** The quota pre-checks of an allowed region (`quotas` at home); REGION_NOT_ALLOWED elsewhere. */
  readonly quotasIn: (region: string) => QuotaService;
  /** Compares the registry with AWS (docs/reconcile.md); its findings in `findings`. */
  readonly reconciler: Reconciler;
  readonly findings: FindingsStore;
  /** Fleet rollouts of template versions (docs/rollouts.md). */
  readonly rollouts: {
    readonly service: RolloutService;
    /** The embedded engine locally; on Step Functions, the deployed `<prefix>-rollout` machine. */
    readonly engine: RolloutEngine;
    readonly versions: TemplateVersionStore;
    readonly store: RolloutStore;
    /** The rollout state machine's task dispatcher (the local engine's, and the task function's). */
    readonly runTask: (input: RolloutTaskInput) => Promise<unknown>;
    /** Registers the template versions `synth` produces (the code's, by default) as the latest. */
    registerVersions(synth?: SynthesisService): Promise<void>;
  };
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
  /** The billing provider (core/billing/stripe.ts `billingProviderFromConfig`); none: billing steps are skipped. */
  readonly billing?: BillingProvider | undefined;
  /** Where the usage reported as meter events comes from (the metering store). */
  readonly usage?: UsageSource | undefined;
  /** Where rollout events go. @default the platform's bus */
  readonly rolloutEvents?: RolloutEventPublisher;
  /**
   * Another region's platform, on a tenant's first step there: deployed (`ensure`, like the home
   * one at start-up) or read as deployed (`read`: the task function). @default 'ensure'
   */
  readonly regionalPlatforms?: 'ensure' | 'read';
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
  const tap = new EventTap({ clock });
  const feed = operationFeed(tap);
  const bus =
    options.events ?? eventBridgePublisher(aws.clients, () => platformOutputs().eventBusName, clock);
  // What goes to EventBridge goes to the local tap too, once published.
  const events: EventPublisher = {
    async publish(e) {
      const event = await bus.publish(e);
      tap.emit(event);
      return event;
    },
  };
  const io = { db: aws.clients.documents, tableName: registry.tableName, clock };
  const synth = options.synth ?? new SynthesisService({ cacheDir: join(config.dataDir, 'templates') });
  const readRegion = (clients: AwsRuntime['clients']) =>
    readPlatform({ clients, prefix: config.resourcePrefix, catalog });
  const regions = new RegionalPlatforms({
    home: { region: config.region, platform: platformOutputs },
    allowed: config.allowedRegions,
    clients: aws.clients,
    ensure:
      options.regionalPlatforms === 'read'
        ? readRegion
        : (clients) =>
            ensurePlatform({
              clients,
              synth,
              target,
              prefix: config.resourcePrefix,
              catalog,
              deployer: new StackDeployer({
                cloudformation: clients.cloudformation,
                pollMs: Math.min(config.stackPollMs, 1000),
              }),
            }),
    read: readRegion,
    lease: { documents: aws.clients.documents, tableName: registry.tableName, clock },
    pollMs: Math.max(50, config.stackPollMs),
  });
  const templateVersions = new TemplateVersionStore(io);
  const rolloutStore = new RolloutStore(io);
  const deps: TaskDeps = {
    registry,
    clients: aws.clients,
    catalog,
    synth,
    platform: platformOutputs,
    regions,
    target,
    prefix: config.resourcePrefix,
    events,
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
    onStep: (change) => {
      watch.changed(change.operationId);
      feed.step(change);
    },
    onFinished: (operation) => {
      options.onFinished?.(operation);
      watch.ended(operation);
      feed.ended(operation);
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
    billing: options.billing
      ? {
          provider: options.billing,
          accounts: new BillingAccounts({
            documents: aws.clients.documents,
            tableName: registry.tableName,
            clock,
          }),
          usage: options.usage,
        }
      : undefined,
    templateVersions,
    // Offboarding releases a custom domain's certificate in the region its ARN names.
    tenantDomains: new TenantConfigStore({
      documents: aws.clients.documents,
      tableName: registry.tableName,
      registry,
      tierDefaults: (tier) => catalog.features(tier),
      certificates: regionalAcmCertificates(registry, aws.clients),
      clock,
    }),
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
  const quotas = createQuotaService(config, aws, catalog, clock);
  // Quotas are per region: a tenant placed elsewhere is checked against that region's.
  const quotasIn = regionalQuotaServices(config, aws, catalog, quotas, clock);
  const lifecycle = createLifecycleService({
    registry,
    watch,
    catalog,
    engine,
    defaultRegion: config.region,
    allowedRegions: config.allowedRegions,
    // On Step Functions the functions are granted the regions the CDK app declared a platform in
    // (PLATFORM_REGIONS, control-plane/infra) and deploy none themselves.
    placement: config.engine === 'stepfunctions' ? config.platformRegions : 'any',
    clock,
    admission: {
      admit: (tier, region) => quotasIn(region).admit(tier),
      admitted: (tier, region) => quotasIn(region).admitted(tier),
      admitChange: (from, to, region) => quotasIn(region).admitChange(from, to),
      admittedChange: (from, to, region) => quotasIn(region).admittedChange(from, to),
    },
    onStarted: (operation) => {
      options.onStarted?.(operation);
      feed.started(operation);
    },
  });
  const findings = new FindingsStore({
    documents: aws.clients.documents,
    tableName: registry.tableName,
    clock,
  });
  const reconciler = new Reconciler({
    deps,
    store: findings,
    // moto has no drift detection: say so in every finding rather than call it and fail.
    drift: aws.emulator
      ? unavailableDrift('moto does not implement DetectStackDrift')
      : cloudFormationDrift({
          maxInFlight: config.reconcileDriftConcurrency,
          pollMs: config.stackPollMs,
          timeoutMs: 10 * 60_000,
        }),
    concurrency: config.reconcileConcurrency,
    owner: claims?.runnerId ?? 'stepfunctions',
    repair: (tenantId, ctx) => lifecycle.repair(tenantId, ctx),
    ...(options.log ? { log: options.log } : {}),
  });
  const rolloutBus =
    options.rolloutEvents ??
    eventBridgeRolloutPublisher(aws.clients, () => platformOutputs().eventBusName, clock);
  // Rollout events reach the local tap too (the console's Rollouts page follows them).
  const rolloutEvents: RolloutEventPublisher = {
    async publish(e) {
      const event = await rolloutBus.publish(e);
      tap.emit(event);
      return event;
    },
  };
  const runRolloutTask = createRolloutTaskRunner({
    store: rolloutStore,
    registry,
    events: rolloutEvents,
    startRollout: (rolloutId) => rolloutEngine.start(rolloutId),
    awaitOperation: (operationId, timeoutMs) => watch.wait(operationId, timeoutMs),
    clock,
    busyRetrySeconds: Math.max(1, Math.round(config.stackPollMs / 1000)),
    async startUpdate(tenantId, input, actor, admitted) {
      const { operation } = await registry.startOperation(tenantId, 'update-template', {
        actor,
        input,
        ...(engine.runnerId ? { runner: engine.runnerId } : {}),
        ...admitted,
      });
      options.onStarted?.(operation);
      await engine.start(operation);
      return operation;
    },
  });
  const rolloutEngine: RolloutEngine =
    config.engine === 'stepfunctions'
      ? new StepFunctionsRolloutEngine({
          sfn: aws.clients.sfn,
          store: rolloutStore,
          stateMachineArn: `${config.stateMachineArnPrefix ?? ''}${ROLLOUT_MACHINE}`,
          pollSeconds: Math.max(1, Math.round(config.stackPollMs / 1000)),
        })
      : new LocalRolloutEngine({
          store: rolloutStore,
          runTask: runRolloutTask,
          pollMs: config.stackPollMs,
          ...(options.log ? { log: options.log } : {}),
        });
  const rollouts: Workflows['rollouts'] = {
    engine: rolloutEngine,
    runTask: runRolloutTask,
    versions: templateVersions,
    store: rolloutStore,
    service: createRolloutService({
      store: rolloutStore,
      versions: templateVersions,
      registry,
      catalog,
      events: rolloutEvents,
      start: (rolloutId) => rolloutEngine.start(rolloutId),
      clock,
      bundled: config.bundledTemplateVersions,
    }),
    async registerVersions(synth = deps.synth) {
      for (const isolation of ISOLATIONS)
        await templateVersions.register(
          isolation,
          await synth.resolve(isolation, target),
          TEMPLATE_CODE_VERSION,
        );
    },
  };
  const close = async (): Promise<void> => {
    watch.close();
    await reconciler.idle();
    await rolloutEngine.close();
    await engine.close();
    await Promise.all([...releasing]);
  };
  return {
    engine,
    watch,
    tap,
    lifecycle,
    runTask,
    deps,
    claims,
    quotas,
    quotasIn,
    reconciler,
    findings,
    rollouts,
    close,
  };
}

/** The quota pre-checks of a control plane, on its AWS clients and configuration. */
export function createQuotaService(
  config: Config,
  aws: Pick<AwsRuntime, 'clients'> & { readonly registry?: RegistryReader },
  catalog: TierCatalog,
  clock?: () => Date,
): QuotaService {
  const { registry } = aws;
  const region = aws.clients.target.region;
  return new QuotaService({
    source: awsQuotaSource(aws.clients, {
      // Reservations of this region's tenants in our account, as the registry records them.
      ...(registry
        ? {
            reservedConcurrency: async () =>
              reservedConcurrencyHeld(await allTenants(registry), region, (name) =>
                catalog.tiers.find((t) => t.name === name),
              ),
          }
        : {}),
    }),
    tiers: () => catalog.tiers,
    configuredLimits: config.quotaLimits,
    standInLimits: {
      'lambda.reserved-concurrency': catalog.lambdaConcurrencyLimit - LAMBDA_UNRESERVED,
    },
    cacheSeconds: config.quotaCacheSeconds,
    enabled: config.quotaPrecheck,
    ...(clock ? { clock } : {}),
  });
}

/**
 * The quota pre-checks of each region tenants may live in (home: `home`; another allowed region:
 * its own, on that region's clients, made on first use). Any other region is REGION_NOT_ALLOWED.
 */
export function regionalQuotaServices(
  config: Config,
  aws: Pick<AwsRuntime, 'clients'> & { readonly registry?: RegistryReader },
  catalog: TierCatalog,
  home: QuotaService,
  clock?: () => Date,
): (region: string) => QuotaService {
  const made = new Map<string, QuotaService>();
  return (region) => {
    if (region === config.region) return home;
    if (!config.allowedRegions.includes(region)) {
      const allowed = [...new Set([config.region, ...config.allowedRegions])];
      throw new ControlPlaneError(
        'REGION_NOT_ALLOWED',
        `region ${region} is not allowed by this deployment (ALLOWED_REGIONS); allowed: ${allowed.join(', ')}`,
        { details: { region, allowed } },
      );
    }
    let q = made.get(region);
    if (!q) {
      q = createQuotaService(
        config,
        { clients: aws.clients.forRegion(region), ...(aws.registry ? { registry: aws.registry } : {}) },
        catalog,
        clock,
      );
      made.set(region, q);
    }
    return q;
  };
}

import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BillingAccounts } from '../core/billing/accounts.js';
import { billingRevenue } from '../core/billing/revenue.js';
import { billingProviderFromConfig } from '../core/billing/stripe.js';
import { reportAllUsage } from '../core/billing/usage.js';
import type { Config } from '../core/config.js';
import { costExplorerSource } from '../core/costs/cost-explorer.js';
import { ControlPlaneError } from '../core/errors.js';
import type { Operation } from '../core/registry/records.js';
import { type AwsRuntime, type AwsRuntimeOptions, startAwsRuntime } from '../core/runtime.js';
import { every } from '../core/schedule.js';
import { regionalAcmCertificates } from '../core/tenant-config/certificates.js';
import { TenantConfigStore } from '../core/tenant-config/store.js';
import { usageSourceOf } from '../core/usage/billing-source.js';
import { UsageStore } from '../core/usage/store.js';
import {
  ensurePlatform,
  findUserPool,
  type PlatformOutputs,
  readPlatform,
  StackDeployer,
  SynthesisService,
  tenantUserPoolName,
} from '../templates/index.js';
import { CredentialVendor, registryDirectory } from '../tenant-access/index.js';
import { TierCatalog } from '../tiers/catalog.js';
import {
  allTenants,
  createWorkflows,
  regionalTenantExports,
  type TaskRunnerHooks,
  TenantUsers,
  tenantsByVersion,
  type Workflows,
} from '../workflows/index.js';
import { ApiKeyStore, ensureAdminKey } from './api-keys.js';
import type { AppDeps } from './app.js';
import { consoleAssets } from './console/assets.js';
import { type ControlPlaneMetrics, createMetrics } from './metrics.js';
import { portError, preflight } from './preflight.js';

/**
 * The one composition root: every process of the control plane is `buildRuntime(config, { role })`.
 *
 * - `server`: `npm start` (control-plane/main.ts): ensures the platform, runs the configured engine
 *   (local by default), serves the API on config.host:port and resumes open operations.
 * - `api-lambda`: the API function (control-plane/lambda.ts): the same API, requests through
 *   `inject`; workflows are started on Step Functions, nothing runs between requests.
 * - `task-lambda`: the task function (control-plane/task-lambda.ts): the task runner every Task
 *   state invokes, on the platform as deployed.
 */
export type RuntimeRole = 'server' | 'api-lambda' | 'task-lambda';

/** What each role builds. */
export interface RoleSpec {
  /** The platform: brought up to date here (`ensure`), read as deployed (`read`), or not used. */
  readonly platform: 'ensure' | 'read' | 'none';
  /** Serves the HTTP API. */
  readonly api: boolean;
  /** Listens on a socket, prints start-up progress and the generated admin key, resumes open operations. */
  readonly server: boolean;
  /** Starts executions on Step Functions only (WORKFLOW_ENGINE=stepfunctions and an ARN prefix required). */
  readonly startsOnStepFunctions: boolean;
}

export const RUNTIME_ROLES: Readonly<Record<RuntimeRole, RoleSpec>> = {
  server: { platform: 'ensure', api: true, server: true, startsOnStepFunctions: false },
  'api-lambda': { platform: 'none', api: true, server: false, startsOnStepFunctions: true },
  'task-lambda': { platform: 'read', api: false, server: false, startsOnStepFunctions: false },
};

export interface BuildRuntimeOptions<R extends RuntimeRole = RuntimeRole> {
  readonly role: R;
  /** One line per start-up stage (server role; the entry point prints them). */
  readonly progress?: (line: string) => void;
  /** Test hooks for the task runner (crash injection). */
  readonly hooks?: TaskRunnerHooks;
  readonly instrument?: AwsRuntimeOptions['instrument'];
  /** Server role: do not listen (tests use app.inject). @default true */
  readonly listen?: boolean;
  /** The API's logger (app.ts AppDeps.logger): main.ts gives the log format's stream. */
  readonly logger?: AppDeps['logger'];
  /** Print a generated admin key in the progress lines (a terminal), or only where it is kept (JSON logs). @default true */
  readonly showGeneratedKey?: boolean;
  /** Where synthesized templates are cached. @default `<dataDir>/templates` */
  readonly templateCacheDir?: string;
}

interface RuntimeBase {
  readonly role: RuntimeRole;
  readonly config: Config;
  readonly aws: AwsRuntime;
  readonly catalog: TierCatalog;
  readonly workflows: Workflows;
  /** Stops long polls, the API, the engine, then the SDK clients. */
  close(): Promise<void>;
}

/** `npm start`: a whole control plane. */
export interface ServerRuntime extends RuntimeBase {
  readonly app: FastifyInstance;
  readonly platform: PlatformOutputs;
  /** The admin key when this start generated it (print once), else undefined. */
  readonly generatedAdminKey: string | undefined;
  /** Where the API listens, e.g. http://127.0.0.1:3000. */
  readonly url: string;
}

/** The API function: the app, ready for `inject`, and the engine the resume schedule calls. */
export interface ApiLambdaRuntime extends RuntimeBase {
  readonly app: FastifyInstance;
  readonly engine: Workflows['engine'];
  readonly rolloutEngine: Workflows['rollouts']['engine'];
}

/** The task function: the task runner on the deployed platform. */
export interface TaskLambdaRuntime extends RuntimeBase {
  readonly platform: PlatformOutputs;
}

export interface RuntimeOf {
  server: ServerRuntime;
  'api-lambda': ApiLambdaRuntime;
  'task-lambda': TaskLambdaRuntime;
}

function requireEngine(config: Config, role: RuntimeRole): void {
  if (!RUNTIME_ROLES[role].startsOnStepFunctions) return;
  if (config.engine !== 'stepfunctions' || !config.stateMachineArnPrefix) {
    throw new ControlPlaneError(
      'CONFIG_INVALID',
      'the API function runs workflows on Step Functions: set WORKFLOW_ENGINE=stepfunctions and STATE_MACHINE_ARN_PREFIX',
    );
  }
}

/** Operation durations for the metrics, from start to end as this process saw them. */
function operationTimer(metrics: ControlPlaneMetrics) {
  const started = new Map<string, number>();
  return {
    onStarted: (op: Operation) => started.set(op.operationId, Date.now()),
    onFinished: (op: Operation) => {
      const t0 = started.get(op.operationId) ?? Date.parse(op.createdAt);
      started.delete(op.operationId);
      metrics.operationFinished(op.type, op.status, (Date.now() - t0) / 1000);
    },
  };
}

/**
 * Builds the control plane for one role: local AWS (if needed) and the registry, the platform,
 * the workflows (engine, task runner, lifecycle service), and the API where the role serves it.
 */
export async function buildRuntime<R extends RuntimeRole>(
  config: Config,
  options: BuildRuntimeOptions<R>,
): Promise<RuntimeOf[R]> {
  const { role } = options;
  const spec = RUNTIME_ROLES[role];
  requireEngine(config, role);
  const say = options.progress ?? (() => undefined);
  const catalog = TierCatalog.load(config.tierCatalogFile);
  // Before any side effect: no moto, platform or admin key for a start that cannot serve.
  if (spec.server && options.listen !== false) await preflight(config);
  const aws = await startAwsRuntime(config, options.instrument ? { instrument: options.instrument } : {});
  say(
    aws.awsEndpoint
      ? `local AWS at ${aws.awsEndpoint} (registry table ${config.registryTable})`
      : `AWS ${config.region} (registry table ${config.registryTable})`,
  );
  if (aws.localAws?.notice) say(aws.localAws.notice);

  const synth = new SynthesisService({
    cacheDir: options.templateCacheDir ?? join(config.dataDir, 'templates'),
  });
  let platform: PlatformOutputs | undefined;
  if (spec.platform === 'ensure') {
    say('ensuring the platform (shared VPC, pooled table, event bus, user pool, usage plans)…');
    platform = await ensurePlatform({
      clients: aws.clients,
      synth,
      target: aws.emulator ? 'moto' : 'aws',
      prefix: config.resourcePrefix,
      catalog,
      deployer: new StackDeployer({
        cloudformation: aws.clients.cloudformation,
        pollMs: Math.min(config.stackPollMs, 1000),
      }),
    });
    say(`platform ready: stack ${platform.stackName} (template ${platform.templateVersion})`);
  } else if (spec.platform === 'read') {
    platform = await readPlatform({ clients: aws.clients, prefix: config.resourcePrefix, catalog });
  }

  // The server's metrics see operations end here (local engine); the app is made after the workflows.
  const metrics = spec.server ? createMetrics() : undefined;
  let app: FastifyInstance | undefined;
  const billing = billingProviderFromConfig(config);
  // One usage store: the API records and reads usage in it, the billing reporter reports from it.
  const usage = new UsageStore({
    db: aws.clients.documents,
    tableName: config.registryTable,
    clock: () => new Date(),
  });
  const usageSource = usageSourceOf(usage, () => catalog.meters);
  const workflows = createWorkflows({
    config,
    aws,
    catalog,
    ...(platform ? { platform } : {}),
    synth,
    ...(billing ? { billing } : {}),
    usage: usageSource,
    // The task function reads other regions' platforms as deployed; the server deploys them.
    ...(spec.platform === 'read' ? { regionalPlatforms: 'read' as const } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(metrics
      ? {
          ...operationTimer(metrics),
          log: { error: (obj: unknown, msg?: string) => app?.log.error(obj, msg) },
        }
      : {}),
  });
  metrics?.tenantsByTemplateVersion(async () => tenantsByVersion(await allTenants(aws.registry)));
  const close = async () => {
    workflows.watch.close();
    await app?.close();
    await workflows.close();
    aws.clients.destroy();
  };
  const base: RuntimeBase = { role, config, aws, catalog, workflows, close };

  if (!spec.api) return { ...base, platform: platform as PlatformOutputs } as RuntimeOf[R];

  // Loaded only by the roles that serve the API: the task function's bundle never runs Fastify.
  const { buildApp } = await import('./app.js');
  const apiKeys = new ApiKeyStore({
    documents: aws.clients.documents,
    tableName: config.registryTable,
    rotationOverlapMs: config.apiKeyRotationOverlapSeconds * 1000,
  });
  const deployed = platform;
  const billingAccounts = new BillingAccounts({
    documents: aws.clients.documents,
    tableName: config.registryTable,
  });
  app = await buildApp({
    config,
    registry: aws.registry,
    catalog,
    lifecycle: workflows.lifecycle,
    apiKeys,
    tenantConfig: new TenantConfigStore({
      documents: aws.clients.documents,
      tableName: config.registryTable,
      registry: aws.registry,
      tierDefaults: (tier) => catalog.features(tier),
      // A tenant's custom-domain certificate is requested in its region.
      certificates: regionalAcmCertificates(aws.registry, aws.clients),
    }),
    quotas: workflows.quotas,
    quotasIn: workflows.quotasIn,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ...(metrics ? { metrics } : {}),
    ...(workflows.claims ? { processOwner: workflows.claims } : {}),
    // Exports live in the platform's artifact bucket: served where the platform is known.
    ...(deployed
      ? {
          exports: regionalTenantExports(aws.registry, workflows.deps.regions, {
            s3: aws.clients.s3,
            bucket: () => deployed.artifactBucketName,
          }),
        }
      : {}),
    usage,
    costs: costExplorerSource(aws.clients.costExplorer),
    billingAccounts,
    // Cost ÷ revenue in cost reports: what each tenant's billing customer paid.
    ...(billing ? { revenue: billingRevenue(billing, billingAccounts) } : {}),
    // The reconciler reads the platform (user pool, usage plans): served where the platform is known.
    ...(deployed ? { reconcile: { reconciler: workflows.reconciler, findings: workflows.findings } } : {}),
    rollouts: workflows.rollouts.service,
    access: tenantAccess(config, aws, workflows, deployed),
    health: () => aws.health(),
    // The stream carries what this process runs: the local engine's operations.
    ...(config.engine === 'local' ? { events: { tap: workflows.tap } } : {}),
    ...(spec.server ? { console: consoleAssets } : {}),
  });
  const admin = await ensureAdminKey(config, apiKeys);
  const theApp = app;
  if (!spec.server) {
    await theApp.ready();
    return {
      ...base,
      app: theApp,
      engine: workflows.engine,
      rolloutEngine: workflows.rollouts.engine,
    } as RuntimeOf[R];
  }

  if (admin.generated && admin.key) {
    // Secrets never reach logs: in JSON mode (a log collector) only where the key is kept.
    say(
      options.showGeneratedKey === false
        ? `generated an admin API key, kept in ${admin.file} (not logged)`
        : `generated an admin API key (shown once; also kept in ${admin.file}):\n\n    ${admin.key}\n`,
    );
  }
  let url = `http://${config.host}:${config.port}`;
  if (options.listen !== false) {
    try {
      url = await theApp.listen({ host: config.host, port: config.port });
    } catch (e) {
      // Taken since the pre-flight check: stop what started, answer in one line.
      await close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') throw portError(config.host, config.port, code);
      throw e;
    }
  }
  // Built before the first visit, so a broken bundle is said at start-up, not on a page.
  const consoleReady = await consoleAssets().then(
    () => `console at ${url}/console`,
    (e: unknown) => `the console is unavailable: ${(e as Error).message}`,
  );
  // The code's templates are registered as the latest versions (a new version appears when they change).
  await workflows.rollouts.registerVersions();
  if (config.resumeOnStart) {
    const resumed = await workflows.engine.resumeOpen();
    if (resumed > 0) say(`resumed ${resumed} operation(s) left running by a previous process`);
    const rollouts = await workflows.rollouts.engine.resumeOpen();
    if (rollouts > 0) say(`resumed ${rollouts} rollout(s) left running by a previous process`);
  }
  // Said last: the process is ready (and main.ts's signal handlers are installed) once it is printed.
  say(`control plane listening on ${url} (API docs at ${url}/docs)`);
  say(consoleReady);
  const reconcileSchedule = every(
    config.reconcileIntervalSeconds,
    () => workflows.reconciler.runAll(),
    (e) => theApp.log.error({ err: e }, 'scheduled reconcile failed'),
  );
  if (config.reconcileIntervalSeconds > 0) say(`reconciling every ${config.reconcileIntervalSeconds} s`);
  // Closed hours of usage go to the billing provider as meter events (once each, docs/billing.md).
  const usageReport = billing
    ? every(
        config.usageReportIntervalSeconds,
        () =>
          reportAllUsage({
            provider: billing,
            accounts: billingAccounts,
            source: usageSource,
            clock: () => new Date(),
            registry: aws.registry,
          }),
        (e) => theApp.log.error({ err: e }, 'scheduled usage report failed'),
      )
    : undefined;
  if (usageReport && config.usageReportIntervalSeconds > 0)
    say(`reporting usage to ${billing?.name} every ${config.usageReportIntervalSeconds} s`);
  const server: ServerRuntime = {
    ...base,
    close: async () => {
      reconcileSchedule.stop();
      usageReport?.stop();
      await close();
    },
    app: theApp,
    platform: platform as PlatformOutputs,
    generatedAdminKey: admin.generated ? (admin.key ?? undefined) : undefined,
    url,
  };
  return server as RuntimeOf[R];
}

/**
 * Tenant users and credential vending for the API. The user pool is the platform's where this
 * process knows the platform, else found by name once (the API function). Vending uses each
 * tenant's own role, never the pooled one: suspension's deny policy on that role stops credentials
 * vended before it at once (pooled-role sessions would last until they expire; docs/access.md).
 */
function tenantAccess(
  config: Config,
  aws: AwsRuntime,
  workflows: Workflows,
  platform: PlatformOutputs | undefined,
): { users: TenantUsers; credentials: CredentialVendor } {
  const name = tenantUserPoolName(config.resourcePrefix);
  let found: string | undefined;
  const userPoolId = async (): Promise<string> => {
    if (platform) return platform.userPoolId;
    found ??= await findUserPool(aws.clients.cognito, name);
    if (!found)
      throw new ControlPlaneError('AWS_ERROR', `user pool ${name} does not exist; ensurePlatform makes it`);
    return found;
  };
  return {
    users: new TenantUsers({
      registry: aws.registry,
      cognito: aws.clients.cognito,
      userPoolId,
      limiter: workflows.deps.cognitoLimiter,
      // A tenant elsewhere has its users in its region's pool (read as deployed, once).
      inRegion: async (region) => workflows.deps.regions?.userPool(region),
    }),
    credentials: new CredentialVendor({ sts: aws.clients.sts, directory: registryDirectory(aws.registry) }),
  };
}

/** A Lambda's runtime: `init` runs once per container, on first use; a failed build is retried by the next invocation. */
export function perContainer<T>(init: () => Promise<T>): () => Promise<T> {
  let ready: Promise<T> | undefined;
  return () => {
    ready ??= init().catch((e) => {
      ready = undefined;
      throw e;
    });
    return ready;
  };
}

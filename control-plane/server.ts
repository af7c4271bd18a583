import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../core/config.js';
import type { Operation } from '../core/registry/records.js';
import { type AwsRuntime, type AwsRuntimeOptions, startAwsRuntime } from '../core/runtime.js';
import { s3TenantExports } from '../core/tenant-data/exports.js';
import { ensurePlatform, type PlatformOutputs, StackDeployer, SynthesisService } from '../templates/index.js';
import { TierCatalog } from '../tiers/catalog.js';
import { createWorkflows, type Workflows } from '../workflows/index.js';
import type { TaskRunnerHooks } from '../workflows/tasks/index.js';
import { ApiKeyStore, ensureAdminKey } from './api-keys.js';
import { buildApp } from './app.js';
import { createMetrics } from './metrics.js';

/** What /healthz tells about the moto sidecar (a restart of the control plane shows `reused`). */
function localAwsHealth(l: NonNullable<AwsRuntime['localAws']>) {
  return { pid: l.pid, port: l.port, origin: l.origin, ...(l.notice ? { notice: l.notice } : {}) };
}

export interface ControlPlane {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly aws: AwsRuntime;
  readonly platform: PlatformOutputs;
  readonly workflows: Workflows;
  /** The admin key when this start generated it (print once), else undefined. */
  readonly generatedAdminKey: string | undefined;
  /** Where the API listens, e.g. http://127.0.0.1:3000. */
  readonly url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** One line per start-up stage (platform, admin key, listening); the entry point prints them. */
  readonly progress?: (line: string) => void;
  /** Test hooks for the task runner (crash injection). */
  readonly hooks?: TaskRunnerHooks;
  readonly instrument?: AwsRuntimeOptions['instrument'];
  /** Do not listen (tests use app.inject). */
  readonly listen?: boolean;
}

/**
 * Starts a whole control plane: local AWS (if needed), registry, platform (stack, user pool, usage
 * plans), workflows, API; then resumes operations a previous process left running.
 */
export async function startControlPlane(config: Config, options: StartOptions = {}): Promise<ControlPlane> {
  const say = options.progress ?? (() => undefined);
  const catalog = TierCatalog.load(config.tierCatalogFile);
  const aws = await startAwsRuntime(config, options.instrument ? { instrument: options.instrument } : {});
  say(
    aws.awsEndpoint
      ? `local AWS at ${aws.awsEndpoint} (registry table ${config.registryTable})`
      : `AWS ${config.region} (registry table ${config.registryTable})`,
  );
  if (aws.localAws?.notice) say(aws.localAws.notice);

  const synth = new SynthesisService({ cacheDir: join(config.dataDir, 'templates') });
  const deployer = new StackDeployer({
    cloudformation: aws.clients.cloudformation,
    pollMs: Math.min(config.stackPollMs, 1000),
  });
  say('ensuring the platform (shared VPC, pooled table, event bus, user pool, usage plans)…');
  const platform = await ensurePlatform({
    clients: aws.clients,
    synth,
    target: aws.emulator ? 'moto' : 'aws',
    prefix: config.resourcePrefix,
    catalog,
    deployer,
  });
  say(`platform ready: stack ${platform.stackName} (template ${platform.templateVersion})`);

  const metrics = createMetrics();
  const started = new Map<string, number>();
  let app: FastifyInstance | undefined;
  const workflows = createWorkflows({
    config,
    aws,
    catalog,
    platform,
    synth,
    ...(options.hooks ? { hooks: options.hooks } : {}),
    onStarted: (op: Operation) => started.set(op.operationId, Date.now()),
    onFinished: (op: Operation) => {
      const t0 = started.get(op.operationId) ?? Date.parse(op.createdAt);
      started.delete(op.operationId);
      metrics.operationFinished(op.type, op.status, (Date.now() - t0) / 1000);
    },
    log: { error: (obj, msg) => app?.log.error(obj, msg) },
  });

  const apiKeys = new ApiKeyStore({ documents: aws.clients.documents, tableName: config.registryTable });
  app = await buildApp({
    config,
    registry: aws.registry,
    catalog,
    lifecycle: workflows.lifecycle,
    apiKeys,
    metrics,
    processOwner: workflows.claims,
    exports: s3TenantExports(aws.clients.s3, () => workflows.deps.platform().artifactBucketName),
    health: async () => ({
      awsEndpoint: aws.awsEndpoint,
      registry: { table: config.registryTable, status: await aws.registryStatus() },
      ...(aws.localAws ? { localAws: localAwsHealth(aws.localAws) } : {}),
    }),
  });
  const admin = await ensureAdminKey(config, apiKeys);
  if (admin.generated && admin.key) {
    say(`generated an admin API key (shown once; also kept in ${admin.file}):\n\n    ${admin.key}\n`);
  }

  let url = `http://${config.host}:${config.port}`;
  if (options.listen !== false) url = await app.listen({ host: config.host, port: config.port });
  say(`control plane listening on ${url} (API docs at ${url}/docs)`);

  if (config.resumeOnStart) {
    const resumed = await workflows.engine.resumeOpen();
    if (resumed > 0) say(`resumed ${resumed} operation(s) left running by a previous process`);
  }

  const theApp = app;
  return {
    config,
    app: theApp,
    aws,
    platform,
    workflows,
    generatedAdminKey: admin.generated ? (admin.key ?? undefined) : undefined,
    url,
    async close() {
      workflows.watch.close();
      await theApp.close();
      await workflows.engine.close();
      aws.clients.destroy();
    },
  };
}

import '../core/polyfills.js';
import { loadConfig } from '../core/config.js';
import { startAwsRuntime } from '../core/runtime.js';
import { readPlatform, SynthesisService } from '../templates/index.js';
import { TierCatalog } from '../tiers/catalog.js';
import { createWorkflows, type Workflows } from './index.js';
import type { TaskInput, TaskResult } from './tasks/index.js';

/**
 * The task Lambda: every Task state of every state machine invokes it with
 * `{ task, step, operationId, tenantId, args, state? }` (see definitions/builder.ts) and it runs the
 * same task runner the local engine runs. Built once per container.
 */
let ready: Promise<Workflows> | undefined;

async function init(): Promise<Workflows> {
  const config = loadConfig({ overrides: { target: 'aws', engine: 'stepfunctions' } });
  const aws = await startAwsRuntime(config);
  const catalog = TierCatalog.load(config.tierCatalogFile);
  // Templates ship pre-synthesized in the bundle's cache directory (see control-plane/infra).
  const synth = new SynthesisService({
    cacheDir: process.env.TEMPLATE_CACHE_DIR ?? '/var/task/templates-cache',
  });
  const platform = await readPlatform({ clients: aws.clients, prefix: config.resourcePrefix, catalog });
  return createWorkflows({ config, aws, catalog, platform, synth });
}

export async function handler(event: TaskInput): Promise<TaskResult> {
  ready ??= init();
  const workflows = await ready.catch((e) => {
    ready = undefined;
    throw e;
  });
  return workflows.runTask(event);
}

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { BillingProvider } from '../../core/billing/provider.js';
import type { UsageSource } from '../../core/billing/usage.js';
import { type Config, loadConfig } from '../../core/config.js';
import type { Operation } from '../../core/registry/records.js';
import { type AwsRuntime, type AwsRuntimeOptions, startAwsRuntime } from '../../core/runtime.js';
import {
  ensurePlatform,
  type PlatformOutputs,
  StackDeployer,
  SynthesisService,
} from '../../templates/index.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { type EventPublisher, eventBridgePublisher, type LifecycleEvent } from '../../workflows/events.js';
import { createWorkflows, type RolloutEvent, type Workflows } from '../../workflows/index.js';
import { eventBridgeRolloutPublisher, type RolloutEventPublisher } from '../../workflows/rollouts/events.js';
import type { TaskRunnerHooks } from '../../workflows/tasks/index.js';
import { testEndpoint, uniqueName } from './aws.js';

let synth: SynthesisService | undefined;
/** One synthesis service per test worker, on the run's shared cache directory. */
/** The steps of a successful onboarding, in order (the onboard state machine's main path). */
export const ONBOARD_STEPS: readonly string[] = [
  'Begin',
  'ResolveTemplate',
  'CreateStack',
  'CreateIdentity',
  'CreateApiKey',
  'CreateBillingCustomer',
  'CreateSubscription',
  'Activate',
];

export function testSynth(): SynthesisService {
  synth ??= new SynthesisService({ cacheDir: inject('templateCacheDir') });
  return synth;
}

export interface TestControlPlane {
  readonly config: Config;
  readonly aws: AwsRuntime;
  readonly catalog: TierCatalog;
  readonly platform: PlatformOutputs;
  readonly workflows: Workflows;
  /** Every lifecycle event published, in order (also sent to the platform bus in moto). */
  readonly events: LifecycleEvent[];
  /** Every rollout event published, in order (also sent to the platform bus). */
  readonly rolloutEvents: RolloutEvent[];
  /** A second engine on the same registry and AWS, as after a restart. */
  restart(hooks?: TaskRunnerHooks): Workflows;
  waitForOperation(operationId: string, timeoutMs?: number): Promise<Operation>;
  /** Answers the migration hand-off as soon as the operation waits on it. */
  answerMigration(operationId: string, status?: 'succeeded' | 'failed', reason?: string): Promise<Operation>;
  close(): Promise<void>;
}

/**
 * A control plane's back half (registry, platform, workflows) on the test moto, with its own
 * table, resource prefix and platform, so test files never see each other's tenants.
 */
export async function startTestControlPlane(
  options: {
    hooks?: TaskRunnerHooks;
    overrides?: Partial<Record<keyof Config, unknown>>;
    catalog?: TierCatalog;
    instrument?: AwsRuntimeOptions['instrument'];
    /** The billing provider every engine gets (e.g. Stripe on the test's double); none: billing skipped. */
    billing?: BillingProvider;
    usage?: UsageSource;
  } = {},
): Promise<TestControlPlane> {
  const config = loadConfig({
    env: {},
    overrides: {
      awsEndpoint: testEndpoint(),
      registryTable: uniqueName('registry'),
      resourcePrefix: uniqueName('t'),
      dataDir: mkdtempSync(join(tmpdir(), 'tcp-cp-')),
      stackPollMs: 40,
      // Quota pre-checks count the whole shared moto (its VPC quota is AWS's default 5): their own tests turn them on.
      quotaPrecheck: false,
      ...options.overrides,
    },
  });
  const aws = await startAwsRuntime(config, options.instrument ? { instrument: options.instrument } : {});
  const catalog = options.catalog ?? TierCatalog.load();
  const deployer = new StackDeployer({
    cloudformation: aws.clients.cloudformation,
    pollMs: 40,
    maxPollMs: 200,
  });
  const platform = await ensurePlatform({
    clients: aws.clients,
    synth: testSynth(),
    target: 'moto',
    prefix: config.resourcePrefix,
    catalog,
    deployer,
  });
  const events: LifecycleEvent[] = [];
  const bus = eventBridgePublisher(aws.clients, () => platform.eventBusName);
  const publisher: EventPublisher = {
    async publish(e) {
      const event = await bus.publish(e);
      events.push(event);
      return event;
    },
  };
  const rolloutEvents: RolloutEvent[] = [];
  const rolloutBus = eventBridgeRolloutPublisher(aws.clients, () => platform.eventBusName);
  const rolloutPublisher: RolloutEventPublisher = {
    async publish(e) {
      const event = await rolloutBus.publish(e);
      rolloutEvents.push(event);
      return event;
    },
  };
  const make = (hooks?: TaskRunnerHooks) =>
    createWorkflows({
      config,
      aws,
      catalog,
      platform,
      synth: testSynth(),
      events: publisher,
      billing: options.billing,
      usage: options.usage,
      rolloutEvents: rolloutPublisher,
      ...(hooks ? { hooks } : {}),
    });
  const engines: Workflows[] = [make(options.hooks)];
  const registry = aws.registry;

  async function waitForOperation(operationId: string, timeoutMs = 60_000): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const op = await registry.requireOperation(operationId);
      if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return op;
      if (Date.now() > deadline)
        throw new Error(
          `operation ${operationId} still ${op.status} after ${timeoutMs} ms: ${JSON.stringify(op.steps.at(-1))}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    config,
    aws,
    catalog,
    platform,
    get workflows() {
      return engines[engines.length - 1]!;
    },
    events,
    rolloutEvents,
    restart(hooks) {
      const next = make(hooks);
      engines.push(next);
      return next;
    },
    waitForOperation,
    async answerMigration(operationId, status = 'succeeded', reason) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const op = await registry.requireOperation(operationId);
        if (op.waitingFor === 'migration') {
          return engines[engines.length - 1]!.lifecycle.callback(
            operationId,
            { status, reason },
            { actor: 'test:application-plane' },
          );
        }
        if (op.status === 'SUCCEEDED' || op.status === 'FAILED')
          throw new Error(
            `operation ended ${op.status} before waiting for a migration: ${JSON.stringify(op.error)}`,
          );
        if (Date.now() > deadline) throw new Error(`operation ${operationId} never waited for a migration`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const e of engines) await e.close();
      aws.clients.destroy();
    },
  };
}

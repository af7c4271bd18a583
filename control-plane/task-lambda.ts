import '../core/polyfills.js';
import { loadConfig } from '../core/config.js';
import { isRolloutTask, type PageResult, type TaskInput, type TaskResult } from '../workflows/index.js';
import { TASK_TEMPLATE_CACHE_DIR } from './infra/contract.js';
import { buildRuntime, perContainer } from './runtime.js';
import { readSecretSettings } from './secret-settings.js';

/**
 * The task function: every Task state of every state machine invokes it with
 * `{ task, step, operationId, tenantId, args, state? }` (see workflows/definitions/builder.ts) and it
 * runs the same task runner the local engine runs (the `task-lambda` role of buildRuntime). Templates
 * ship pre-synthesized in the bundle's cache directory (see control-plane/infra).
 */
const runtime = perContainer(async () => {
  const built = await buildRuntime(
    // The Stripe key, when billing is on, is a secret (STRIPE_SECRET_KEY_SECRET_ARN).
    loadConfig({
      overrides: { target: 'aws', engine: 'stepfunctions', ...(await readSecretSettings(process.env)) },
    }),
    {
      role: 'task-lambda',
      templateCacheDir: process.env.TEMPLATE_CACHE_DIR ?? TASK_TEMPLATE_CACHE_DIR,
    },
  );
  // The templates this bundle carries are the latest versions rollouts target (docs/rollouts.md),
  // as `npm start` registers the code's: idempotent, three puts per container.
  await built.workflows.rollouts.registerVersions();
  return built;
});

/** The reconcile machine's page calls (workflows/definitions/reconcile.ts). */
interface ReconcilePageEvent {
  readonly reconcile: { readonly runId?: string; readonly cursor?: string };
}

export async function handler(event: TaskInput | ReconcilePageEvent): Promise<TaskResult | PageResult> {
  const { workflows } = await runtime();
  if ('reconcile' in event) return workflows.reconciler.page(event.reconcile);
  // The rollout state machine's tasks carry a rolloutId instead of an operation (docs/rollouts.md).
  if (isRolloutTask(event.task)) return (await workflows.rollouts.runTask(event as never)) as TaskResult;
  return workflows.runTask(event);
}

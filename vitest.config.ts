import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two projects. `unit`: the test files listed here, which never touch AWS; they start no moto, so
 * `npx vitest run core/lifecycle.test.ts` takes about a second, and any AWS call made there fails at
 * once (test/support/no-aws.ts). `aws`: every other test file, against the one moto the global setup
 * starts. A new test file lands in `aws` until it is listed here: the safe default.
 * `npm test` runs both; `npm run test:unit` / `npm run test:aws` one of them.
 */
export const UNIT_TESTS = [
  'tenant-access/kit.test.ts',
  'test/support/iam-eval.test.ts',
  'bench/report.test.ts',
  'control-plane/errors-doc.test.ts',
  'control-plane/infra/settings.test.ts',
  'control-plane/logging.test.ts',
  'core/aws/errors.test.ts',
  'core/backoff.test.ts',
  'core/costs/apportion.test.ts',
  'core/billing/revenue.test.ts',
  'core/billing/stripe.test.ts',
  'core/lifecycle.test.ts',
  'core/schedule.test.ts',
  'core/quotas/rules.test.ts',
  'core/reconcile/classify.test.ts',
  'core/registry/list-merge.test.ts',
  'core/tenant-config/resolve.test.ts',
  'core/usage/billing-source.test.ts',
  'core/usage/ingest.test.ts',
  'core/usage/store.test.ts',
  'core/rollouts/lifecycle.test.ts',
  'templates/deployer.test.ts',
  'templates/emulator.test.ts',
  'templates/parameters.test.ts',
  'templates/stacks/stacks.test.ts',
  'templates/synth-cli.test.ts',
  'test/architecture.test.ts',
  'test/browser/chromium.test.ts',
  'test/no-aws.test.ts',
  'tiers/catalog-billing.test.ts',
  'tiers/catalog.test.ts',
  'workflows/definitions/definitions.test.ts',
  'workflows/event-tap.test.ts',
  'workflows/engine/local.test.ts',
  'workflows/slug.test.ts',
  'workflows/rollouts/definition.test.ts',
  'workflows/tasks/runner.test.ts',
  'workflows/tasks/tenant-data.test.ts',
  'workflows/watch.test.ts',
];

// A listed file that was moved or renamed would silently run nowhere: say so instead.
const missing = UNIT_TESTS.filter((f) => !existsSync(fileURLToPath(new URL(f, import.meta.url))));
if (missing.length > 0)
  throw new Error(`vitest.config.ts UNIT_TESTS lists files that do not exist: ${missing.join(', ')}`);

const exclude = ['node_modules/**', 'cdk.out/**', '.data/**'];

export default defineConfig({
  test: {
    exclude,
    setupFiles: ['test/support/setup-file.ts'],
    // Two cores: more workers only queue up on moto, which is single-threaded.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_TESTS,
          setupFiles: ['test/support/no-aws.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'aws',
          include: ['**/*.test.ts'],
          exclude: [...exclude, ...UNIT_TESTS],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
    ],
  },
});

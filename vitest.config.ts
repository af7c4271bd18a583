import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'cdk.out/**', '.data/**'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Two cores: more workers only queue up on moto, which is single-threaded.
    maxWorkers: 2,
  },
});

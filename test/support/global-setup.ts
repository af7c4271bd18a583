import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureLocalAws, stopLocalAws } from '../../core/local-aws/sidecar.js';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
    /** One synthesis cache for the whole run: each template is synthesized once, not per file. */
    templateCacheDir: string;
  }
}

/**
 * The `aws` project's global setup (vitest.config.ts; the `unit` project starts none): one moto
 * for the whole run, started by the same helper the control plane uses, in its own data
 * directory and on its own port; each test file isolates itself with its own table and names.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tcp-test-'));
  const aws = await ensureLocalAws({ dataDir });
  project.provide('awsEndpoint', aws.endpoint);
  project.provide('templateCacheDir', join(dataDir, 'templates'));
  return async () => {
    await stopLocalAws(dataDir);
    // KEEP_TEST_AWS_LOG=1 keeps moto's log for a look after the run.
    if (process.env.KEEP_TEST_AWS_LOG) console.log(`moto log kept in ${dataDir}/moto.log`);
    else rmSync(dataDir, { recursive: true, force: true });
  };
}

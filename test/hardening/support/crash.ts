import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import type { AwsClients } from '../../../core/aws/clients.js';
import { Registry } from '../../../core/registry/registry.js';
import { testClients, uniqueName } from '../../support/aws.js';
import { type ChildControlPlane, callChild, killChildren, startChildControlPlane } from './child.js';
import { childEnv, HARDENING_ADMIN_KEY, hardeningDataDir } from './control-plane.js';

/**
 * What every SIGKILL test sets up: a child control plane (as `npm start` runs it) on a data
 * directory, registry table and resource prefix of its own, clients of the test's own to check
 * AWS with, and, after the file, every child killed and the directory removed.
 */
export interface CrashSetup {
  /** The test's own clients, to read what the child did. */
  readonly verify: AwsClients;
  readonly dataDir: string;
  readonly registryTable: string;
  readonly prefix: string;
  /** The child's registry, read from the test. */
  readonly registry: Registry;
  /** The child's environment (childEnv plus the test's extras). */
  readonly env: Record<string, string>;
  /** The running child; throws when none runs. */
  readonly child: ChildControlPlane;
  /** Starts a child (again) on the same directory, table and prefix. */
  start(): Promise<ChildControlPlane>;
  /** Stops the running child with `signal`; its exit code (null when killed). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
  /** Calls the running child's API with the admin key. */
  api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
}

export function crashSetup(name: string, extraEnv: Record<string, string> = {}): CrashSetup {
  const verify = testClients();
  const dataDir = hardeningDataDir();
  const registryTable = uniqueName(name);
  const prefix = uniqueName(name.slice(0, 1));
  const env = { ...childEnv(dataDir, registryTable, prefix), ...extraEnv };
  let running: ChildControlPlane | undefined;
  afterAll(async () => {
    await killChildren();
    verify.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const child = () => {
    if (!running) throw new Error(`${name}: no child control plane is running`);
    return running;
  };
  return {
    verify,
    dataDir,
    registryTable,
    prefix,
    registry: new Registry({ documents: verify.documents, tableName: registryTable }),
    env,
    get child() {
      return child();
    },
    async start() {
      running = await startChildControlPlane(env);
      return running;
    },
    async stop(signal) {
      const code = await child().stop(signal);
      running = undefined;
      return code;
    },
    api: (method, path, body) => callChild(child(), HARDENING_ADMIN_KEY, method, path, body),
  };
}

/** Reads until `ok` holds (every 50 ms); throws with the last value after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

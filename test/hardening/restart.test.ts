import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../control-plane/cli/main.js';
import { motoProcessesFor, processAlive } from '../../core/local-aws/processes.js';
import { readSidecarState, STATE_FILE, stopLocalAws } from '../../core/local-aws/sidecar.js';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { type ChildControlPlane, callChild, killChildren, startChildControlPlane } from './support/child.js';
import { HARDENING_ADMIN_KEY, hardeningDataDir, onboardBody } from './support/control-plane.js';

/**
 * Restarts, from outside, on the control plane's OWN local AWS (no AWS_ENDPOINT_URL: the child starts
 * and records its moto sidecar in its data directory, exactly as `npm start` does):
 *
 * 1. control-plane crash: one tenant of every tier in the catalog (premium, enterprise and
 *    enterprise-dedicated included) plus one onboarding in flight, SIGKILL, start again: the same
 *    moto (pid and endpoint), the same tenants, no second moto, doctor healthy;
 * 2. `local-aws:stop` then start: the state is restored from the snapshot, on the same endpoint,
 *    and usable (an enterprise-dedicated tenant, in its own account, is offboarded);
 * 3. a power cut (control plane and moto both SIGKILLed): the next start restores the periodic
 *    snapshot, which holds everything that had settled.
 *
 * Four child starts in all; each costs seconds (tsx, platform check, moto start or restore).
 */

const dataDir = hardeningDataDir();
const env = {
  CONTROL_PLANE_DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: '0',
  STACK_POLL_MS: '50',
  CONTROL_PLANE_ADMIN_KEY: HARDENING_ADMIN_KEY,
  LOG_LEVEL: 'warn',
};
const tiers = TierCatalog.load().names();

let child: ChildControlPlane | undefined;

afterAll(async () => {
  await killChildren();
  await stopLocalAws(dataDir, 5000);
  rmSync(dataDir, { recursive: true, force: true });
});

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const { status, json } = await callChild<T>(child!, HARDENING_ADMIN_KEY, method, path, body);
  if (status >= 400) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
}

async function settled(operationId: string): Promise<Operation> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    // A long poll: answers at the end, or after 5 s with progress.
    const op = await api<Operation>('GET', `/v1/operations/${operationId}?waitSeconds=5`);
    if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return op;
    if (Date.now() > deadline) throw new Error(`operation ${operationId} still ${op.status}`);
  }
}

async function tenants(): Promise<Map<string, Tenant>> {
  const page = await api<{ items: Tenant[] }>('GET', '/v1/tenants?limit=100');
  return new Map(page.items.map((t) => [t.slug, t]));
}

async function start(): Promise<ChildControlPlane> {
  const t0 = Date.now();
  child = await startChildControlPlane(env, 150_000);
  console.info(`restart: control plane ${child.pid} listening after ${Date.now() - t0} ms`);
  return child;
}

async function doctor(): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runCli(['doctor', '--data-dir', dataDir, '--url', child!.url], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stdout += s) },
    env: {},
  });
  return { code, stdout };
}

const snapshotTime = () => statSync(join(dataDir, STATE_FILE)).mtimeMs;

/** Waits (polling the file, no fixed sleep) until moto has saved a snapshot taken after `t`. */
async function snapshotAfter(t: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (snapshotTime() <= t) {
    if (Date.now() > deadline) throw new Error('moto saved no snapshot in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('restarts keep the local AWS and its tenants', () => {
  let motoPid = 0;
  let endpoint = '';
  let before = new Map<string, Tenant>();

  it('a SIGKILLed control plane comes back on the same moto with the same tenants, every tier', async () => {
    await start();
    const record = readSidecarState(dataDir)!;
    expect(record.origin).toBe('new');
    ({ pid: motoPid, endpoint } = record);
    expect(child!.output()).toContain(`local AWS at ${endpoint}`);
    expect((await api('GET', '/healthz')).localAws).toEqual({
      pid: motoPid,
      port: record.port,
      origin: 'new',
    });

    const started = await Promise.all(
      tiers.map((tier) =>
        api<{ operation: Operation }>('POST', '/v1/tenants', onboardBody(`r-${tier}`, tier)),
      ),
    );
    const ops = await Promise.all(started.map((s) => settled(s.operation.operationId)));
    expect(ops.map((o) => o.status)).toEqual(tiers.map(() => 'SUCCEEDED'));
    // One more, in flight when the process dies: it converges after the restart.
    const inFlight = await api<{ operation: Operation }>(
      'POST',
      '/v1/tenants',
      onboardBody('r-in-flight', 'premium'),
    );
    before = await tenants();
    expect(await child!.stop('SIGKILL')).toBeNull();

    await start();
    expect(readSidecarState(dataDir)).toMatchObject({ pid: motoPid, endpoint, origin: 'new' });
    expect(child!.output()).toContain(`local AWS at ${endpoint}`);
    expect(child!.output()).not.toMatch(/LOST|restored/);
    expect(motoProcessesFor(dataDir).map((p) => p.pid)).toEqual([motoPid]);
    expect((await api('GET', '/healthz')).localAws).toMatchObject({ pid: motoPid, origin: 'reused' });

    expect((await settled(inFlight.operation.operationId)).status).toBe('SUCCEEDED');
    const after = await tenants();
    for (const tier of tiers) {
      const was = before.get(`r-${tier}`)!;
      expect(after.get(`r-${tier}`), tier).toMatchObject({
        tenantId: was.tenantId,
        tier,
        state: 'ACTIVE',
        stacks: was.stacks,
      });
    }
    expect(after.get('r-in-flight')?.state).toBe('ACTIVE');

    const report = await doctor();
    expect(report.code, report.stdout).toBe(0);
    expect(report.stdout).toContain(`moto pid ${motoPid} at ${endpoint}`);
    expect(report.stdout).toContain(`tenants:   ${tiers.length + 1}\n`);
    expect(report.stdout).not.toContain('stray');
  });

  it('after local-aws:stop, the next start restores the state on the same endpoint', async () => {
    expect(await child!.stop('SIGTERM')).toBe(0);
    const stopped = await stopLocalAws(dataDir);
    expect(stopped).toMatchObject({ stopped: [{ pid: motoPid, recorded: true }], stateSaved: true });
    expect(processAlive(motoPid)).toBe(false);
    expect((await doctor()).stdout).toContain('stopped by `npm run local-aws:stop`');

    await start();
    const record = readSidecarState(dataDir)!;
    expect(record).toMatchObject({ endpoint, origin: 'restored' });
    expect(record.pid).not.toBe(motoPid);
    motoPid = record.pid;
    expect(child!.output()).toContain('local AWS state restored from');
    expect((await api('GET', '/healthz')).localAws).toMatchObject({ pid: motoPid, origin: 'restored' });
    const after = await tenants();
    for (const [slug, t] of before) expect(after.get(slug)?.tenantId, slug).toBe(t.tenantId);

    // The restored world is usable: accounts, assumed-role credentials and stacks kept their ids.
    const dedicated = after.get('r-enterprise-dedicated')!;
    expect(dedicated.accountId).toMatch(/^\d{12}$/);
    const off = await api<{ operation: Operation }>('DELETE', `/v1/tenants/${dedicated.tenantId}`);
    const done = await settled(off.operation.operationId);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    before = await tenants();
    expect(before.get('r-enterprise-dedicated')?.state).toBe('OFFBOARDED');
  });

  it('after a power cut (control plane and moto SIGKILLed), the last snapshot is restored', async () => {
    await snapshotAfter(Date.parse(before.get('r-enterprise-dedicated')!.updatedAt));
    process.kill(motoPid, 'SIGKILL');
    await child!.stop('SIGKILL');

    await start();
    const record = readSidecarState(dataDir)!;
    expect(record).toMatchObject({ endpoint, origin: 'restored' });
    expect(child!.output()).toContain('changes made after that snapshot are lost');
    const after = await tenants();
    for (const [slug, t] of before) expect(after.get(slug)?.state, slug).toBe(t.state);
    expect(motoProcessesFor(dataDir).map((p) => p.pid)).toEqual([record.pid]);
    expect(await child!.stop('SIGTERM')).toBe(0);
  });
});

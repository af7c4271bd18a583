import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start`'s checks before side effects, on the real entry point in a child process: a taken port
 * or a silent AWS_ENDPOINT_URL ends the start with one line and exit 1, having started nothing (no
 * moto, nothing in the data directory, no admin key printed).
 */

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
let taken: Server;
let port: number;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((r) => taken.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  port = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => taken.close(r));
});

function start(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'control-plane/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('start-up checks before side effects', () => {
  it('a taken port: exit 1, one line, no moto started, no key', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tcp-preflight-')), 'data');
    const out = await start({ PORT: String(port), CONTROL_PLANE_DATA_DIR: dataDir });
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      `PORT_IN_USE: port ${port} on 127.0.0.1 is in use (another control plane?); stop it or set PORT to a free port\n`,
    );
    // Nothing was made: the data directory (moto's pid and state, the admin key) does not exist.
    expect(() => readdirSync(dataDir)).toThrow(/ENOENT/);
    expect(out.stderr).not.toMatch(/tcp_/);
  }, 60_000);

  it('an AWS_ENDPOINT_URL that does not answer: exit 1, one line', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const dead = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tcp-preflight-')), 'data');
    const out = await start({
      PORT: '0',
      CONTROL_PLANE_DATA_DIR: dataDir,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${dead}`,
    });
    expect(out.code).toBe(1);
    expect(out.stderr.trimEnd().split('\n')).toEqual([
      `LOCAL_AWS_UNAVAILABLE: AWS_ENDPOINT_URL http://127.0.0.1:${dead} does not answer (ECONNREFUSED); start it, or unset AWS_ENDPOINT_URL to let the control plane start moto`,
    ]);
    expect(() => readdirSync(dataDir)).toThrow(/ENOENT/);
  }, 60_000);

  it('an invalid configuration: exit 1 naming the variable, before anything', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tcp-preflight-')), 'data');
    const out = await start({ PORT: 'eighty', CONTROL_PLANE_DATA_DIR: dataDir });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^CONFIG_INVALID: invalid configuration:\n {2}- port \(PORT\): /);
    expect(() => readdirSync(dataDir)).toThrow(/ENOENT/);
  }, 60_000);
});

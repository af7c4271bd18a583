import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalAwsReport } from '../../core/local-aws/inspect.js';
import { renderDoctor } from './doctor.js';
import { runCli } from './main.js';

const dirs: string[] = [];
const newDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function doctor(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runCli(['doctor', ...argv], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stdout += s) },
    env: {},
  });
  return { code, stdout };
}

describe('tenantctl doctor', () => {
  it('works with no API and no local AWS, and says so (exit 1)', async () => {
    const dataDir = newDataDir();
    const { code, stdout } = await doctor(['--data-dir', dataDir, '--url', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(stdout).toContain(`local AWS of ${dataDir}\n  in use:    none (no local AWS was started`);
    expect(stdout).toContain('API: http://127.0.0.1:9 does not answer');
  });

  it('says a recorded moto that died is gone, and what the next start does', async () => {
    const dataDir = newDataDir();
    writeFileSync(
      join(dataDir, 'local-aws.json'),
      JSON.stringify({ pid: 999_999_999, port: 45_000, endpoint: 'http://127.0.0.1:45000', startedAt: 'x' }),
    );
    const { code, stdout } = await doctor(['--data-dir', dataDir, '--url', 'http://127.0.0.1:9', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).localAws).toMatchObject({ status: 'gone', strays: [] });
  });

  it('names each stray moto with the exact command that stops it', () => {
    const report: LocalAwsReport = {
      dataDir: '/d',
      status: 'running',
      record: {
        pid: 10,
        port: 4000,
        endpoint: 'http://127.0.0.1:4000',
        startedAt: 't0',
        origin: 'lost',
        stateLost: { at: 't0', message: 'EARLIER LOCAL STATE IS LOST: …' },
      },
      uptimeSeconds: 3725,
      tenants: 7,
      strays: [{ pid: 11, port: 4001, stop: 'kill 11' }],
    };
    expect(renderDoctor(report, 'x')).toBe(
      [
        'local AWS of /d',
        '  in use:    moto pid 10 at http://127.0.0.1:4000 (port 4000), up 1h 2m',
        '  tenants:   7',
        '  began:     EARLIER LOCAL STATE IS LOST: …',
        '  state:     in memory only (lost when this moto stops)',
        'stray moto processes from this data directory (not the local AWS in use):',
        '  pid 11 on port 4001: stop it with `kill 11`',
        '  (`npm run local-aws:stop` stops them all, the local AWS in use too)',
        'API: x',
        '',
      ].join('\n'),
    );
  });
});

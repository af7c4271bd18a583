import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { startListeningTestApp, type TestApp } from '../../test/api/harness.js';
import { type CliRun, progressLines, runCaptured } from '../../test/support/cli.js';
import { parseCommandLine, UsageError } from './args.js';
import type { CliIo } from './main.js';

let t: TestApp;
let url: string;

beforeAll(async () => {
  ({ t, url } = await startListeningTestApp());
});
afterAll(async () => t?.close());

/** Runs tenantctl in-process against the test app; `io` overrides the defaults (TTY, env, sleep). */
function cli(argv: string[], io: Partial<CliIo> & { tty?: boolean } = {}): Promise<CliRun> {
  return runCaptured(argv, {
    tty: io.tty ?? false,
    env: io.env ?? { TENANTCTL_URL: url, TENANTCTL_KEY: t.adminKey },
    ...(io.cwd ? { cwd: io.cwd } : {}),
    ...(io.sleep ? { sleep: io.sleep } : {}),
  });
}

describe('tenantctl against a running API', () => {
  it('onboard prints the acceptance; --json prints the tenant and operation', async () => {
    const text = await cli([
      'onboard',
      '--name',
      'Cli Corp',
      '--tier',
      'basic',
      '--email',
      'ops@cli.example.com',
      '--slug',
      'cli-corp',
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^onboard of cli-corp \(t_[0-9A-Z]{26}\) accepted: operation op_[0-9A-Z]{26} PENDING\nfollow it: tenantctl watch op_/,
    );

    const json = await cli([
      'onboard',
      '--name',
      'Cli Json',
      '--tier',
      'standard',
      '--email',
      'ops@json.example.com',
      '--json',
      '--idempotency-key',
      'cli-1',
    ]);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as { tenant: Tenant; operation: Operation };
    expect(body.tenant).toMatchObject({ slug: 'cli-json', tier: 'standard', state: 'PROVISIONING' });
    expect(body.operation).toMatchObject({ type: 'onboard', idempotencyKey: 'cli-1' });
  });

  it('get shows a tenant by slug; --json prints the record', async () => {
    const text = await cli(['get', 'cli-corp']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/slug:\s+cli-corp\n/);
    expect(text.stdout).toMatch(/tier:\s+basic \(pool\)\n/);
    expect(text.stdout).toMatch(/state:\s+PROVISIONING\n/);
    const json = await cli(['get', 'cli-corp', '--json']);
    expect((JSON.parse(json.stdout) as Tenant).adminEmail).toBe('ops@cli.example.com');
  });

  it('list shows a table and filters; --json prints the page', async () => {
    const text = await cli(['list', '--tier', 'basic']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SLUG\s+TIER\s+STATE\s+TENANT\s+CREATED$/);
    expect(lines.slice(1).some((l) => /^cli-corp\s+basic\s+PROVISIONING\s+t_/.test(l))).toBe(true);
    expect(text.stdout).not.toContain('cli-json');
    const json = await cli(['list', '--json', '--limit', '1']);
    const page = JSON.parse(json.stdout) as { items: Tenant[]; nextCursor: string | null };
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it('watch follows an operation step by step (line per change off a terminal) and exits 0 on success', async () => {
    const { operation } = (
      await t.call({
        method: 'POST',
        url: '/v1/tenants',
        payload: { name: 'Watched', slug: 'watched', tier: 'basic', adminEmail: 'a@watched.example.com' },
      })
    ).json() as { operation: Operation };
    const id = operation.operationId;
    // Each poll's pause moves the workflow on one step, through the registry.
    const script = [
      () => t.registry.stepStarted(id, 'createStack'),
      () => t.registry.stepEnded(id, 'createStack', 'SUCCEEDED'),
      () => t.registry.stepStarted(id, 'createUsers', 'waiting for Cognito'),
      async () => {
        await t.registry.stepEnded(id, 'createUsers', 'SUCCEEDED');
        await t.registry.finishOperation({ operationId: id, outcome: 'succeeded' });
      },
    ];
    const sleep = async () => {
      await script.shift()?.();
    };
    const out = await cli(['watch', id], { sleep });
    expect(out.code).toBe(0);
    const lines = progressLines(out.stdout);
    expect(lines).toEqual([
      `onboard ${id} PENDING`,
      `onboard ${id} RUNNING`,
      '• createStack RUNNING',
      expect.stringMatching(/^✔ createStack SUCCEEDED in [\d.]+s$/),
      '• createUsers RUNNING (waiting for Cognito)',
      expect.stringMatching(/^✔ createUsers SUCCEEDED in [\d.]+s$/),
      `onboard ${id} SUCCEEDED`,
    ]);
  });

  it('watch redraws in place on a terminal, and exits 2 when the operation FAILED', async () => {
    const { operation } = (
      await t.call({
        method: 'POST',
        url: '/v1/tenants',
        payload: { name: 'Doomed', slug: 'doomed', tier: 'basic', adminEmail: 'a@doomed.example.com' },
      })
    ).json() as { operation: Operation };
    const id = operation.operationId;
    const script = [
      () => t.registry.stepStarted(id, 'createStack'),
      async () => {
        await t.registry.stepEnded(id, 'createStack', 'FAILED', {
          code: 'STACK_FAILED',
          message: 'quota exceeded',
        });
        await t.registry.finishOperation({
          operationId: id,
          outcome: 'failed',
          error: { code: 'STACK_FAILED', message: 'quota exceeded' },
        });
      },
    ];
    const out = await cli(['watch', id], { tty: true, sleep: async () => void (await script.shift()?.()) });
    expect(out.code).toBe(2);
    expect(out.stdout).toContain('\x1b[1A\x1b[0J'); // redrawn over the previous frame
    expect(out.stdout).toMatch(/✖ createStack\s+[\d.]+s {2}STACK_FAILED: quota exceeded/);
    expect(out.stderr).toBe(`operation ${id} FAILED: STACK_FAILED: quota exceeded\n`);

    const json = await cli(['watch', id, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ operationId: id, status: 'FAILED' });
  });

  it('--wait on a mutating command follows the operation to its end', async () => {
    const { operation } = (
      await t.call({
        method: 'POST',
        url: '/v1/tenants',
        payload: { name: 'Waiter', slug: 'waiter', tier: 'basic', adminEmail: 'a@waiter.example.com' },
      })
    ).json() as { operation: Operation };
    await t.registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' });
    const finishCurrent = async () => {
      const tenant = await t.registry.requireTenant('waiter');
      if (tenant.currentOperationId)
        await t.registry.finishOperation({ operationId: tenant.currentOperationId, outcome: 'succeeded' });
    };
    const out = await cli(['suspend', 'waiter', '--reason', 'unpaid', '--wait', '--json'], {
      sleep: finishCurrent,
    });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      tenant: { slug: 'waiter', state: 'SUSPENDED' },
      operation: { type: 'suspend', status: 'SUCCEEDED' },
    });

    const resumed = await cli(['resume', 'waiter', '--wait'], { sleep: finishCurrent });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resume of waiter');
    expect(resumed.stdout).toMatch(/resume op_\w+ SUCCEEDED/);
  });

  it('change-tier, events, tiers and offboard', async () => {
    const tenant = await t.registry.requireTenant('waiter');
    const tier = await cli(['change-tier', tenant.tenantId, 'standard']);
    expect(tier.code).toBe(0);
    expect(tier.stdout).toMatch(/^change-tier of waiter/);
    await t.registry.finishOperation({
      operationId: (await t.registry.requireTenant('waiter')).currentOperationId!,
      outcome: 'succeeded',
    });

    const events = await cli(['events', 'waiter']);
    expect(events.stdout.split('\n')[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+CHANGE\s+OPERATION\s+DETAIL$/);
    expect(events.stdout).toMatch(/key:admin\s+operation\.started/);

    const tiers = await cli(['tiers']);
    expect(tiers.stdout).toMatch(/^TIER\s+ISOLATION/);
    expect(tiers.stdout).toMatch(/\nenterprise\s+silo\s+1000\s+2000/);
    // The noisy-neighbour controls column: none on the shipped tiers.
    expect(tiers.stdout.split('\n')[0]).toMatch(/OWN ACCOUNT\s+CONTROLS\s+MOVES TO$/);
    expect(tiers.stdout).toMatch(/\nenterprise\s+silo\s.*\sno\s+-\s+premium/);

    const off = await cli(['offboard', 'waiter', '--json']);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({
      tenant: { state: 'OFFBOARDING' },
      operation: { type: 'offboard' },
    });
  });
});

describe('tenantctl failures', () => {
  it('prints the API error code and message and exits 1', async () => {
    const missing = await cli(['get', 'nobody-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: TENANT_NOT_FOUND: no tenant with id or slug "nobody-here"\n');
    const conflict = await cli([
      'onboard',
      '--name',
      'Dup',
      '--tier',
      'basic',
      '--email',
      'a@dup.example.com',
      '--slug',
      'cli-corp',
    ]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^error: TENANT_EXISTS: /);
    const invalid = await cli(['onboard', '--name', 'Bad', '--tier', 'basic', '--email', 'not-an-email']);
    expect(invalid.stderr).toMatch(/^error: VALIDATION_FAILED: .*\n {2}- body adminEmail: an email address/);
    const json = await cli(['get', 'nobody-here', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'TENANT_NOT_FOUND' } });
  });

  it('exits 1 on a bad key, an unreachable API, and usage errors', async () => {
    const badKey = await cli(['tiers'], { env: { TENANTCTL_URL: url, TENANTCTL_KEY: 'tcp_wrong' } });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/^error: UNAUTHENTICATED/);
    const down = await cli(['tiers', '--url', 'http://127.0.0.1:9'], { env: {} });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^error: CONNECTION_FAILED: cannot reach the control plane at http:\/\/127\.0\.0\.1:9/,
    );
    for (const argv of [
      ['frobnicate'],
      ['get'],
      ['onboard', '--name', 'x'],
      ['get', 'x', '--reason', 'y'],
      ['list', '--limit', 'ten'],
    ]) {
      const out = await cli(argv);
      expect(out.code, argv.join(' ')).toBe(1);
      expect(out.stderr, argv.join(' ')).toMatch(/^tenantctl: /);
    }
  });

  it('reads the admin key from <data-dir>/admin-key as a local convenience', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcp-cli-'));
    writeFileSync(join(dir, 'admin-key'), `${t.adminKey}\n`);
    const out = await cli(['tiers', '--json', '--data-dir', dir], { env: { TENANTCTL_URL: url } });
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as unknown[]).length).toBe(t.catalog.tiers.length);
  });

  it('prints help and parses commands from the one command table', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/onboard\s+onboard a tenant/);
    expect(parseCommandLine(['--url', 'http://x', 'synth', '--isolation', 'pool'])).toMatchObject({
      command: 'synth',
      rest: ['--isolation', 'pool'],
    });
    expect(() => parseCommandLine(['watch'])).toThrow(UsageError);
  });
});

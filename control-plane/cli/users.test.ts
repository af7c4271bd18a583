import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialVendor, registryDirectory } from '../../tenant-access/index.js';
import { startListeningTestApp, type TestApp } from '../../test/api/harness.js';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.js';
import { tenantAccessOn } from '../../test/support/tenant-tokens.js';
import { runCli } from './main.js';

let cp: TestControlPlane;
let t: TestApp;
let url: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  const { users } = await tenantAccessOn(cp);
  const credentials = new CredentialVendor({
    sts: cp.aws.clients.sts,
    directory: registryDirectory(cp.aws.registry),
  });
  ({ t, url } = await startListeningTestApp({
    registry: cp.aws.registry,
    deps: { access: { users, credentials } },
  }));
  const started = await cp.workflows.lifecycle.onboard(
    { name: 'Cli Users', slug: 'cli-users', tier: 'basic', adminEmail: 'admin@cli-users.example.com' },
    { actor: 'test:ops' },
  );
  expect((await cp.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
});
afterAll(async () => {
  await t?.close();
  await cp?.close();
});

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: { TENANTCTL_URL: url, TENANTCTL_KEY: t.adminKey },
  });
  return { code, stdout, stderr };
}

describe('tenantctl users and credentials', () => {
  it('users add, list and disable; errors print their code', async () => {
    const added = await cli(['users', 'add', 'cli-users', '--email', 'dev@cli-users.example.com']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/^added dev@cli-users\.example\.com to cli-users/);
    const list = await cli(['users', 'list', 'cli-users']);
    expect(list.stdout.split('\n')[0]).toMatch(/^USERNAME\s+EMAIL\s+ENABLED\s+STATUS\s+CREATED$/);
    expect(list.stdout).toMatch(/dev@cli-users\.example\.com\s+dev@cli-users\.example\.com\s+yes/);
    const disabled = await cli([
      'users',
      'disable',
      'cli-users',
      '--user',
      'dev@cli-users.example.com',
      '--json',
    ]);
    expect(JSON.parse(disabled.stdout)).toMatchObject({
      username: 'dev@cli-users.example.com',
      enabled: false,
    });
    const dup = await cli(['users', 'add', 'cli-users', '--email', 'dev@cli-users.example.com']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('TENANT_USER_EXISTS');
    const usage = await cli(['users', 'remove', 'cli-users']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/add, list or disable/);
  });

  it('credentials prints shell exports of the tenant-scoped session', async () => {
    const tenant = await cp.aws.registry.requireTenant('cli-users');
    const out = await cli(['credentials', 'cli-users']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`# ${tenant.tenantId} via tenant-role ${tenant.outputs.TenantRoleArn}`);
    expect(out.stdout).toMatch(/^export AWS_ACCESS_KEY_ID=\S+$/m);
    expect(out.stdout).toMatch(/^export AWS_SESSION_TOKEN=\S+$/m);
  });
});

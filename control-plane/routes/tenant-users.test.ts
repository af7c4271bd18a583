import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/registry/records.js';
import { CredentialVendor, registryDirectory } from '../../tenant-access/index.js';
import { startTestApp, type TestApp } from '../../test/api/harness.js';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.js';
import { claimsOf, poolClient, signIn, tenantAccessOn } from '../../test/support/tenant-tokens.js';

let cp: TestControlPlane;
let t: TestApp;
let tenant: Tenant;
const errorOf = (res: { json(): unknown }) =>
  (res.json() as { error: { code: string; message: string } }).error;

beforeAll(async () => {
  cp = await startTestControlPlane();
  const { users } = await tenantAccessOn(cp);
  const credentials = new CredentialVendor({
    sts: cp.aws.clients.sts,
    directory: registryDirectory(cp.aws.registry),
  });
  t = await startTestApp({ registry: cp.aws.registry, deps: { access: { users, credentials } } });
  const started = await cp.workflows.lifecycle.onboard(
    { name: 'Users Co', slug: 'users-co', tier: 'standard', adminEmail: 'admin@users-co.example.com' },
    { actor: 'test:ops' },
  );
  expect((await cp.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
  tenant = await cp.aws.registry.requireTenant('users-co');
});
afterAll(async () => {
  await t?.close();
  await cp?.close();
});

describe('tenant users', () => {
  it('adds a user with the tenant claims, in the tenant group; its token carries custom:tenantId and custom:tier', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants/users-co/users',
      payload: { email: '  Ann@Users-Co.example.com ' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ username: 'ann@users-co.example.com', enabled: true });
    const list = await t.call({ method: 'GET', url: '/v1/tenants/users-co/users' });
    expect((list.json() as { items: { username: string }[] }).items.map((u) => u.username)).toEqual([
      'ann@users-co.example.com',
      'users-co-admin',
    ]);
    const client = await poolClient(cp.aws.clients, cp.platform.userPoolId);
    const tokens = await signIn(cp.aws.clients, cp.platform.userPoolId, client, 'ann@users-co.example.com');
    expect(claimsOf(tokens.idToken)).toMatchObject({
      'custom:tenantId': tenant.tenantId,
      'custom:tier': 'standard',
    });
  });

  it('refuses a bad email with INVALID_EMAIL and a duplicate with TENANT_USER_EXISTS, writing nothing', async () => {
    for (const email of ['not-an-email', 'a@b', 'two@@example.com', 'sp ace@example.com']) {
      const res = await t.call({ method: 'POST', url: '/v1/tenants/users-co/users', payload: { email } });
      expect(res.statusCode, email).toBe(400);
      expect(errorOf(res).code).toBe('INVALID_EMAIL');
    }
    const dup = await t.call({
      method: 'POST',
      url: '/v1/tenants/users-co/users',
      payload: { email: 'ann@users-co.example.com' },
    });
    expect(dup.statusCode).toBe(409);
    expect(errorOf(dup).code).toBe('TENANT_USER_EXISTS');
    // The admin's email belongs to a user already too (one person, one tenant).
    const admin = await t.call({
      method: 'POST',
      url: '/v1/tenants/users-co/users',
      payload: { email: 'admin@users-co.example.com' },
    });
    expect(errorOf(admin).code).toBe('TENANT_USER_EXISTS');
    const list = await t.call({ method: 'GET', url: '/v1/tenants/users-co/users' });
    expect((list.json() as { items: unknown[] }).items).toHaveLength(2);
  });

  it('an Idempotency-Key retry of an add replays the first answer', async () => {
    const call = () =>
      t.call({
        method: 'POST',
        url: '/v1/tenants/users-co/users',
        headers: { 'idempotency-key': 'add-bob-1' },
        payload: { email: 'bob@users-co.example.com' },
      });
    const first = await call();
    const again = await call();
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
  });

  it('disables a user (signed out everywhere); a user outside the tenant is not found', async () => {
    const res = await t.call({
      method: 'POST',
      url: `/v1/tenants/users-co/users/${encodeURIComponent('bob@users-co.example.com')}/disable`,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ username: 'bob@users-co.example.com', enabled: false });
    const other = await t.call({
      method: 'POST',
      url: '/v1/tenants/users-co/users/nobody%40x.example.com/disable',
    });
    expect(other.statusCode).toBe(404);
    expect(errorOf(other).code).toBe('TENANT_USER_NOT_FOUND');
  });

  it('needs tenants:write to add and tenants:read to list', async () => {
    const reader = await t.keyWith(['tenants:read']);
    const add = await t.call({
      method: 'POST',
      url: '/v1/tenants/users-co/users',
      key: reader,
      payload: { email: 'carol@users-co.example.com' },
    });
    expect(add.statusCode).toBe(403);
    expect((await t.call({ method: 'GET', url: '/v1/tenants/users-co/users', key: reader })).statusCode).toBe(
      200,
    );
  });
});

describe('POST /v1/tenants/{id}/credentials', () => {
  it('vends credentials of the tenant role, tagged, its session named after the tenant (scope tenants:credentials)', async () => {
    const key = await t.keyWith(['tenants:credentials']);
    const res = await t.call({ method: 'POST', url: '/v1/tenants/users-co/credentials', key });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({
      tenantId: tenant.tenantId,
      roleArn: tenant.outputs.TenantRoleArn,
      sessionName: `tenant-${tenant.tenantId}`,
      tags: { TenantId: tenant.tenantId, Tier: 'standard' },
      via: 'tenant-role',
    });
    const reader = await t.keyWith(['tenants:read']);
    expect(
      (await t.call({ method: 'POST', url: '/v1/tenants/users-co/credentials', key: reader })).statusCode,
    ).toBe(403);
  });

  it('refuses an unknown tenant with TENANT_NOT_FOUND', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/tenants/no-such-co/credentials' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('TENANT_NOT_FOUND');
  });
});

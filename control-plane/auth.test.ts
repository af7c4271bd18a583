import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import Fastify from 'fastify';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import { startTestApp, type TestApp, tenantBody } from '../test/api/harness.js';
import { testClients } from '../test/support/aws.js';
import { ApiKeyStore, ensureAdminKey, hashApiKey } from './api-keys.js';
import { createJwtVerifier, scopesFromClaims } from './auth.js';

const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST';
let t: TestApp;
let signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let publicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  t = await startTestApp({
    deps: {
      jwtVerifier: createJwtVerifier({
        issuer: ISSUER,
        audience: 'app-client',
        jwks: createLocalJWKSet({ keys: [publicJwk] }),
      }),
    },
  });
});
afterAll(async () => {
  await t?.close();
});

function jwt(
  claims: Record<string, unknown>,
  options: { issuer?: string; expiresIn?: string | number } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(options.issuer ?? ISSUER)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(signingKey);
}

const errorOf = (res: { json(): unknown }) =>
  (res.json() as { error: { code: string; message: string; details?: unknown } }).error;

describe('API keys', () => {
  it('answers 401 UNAUTHENTICATED without a credential, with an unknown key or a non-bearer scheme', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer tcp_unknown' },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    ]) {
      const res = await t.call({ method: 'GET', url: '/v1/tenants', key: null, headers });
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers 403 FORBIDDEN when the key lacks the scope, and lets it do what it may', async () => {
    const reader = await t.keyWith(['tenants:read']);
    expect((await t.call({ method: 'GET', url: '/v1/tenants', key: reader })).statusCode).toBe(200);
    expect((await t.call({ method: 'GET', url: '/v1/tiers', key: reader })).statusCode).toBe(200);
    const write = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      key: reader,
      payload: tenantBody('forbidden'),
    });
    expect(write.statusCode).toBe(403);
    expect(errorOf(write)).toMatchObject({
      code: 'FORBIDDEN',
      details: { required: 'tenants:write', granted: ['tenants:read'] },
    });
    const callback = await t.call({
      method: 'POST',
      url: '/v1/operations/op_01ARZ3NDEKTSV4RRFFQ69G5FAV/callback',
      key: reader,
      payload: { status: 'succeeded' },
    });
    expect(errorOf(callback).code).toBe('FORBIDDEN');
    const keys = await t.call({
      method: 'POST',
      url: '/v1/api-keys',
      key: reader,
      payload: { name: 'nope', scopes: ['admin'] },
    });
    expect(errorOf(keys).code).toBe('FORBIDDEN');
  });

  it('answers 401 before looking at the body', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      key: null,
      headers: { 'content-type': 'application/json' },
      payload: '{bad json',
    });
    expect(errorOf(res).code).toBe('UNAUTHENTICATED');
  });

  it('creates scoped keys (admin only), shows the key once, stores only its hash, and records the actor', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { name: 'sales-bot', scopes: ['tenants:write', 'tenants:read'] },
    });
    expect(res.statusCode).toBe(201);
    const created = res.json() as { key: string; name: string; scopes: string[] };
    expect(created).toMatchObject({ name: 'sales-bot', scopes: ['tenants:write', 'tenants:read'] });
    expect(created.key).toMatch(/^tcp_[A-Za-z0-9_-]{43}$/);

    const clients = testClients();
    const stored = await clients.documents.send(
      new GetCommand({
        TableName: t.registry.tableName,
        Key: { pk: `APIKEY#${hashApiKey(created.key)}`, sk: '#APIKEY' },
      }),
    );
    expect(stored.Item).toMatchObject({ name: 'sales-bot', scopes: ['tenants:write', 'tenants:read'] });
    const all = await clients.documents.send(new ScanCommand({ TableName: t.registry.tableName }));
    expect(JSON.stringify(all.Items)).not.toContain(created.key);
    clients.destroy();

    const onboard = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      key: created.key,
      payload: tenantBody('by-sales-bot'),
    });
    expect(onboard.statusCode).toBe(202);
    const tenantId = (onboard.json() as { tenant: { tenantId: string } }).tenant.tenantId;
    const events = await t.call({ method: 'GET', url: `/v1/tenants/${tenantId}/events`, key: created.key });
    expect((events.json() as { items: { actor: string }[] }).items.map((e) => e.actor)).toEqual([
      'key:sales-bot',
      'key:sales-bot',
    ]);

    const again = await t.call({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { name: 'sales-bot', scopes: ['tenants:read'] },
    });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('API_KEY_EXISTS');
    const admin = await t.call({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { name: 'admin', scopes: ['admin'] },
    });
    expect(errorOf(admin).code).toBe('API_KEY_EXISTS');
    const bad = await t.call({
      method: 'POST',
      url: '/v1/api-keys',
      payload: { name: 'Bad Name', scopes: ['root'] },
    });
    expect(bad.statusCode).toBe(400);
    expect((errorOf(bad).details as { path: string }[]).map((d) => d.path)).toEqual(['name', 'scopes.0']);
  });
});

describe('JWTs (Cognito)', () => {
  it('accepts a valid token, takes scopes from the scope claim, and records jwt:<sub>', async () => {
    const token = await jwt({
      sub: 'user-123',
      client_id: 'app-client',
      token_use: 'access',
      scope: 'tenant-control-plane/tenants:write openid',
    });
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      key: token,
      payload: tenantBody('by-jwt'),
    });
    expect(res.statusCode).toBe(202);
    expect((res.json() as { operation: { actor: string } }).operation.actor).toBe('jwt:user-123');
    // tenants:write does not include tenants:read.
    expect(errorOf(await t.call({ method: 'GET', url: '/v1/tenants', key: token })).code).toBe('FORBIDDEN');
  });

  it('takes scopes from cognito:groups (admin implies all)', async () => {
    const token = await jwt({ sub: 'ops-1', aud: 'app-client', 'cognito:groups': ['admin'] });
    expect((await t.call({ method: 'GET', url: '/v1/tenants', key: token })).statusCode).toBe(200);
    expect(
      scopesFromClaims({ 'cognito:groups': ['tenants:read', 'other'], scope: 'x/operations:callback' }),
    ).toEqual(new Set(['tenants:read', 'operations:callback']));
  });

  it('refuses expired, foreign-issuer, wrong-audience and tampered tokens with 401', async () => {
    const tokens = [
      await jwt(
        { sub: 'u', aud: 'app-client', scope: 'admin' },
        { expiresIn: Math.floor(Date.now() / 1000) - 60 },
      ),
      await jwt({ sub: 'u', aud: 'app-client', scope: 'admin' }, { issuer: 'https://evil.example.com' }),
      await jwt({ sub: 'u', aud: 'another-client', scope: 'admin' }),
    ];
    const good = await jwt({ sub: 'u', aud: 'app-client', scope: 'tenants:read' });
    const [h, , s] = good.split('.');
    tokens.push(
      `${h}.${Buffer.from(JSON.stringify({ sub: 'u', iss: ISSUER, scope: 'admin' })).toString('base64url')}.${s}`,
    );
    for (const token of tokens) {
      const res = await t.call({ method: 'GET', url: '/v1/tenants', key: token });
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe('UNAUTHENTICATED');
    }
  });

  it("fetches the issuer's JWKS when JWT_ISSUER is set (remote key set)", async () => {
    const jwks = Fastify();
    jwks.get('/pool/.well-known/jwks.json', async () => ({ keys: [publicJwk] }));
    const base = await jwks.listen({ host: '127.0.0.1', port: 0 });
    const issuer = `${base}/pool`;
    const remote = await startTestApp({ registry: t.registry, overrides: { jwtIssuer: issuer } });
    try {
      const token = await jwt({ sub: 'remote-user', scope: 'tenants:read' }, { issuer });
      expect((await remote.call({ method: 'GET', url: '/v1/tiers', key: token })).statusCode).toBe(200);
    } finally {
      await remote.close();
      await jwks.close();
    }
  });

  it('refuses JWTs when no issuer is configured', async () => {
    const plain = await startTestApp({ registry: t.registry });
    try {
      const res = await plain.call({
        method: 'GET',
        url: '/v1/tiers',
        key: await jwt({ sub: 'u', scope: 'admin' }),
      });
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).message).toMatch(/JWT_ISSUER/);
    } finally {
      await plain.close();
    }
  });
});

describe('ensureAdminKey', () => {
  it('generates a key on first start (0600 file), reuses it later, and honours a configured key (revoking the old one)', async () => {
    const clients = testClients();
    const store = new ApiKeyStore({ documents: clients.documents, tableName: t.registry.tableName });
    const dataDir = join(mkdtempSync(join(tmpdir(), 'tcp-admin-')), 'nested');
    const local = loadConfig({ env: {}, overrides: { dataDir } });

    const first = await ensureAdminKey(local, store);
    expect(first.generated).toBe(true);
    expect(first.key).toMatch(/^tcp_/);
    expect(first.file).toBe(join(dataDir, 'admin-key'));
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file!, 'utf8').trim()).toBe(first.key);
    expect(await store.find(first.key!)).toMatchObject({ name: 'admin', scopes: ['admin'] });

    const second = await ensureAdminKey(local, store);
    expect(second).toEqual({ ...first, generated: false });

    const configured = await ensureAdminKey(
      loadConfig({ env: { CONTROL_PLANE_ADMIN_KEY: 'configured-admin-key-0123456789' } }),
      store,
    );
    expect(configured).toEqual({ key: 'configured-admin-key-0123456789', generated: false, file: null });
    expect(await store.find(first.key!)).toBeUndefined();

    const aws = await ensureAdminKey(loadConfig({ env: { CONTROL_PLANE_TARGET: 'aws' } }), store);
    expect(aws.key).toBeNull();
    // The harness's admin key is back for the other tests of this file.
    await store.setAdminKey(t.adminKey);
    clients.destroy();
  });
});

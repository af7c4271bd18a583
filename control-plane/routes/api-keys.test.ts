import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/api/harness.js';

/** The API key lifecycle on moto: list, revoke, rotate with an overlap (injected clock), audit. */

let now = Date.parse('2026-12-01T10:00:00.000Z');
const clock = () => new Date(now);
let t: TestApp;

beforeAll(async () => {
  // No cache: each request reads the key, so what the table says is what the caller gets.
  t = await startTestApp({ apiKeys: { clock, cacheTtlMs: 0, rotationOverlapMs: 10 * 60_000 } });
});
afterAll(async () => {
  await t?.close();
});

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error;
const tiers = (key: string) => t.call({ method: 'GET', url: '/v1/tiers', key });
interface Listed {
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt?: string;
  previousKeyValidUntil?: string;
}
const list = async () => (await t.call({ method: 'GET', url: '/v1/api-keys' })).json().items as Listed[];
const create = (name: string, scopes = ['tenants:read']) =>
  t.call({ method: 'POST', url: '/v1/api-keys', payload: { name, scopes } });

describe('API keys', () => {
  it('lists names, scopes, created and last used (at most one write a minute), never a secret', async () => {
    const created = await create('reader');
    expect(created.statusCode).toBe(201);
    const key = created.json().key as string;
    expect((await list()).find((k) => k.name === 'reader')).toEqual({
      name: 'reader',
      scopes: ['tenants:read'],
      createdAt: '2026-12-01T10:00:00.000Z',
    });

    expect((await tiers(key)).statusCode).toBe(200);
    const firstUse = '2026-12-01T10:00:00.000Z';
    expect((await list()).find((k) => k.name === 'reader')?.lastUsedAt).toBe(firstUse);
    now += 30_000;
    expect((await tiers(key)).statusCode).toBe(200);
    expect((await list()).find((k) => k.name === 'reader')?.lastUsedAt).toBe(firstUse);
    now += 31_000;
    expect((await tiers(key)).statusCode).toBe(200);
    expect((await list()).find((k) => k.name === 'reader')?.lastUsedAt).toBe('2026-12-01T10:01:01.000Z');

    const raw = (await t.call({ method: 'GET', url: '/v1/api-keys' })).body;
    expect(raw).not.toContain(key);
    expect(raw).not.toMatch(/hash|tcp_/);
    expect((await list()).map((k) => k.name)).toContain('admin');
  });

  it('revokes: the key gets 401, the name is reusable, and the change is audited', async () => {
    const key = (await create('leaked')).json().key as string;
    expect((await tiers(key)).statusCode).toBe(200);
    const revoked = await t.call({ method: 'DELETE', url: '/v1/api-keys/leaked' });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ name: 'leaked', scopes: ['tenants:read'] });
    const refused = await tiers(key);
    expect(refused.statusCode).toBe(401);
    expect(errorOf(refused).code).toBe('UNAUTHENTICATED');
    expect((await list()).map((k) => k.name)).not.toContain('leaked');

    const again = await t.call({ method: 'DELETE', url: '/v1/api-keys/leaked' });
    expect(again.statusCode).toBe(404);
    expect(errorOf(again).code).toBe('API_KEY_NOT_FOUND');

    const reused = await create('leaked', ['tenants:write']);
    expect(reused.statusCode).toBe(201);
    expect((await tiers(key)).statusCode).toBe(401);

    const events = (await t.call({ method: 'GET', url: '/v1/api-keys/events' })).json().items as {
      action: string;
      name: string;
      actor: string;
    }[];
    expect(events.filter((e) => e.name === 'leaked').map((e) => e.action)).toEqual([
      'created',
      'revoked',
      'created',
    ]);
    expect(events.find((e) => e.action === 'revoked')?.actor).toBe('key:admin');
  });

  it('rotates: both secrets work during the overlap, only the new one after', async () => {
    const old = (await create('rotating')).json().key as string;
    const rotated = await t.call({ method: 'POST', url: '/v1/api-keys/rotating/rotate' });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json().key as string;
    expect(fresh).toMatch(/^tcp_/);
    expect(fresh).not.toBe(old);
    const until = new Date(now + 10 * 60_000).toISOString();
    expect(rotated.json()).toMatchObject({ name: 'rotating', previousKeyValidUntil: until });
    expect((await list()).find((k) => k.name === 'rotating')?.previousKeyValidUntil).toBe(until);

    expect((await tiers(old)).statusCode).toBe(200);
    expect((await tiers(fresh)).statusCode).toBe(200);
    now += 10 * 60_000 - 1;
    expect((await tiers(old)).statusCode).toBe(200);
    now += 1;
    expect((await tiers(old)).statusCode).toBe(401);
    expect((await tiers(fresh)).statusCode).toBe(200);
    expect((await list()).find((k) => k.name === 'rotating')?.previousKeyValidUntil).toBeUndefined();

    // Without an overlap the previous secret stops at once; the rotation is audited.
    const third = (
      await t.call({ method: 'POST', url: '/v1/api-keys/rotating/rotate', payload: { overlapSeconds: 0 } })
    ).json().key as string;
    expect((await tiers(fresh)).statusCode).toBe(401);
    expect((await tiers(third)).statusCode).toBe(200);
    const events = (await t.call({ method: 'GET', url: '/v1/api-keys/events?limit=2' })).json().items as {
      action: string;
      name: string;
    }[];
    expect(events).toMatchObject([
      { action: 'rotated', name: 'rotating' },
      { action: 'rotated', name: 'rotating' },
    ]);

    // Revoking a key in its overlap revokes both secrets.
    const fourth = (await t.call({ method: 'POST', url: '/v1/api-keys/rotating/rotate' })).json()
      .key as string;
    await t.call({ method: 'DELETE', url: '/v1/api-keys/rotating' });
    expect((await tiers(third)).statusCode).toBe(401);
    expect((await tiers(fourth)).statusCode).toBe(401);
  });

  it('refuses to revoke or rotate the configured admin key, and needs the admin scope', async () => {
    for (const req of [
      { method: 'DELETE' as const, url: '/v1/api-keys/admin' },
      { method: 'POST' as const, url: '/v1/api-keys/admin/rotate' },
    ]) {
      const res = await t.call(req);
      expect(res.statusCode).toBe(409);
      expect(errorOf(res).code).toBe('API_KEY_MANAGED');
    }
    expect((await tiers(t.adminKey)).statusCode).toBe(200);
    const reader = await t.keyWith(['tenants:read']);
    const count = await t.countItems();
    const res = await t.call({ method: 'DELETE', url: '/v1/api-keys/reader', key: reader });
    expect(res.statusCode).toBe(403);
    expect(await t.countItems()).toBe(count);
    const missing = await t.call({ method: 'POST', url: '/v1/api-keys/nobody/rotate' });
    expect(errorOf(missing).code).toBe('API_KEY_NOT_FOUND');
  });
});

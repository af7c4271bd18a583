import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/api/harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /v1/whoami', () => {
  it('answers the actor and scopes of any valid key, whatever its scopes', async () => {
    const callbackOnly = await t.keyWith(['operations:callback'], 'whoami-callback');
    const res = await t.call({ method: 'GET', url: '/v1/whoami', key: callbackOnly });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      actor: 'key:whoami-callback',
      credential: 'api-key',
      scopes: ['operations:callback'],
    });
    const admin = await t.call({ method: 'GET', url: '/v1/whoami' });
    expect(admin.json()).toMatchObject({ scopes: ['admin'], credential: 'api-key' });
  });

  it('answers 401 UNAUTHENTICATED without a valid credential', async () => {
    for (const key of [null, 'not-a-key']) {
      const res = await t.call({ method: 'GET', url: '/v1/whoami', key });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
  });
});

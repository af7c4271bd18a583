import { describe, expect, it } from 'vitest';
import { Session } from './session.js';

/** What the console shows follows from the OpenAPI document and the credential's scopes. */
const openapi = {
  paths: {
    '/v1/tenants': {
      get: {
        security: [{ bearerAuth: ['tenants:read'] }],
        parameters: [
          { name: 'health', in: 'query', schema: { enum: ['healthy', 'drifted'] } },
          { name: 'cursor', in: 'query', schema: { type: 'string' } },
        ],
      },
      post: { security: [{ bearerAuth: ['tenants:write'] }] },
    },
    '/v1/whoami': { get: { security: [{ bearerAuth: [] }] } },
  },
};
const session = (scopes: string[]) => new Session({ actor: 'key:x', credential: 'api-key', scopes }, openapi);

describe('Session', () => {
  it('offers only the routes the OpenAPI document lists', () => {
    const s = session(['admin']);
    expect(s.offers('GET', '/v1/tenants')).toBe(true);
    expect(s.offers('GET', '/v1/rollouts')).toBe(false);
    expect(s.may('GET', '/v1/rollouts')).toBe(false);
  });

  it('allows a route when the credential holds its scope; admin holds every scope', () => {
    expect(session(['tenants:read']).may('POST', '/v1/tenants')).toBe(false);
    expect(session(['tenants:read']).may('GET', '/v1/tenants')).toBe(true);
    expect(session(['tenants:write']).may('POST', '/v1/tenants')).toBe(true);
    expect(session(['admin']).may('POST', '/v1/tenants')).toBe(true);
    // A route any credential may call.
    expect(session(['operations:callback']).may('GET', '/v1/whoami')).toBe(true);
  });

  it('lists the enum query parameters of a route: the filters the list offers', () => {
    expect([...session(['admin']).queryEnums('GET', '/v1/tenants')]).toEqual([
      ['health', ['healthy', 'drifted']],
    ]);
    expect(session(['admin']).queryEnums('GET', '/v1/rollouts').size).toBe(0);
  });
});

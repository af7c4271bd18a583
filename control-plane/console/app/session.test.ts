import { describe, expect, it } from 'vitest';
import { offered, offeredPages } from './nav.js';
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

describe('the pages of APIs that arrive separately', () => {
  const doc = (paths: Record<string, string>) => ({
    paths: Object.fromEntries(
      Object.entries(paths).map(([path, scope]) => [path, { get: { security: [{ bearerAuth: [scope] }] } }]),
    ),
  });
  const all = doc({
    '/v1/rollouts': 'rollouts:read',
    '/v1/tenants/{tenantId}/health': 'tenants:read',
    '/v1/costs': 'costs:read',
    '/v1/quotas': 'tenants:read',
  });
  const who = (scopes: string[]) => ({ actor: 'key:x', credential: 'api-key' as const, scopes });

  it('lists a page only when the OpenAPI document has its route', () => {
    expect(offeredPages(new Session(who(['admin']), all)).map((p) => p.key)).toEqual([
      'rollouts',
      'health',
      'costs',
      'quotas',
    ]);
    const noCosts = doc({ '/v1/rollouts': 'rollouts:read', '/v1/tenants/{tenantId}/health': 'tenants:read' });
    expect(offeredPages(new Session(who(['admin']), noCosts)).map((p) => p.key)).toEqual([
      'rollouts',
      'health',
    ]);
    expect(offered(new Session(who(['admin']), noCosts), 'costs')).toBe(false);
    expect(offeredPages(new Session(who(['admin']), { paths: {} }))).toEqual([]);
  });

  it('and only when the credential holds its scope', () => {
    expect(offeredPages(new Session(who(['tenants:read']), all)).map((p) => p.key)).toEqual([
      'health',
      'quotas',
    ]);
    expect(offeredPages(new Session(who(['costs:read']), all)).map((p) => p.key)).toEqual(['costs']);
  });
});

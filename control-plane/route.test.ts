import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../core/registry/records.js';
import { startTestApp, type TestApp, tenantBody } from '../test/api/harness.js';
import { testClients } from '../test/support/aws.js';
import { seedTenants } from '../test/support/seed.js';

/**
 * Strict query strings, enforced once in route.ts: every route, including one added tomorrow,
 * refuses a query parameter it does not declare, before its handler runs.
 */

let t: TestApp;
let active: Tenant;
let operationId: string;

beforeAll(async () => {
  t = await startTestApp();
  const clients = testClients();
  [active] = (await seedTenants(clients.documents, t.registry.tableName, 1, () => ({
    tier: 'basic',
    state: 'ACTIVE',
  }))) as [Tenant];
  clients.destroy();
  const started = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('strict-q') });
  expect(started.statusCode).toBe(202);
  operationId = started.json().operation.operationId;
});
afterAll(async () => t?.close());

interface OpenApiOperation {
  readonly parameters?: { name: string; in: string; required?: boolean }[];
}

describe('unknown query parameters', () => {
  it('are refused on every route with UNKNOWN_QUERY_PARAMETER, naming the parameter and the accepted ones; nothing is written', async () => {
    const doc = (await t.call({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const before = await t.countItems();
    const checked: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const query = (op.parameters ?? []).filter((p) => p.in === 'query');
        // The route's required parameters, valid, so the unknown one is the only fault.
        const given = query.filter((p) => p.required).map((p) => `${p.name}=manifest.json&`);
        const url = `${path
          .replace('{tenantId}', active.slug)
          .replace('{operationId}', operationId)}?${given.join('')}zzUnknown=1`;
        const res = await t.call({ method: method.toUpperCase() as 'GET', url });
        const where = `${method.toUpperCase()} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`;
        expect(res.statusCode, where).toBe(400);
        const { error } = res.json();
        expect(error.code, where).toBe('UNKNOWN_QUERY_PARAMETER');
        expect(error.message, where).toContain('zzUnknown');
        expect(error.details, where).toEqual({
          unknown: ['zzUnknown'],
          accepted: query.map((p) => p.name),
        });
        expect(error.requestId, where).toBe(res.headers['x-request-id']);
        checked.push(`${method.toUpperCase()} ${path}`);
      }
    }
    // Every route of the API, not a sample (the webhook, api-keys, tenants, operations, exports, meta).
    expect(checked).toEqual(
      expect.arrayContaining([
        'POST /v1/tenants',
        'DELETE /v1/tenants/{tenantId}',
        'POST /v1/api-keys',
        'POST /v1/webhooks/signup',
        'GET /v1/operations/{operationId}',
        'GET /v1/tenants/{tenantId}/export/file',
        'GET /healthz',
      ]),
    );
    expect(checked.length).toBeGreaterThanOrEqual(17);
    expect(await t.countItems()).toBe(before);
  });

  it('DELETE /v1/tenants/:id?dryRun=true is refused and offboards nothing', async () => {
    const res = await t.call({ method: 'DELETE', url: `/v1/tenants/${active.slug}?dryRun=true` });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'UNKNOWN_QUERY_PARAMETER',
      details: { unknown: ['dryRun'], accepted: [] },
    });
    expect(res.json().error.message).toContain('takes no query parameters');
    const after = await t.registry.requireTenant(active.tenantId);
    expect(after.state).toBe('ACTIVE');
    expect(after.version).toBe(active.version);
    expect((await t.registry.listEvents(active.tenantId, {})).items).toEqual([]);
  });

  it('POST /v1/api-keys?scopes=… is refused, and the key name stays free', async () => {
    const payload = { name: 'strict-query-key', scopes: ['tenants:read'] };
    const refused = await t.call({ method: 'POST', url: '/v1/api-keys?scopes=admin', payload });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('UNKNOWN_QUERY_PARAMETER');
    const created = await t.call({ method: 'POST', url: '/v1/api-keys', payload });
    expect(created.statusCode).toBe(201);
    expect(created.json().scopes).toEqual(['tenants:read']);
  });

  it('lists what a route with a query schema takes, and still answers its own parameters', async () => {
    const refused = await t.call({ method: 'GET', url: '/v1/tenants?limit=1&sort=name' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({
      code: 'UNKNOWN_QUERY_PARAMETER',
      details: { unknown: ['sort'], accepted: ['tier', 'state', 'health', 'limit', 'cursor'] },
    });
    expect(refused.json().error.message).toContain('takes only tier, state, health, limit, cursor');
    const ok = await t.call({ method: 'GET', url: '/v1/tenants?limit=1' });
    expect(ok.statusCode).toBe(200);
  });
});

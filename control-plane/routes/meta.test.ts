import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testEndpoint } from '../../test/support/aws.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const validatorInstalled = !spawnSync('openapi-spec-validator', ['--help'], { stdio: 'ignore' }).error;

/** Every route of the API, as OpenAPI lists it. */
const ROUTES = [
  'get /console',
  'get /console/assets/{file}',
  'get /healthz',
  'get /metrics',
  'get /openapi.json',
  'get /readyz',
  'get /v1/costs',
  'get /v1/events/stream',
  'get /v1/gates',
  'get /v1/operations/{operationId}',
  'get /v1/operations',
  'get /v1/operations/{operationId}/callback',
  'get /v1/tenants/{tenantId}/operations',
  'post /v1/api-keys',
  'post /v1/usage',
  'get /v1/api-keys',
  'get /v1/api-keys/events',
  'delete /v1/api-keys/{name}',
  'post /v1/api-keys/{name}/rotate',
  'post /v1/operations/{operationId}/callback',
  'post /v1/operations/{operationId}/retry',
  'post /v1/operations/{operationId}/cancel',
  'post /v1/reconcile',
  'get /v1/reconcile/{runId}',
  'get /v1/tenants/{tenantId}/health',
  'post /v1/tenants/{tenantId}/repair',
  'get /v1/orphans',
  'post /v1/orphans/delete',
  'get /v1/tenants',
  'post /v1/tenants',
  'delete /v1/tenants/{tenantId}',
  'get /v1/tenants/{tenantId}',
  'get /v1/tenants/{tenantId}/cost',
  'patch /v1/tenants/{tenantId}',
  'get /v1/tenants/{tenantId}/events',
  'get /v1/tenants/{tenantId}/export',
  'get /v1/tenants/{tenantId}/export/file',
  'post /v1/tenants/{tenantId}/resume',
  'post /v1/tenants/{tenantId}/suspend',
  'post /v1/tenants/{tenantId}/tier',
  'get /v1/tenants/{tenantId}/usage',
  'get /v1/tenants/{tenantId}/users',
  'post /v1/tenants/{tenantId}/users',
  'post /v1/tenants/{tenantId}/users/{username}/disable',
  'post /v1/tenants/{tenantId}/credentials',
  'get /v1/tiers',
  'post /v1/webhooks/signup',
  'get /v1/tenants/{tenantId}/config',
  'patch /v1/tenants/{tenantId}/config',
  'get /v1/quotas',
  'post /v1/webhooks/stripe',
  'get /v1/whoami',
  'get /v1/templates',
  'get /v1/rollouts',
  'post /v1/rollouts',
  'get /v1/rollouts/{rolloutId}',
  'get /v1/rollouts/{rolloutId}/tenants',
  'patch /v1/rollouts/{rolloutId}',
  'post /v1/rollouts/{rolloutId}/pause',
  'post /v1/rollouts/{rolloutId}/resume',
  'post /v1/rollouts/{rolloutId}/abort',
].sort();

type OpenApi = {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: unknown }> };
        responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
        security: unknown[];
      }
    >
  >;
  components: { schemas: Record<string, unknown> };
};

describe('health and readiness', () => {
  it('GET /healthz answers status, the AWS endpoint and the registry table status, without auth', async () => {
    const res = await t.call({ method: 'GET', url: '/healthz', key: null });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      awsEndpoint: testEndpoint(),
      registry: { table: t.registry.tableName, status: 'ACTIVE' },
    });
  });

  it('GET /readyz is 200 when the registry is reachable, 503 when not (and /healthz says degraded)', async () => {
    expect((await t.call({ method: 'GET', url: '/readyz', key: null })).json()).toMatchObject({
      status: 'ready',
    });
    const down = await startTestApp({
      registry: t.registry,
      deps: {
        health: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      },
    });
    try {
      const ready = await down.call({ method: 'GET', url: '/readyz', key: null });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({
        status: 'not-ready',
        registry: { table: t.registry.tableName, status: 'UNREACHABLE' },
      });
      const health = await down.call({ method: 'GET', url: '/healthz', key: null });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({ status: 'degraded' });
    } finally {
      await down.close();
    }
  });
});

describe('GET /v1/tiers', () => {
  it('answers the catalog with isolation, limits and dedicatedAccount', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/tiers' });
    expect(res.statusCode).toBe(200);
    const { tiers } = res.json() as {
      tiers: { name: string; isolation: string; throttle: unknown; dedicatedAccount: boolean }[];
    };
    expect(tiers.map((x) => [x.name, x.isolation, x.dedicatedAccount])).toEqual(
      t.catalog.tiers.map((x) => [x.name, x.isolation, x.dedicatedAccount]),
    );
    expect(tiers.map((x) => x.isolation)).toEqual(expect.arrayContaining(['pool', 'bridge', 'silo']));
    expect(tiers[0]!.throttle).toEqual(t.catalog.tiers[0]!.throttle);
    const { meters, sharedCostMeter } = res.json() as { meters: { name: string }[]; sharedCostMeter: string };
    expect(meters.map((m) => m.name)).toEqual(['api-requests', 'storage-gb', 'seats']);
    expect(sharedCostMeter).toBe('api-requests');
    expect((res.json() as { lambdaConcurrencyLimit: number }).lambdaConcurrencyLimit).toBe(1000);
    expect((tiers[0] as { meters?: unknown }).meters).toEqual(t.catalog.tiers[0]!.meters);
    expect((await t.call({ method: 'GET', url: '/v1/tiers', key: null })).statusCode).toBe(401);
  });
});

describe('GET /metrics', () => {
  it('counts requests by route template, operations started, and operations the workflows report finished', async () => {
    const started = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('metered') });
    const { tenant } = started.json() as { tenant: { tenantId: string } };
    await t.call({ method: 'GET', url: `/v1/tenants/${tenant.tenantId}` });
    t.app.metrics.operationFinished('onboard', 'SUCCEEDED', 42);
    const res = await t.call({ method: 'GET', url: '/metrics', key: null });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(
      /http_requests_total\{method="GET",route="\/v1\/tenants\/:tenantId",status="200"\} 1/,
    );
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/v1\/tenants",status="202"\} 1/);
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/v1\/tenants\/:tenantId",status="200"\}/,
    );
    expect(text).toMatch(/tenant_operations_started_total\{type="onboard"\} 1/);
    expect(text).toMatch(/tenant_operations_finished_total\{type="onboard",status="SUCCEEDED"\} 1/);
    expect(text).toMatch(/tenant_operation_duration_seconds_sum\{type="onboard",status="SUCCEEDED"\} 42/);
    expect(text).not.toContain(tenant.tenantId);
  });
});

describe('OpenAPI', () => {
  it('lists every route with its request and response schemas and its credential', async () => {
    const res = await t.call({ method: 'GET', url: '/openapi.json', key: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as OpenApi;
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m} ${path}`),
    );
    expect(listed.sort()).toEqual(ROUTES);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(
          t.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }),
        ).toBe(true);
        const success = Object.entries(op.responses).filter(([status]) => status.startsWith('2'));
        expect(success.length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [, response] of success)
          expect(Object.values(response.content ?? {})[0]?.schema, `${method} ${path}`).toBeDefined();
        expect(op.responses['500'], `${method} ${path}`).toBeDefined();
      }
    }
    const onboard = doc.paths['/v1/tenants']!.post!;
    expect(onboard.requestBody!.content['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/CreateTenant',
    });
    expect(onboard.security).toEqual([{ bearerAuth: ['tenants:write'] }]);
    expect(Object.keys(onboard.responses).sort()).toEqual([
      '202',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '500',
    ]);
    expect(doc.paths['/v1/webhooks/signup']!.post!.security).toEqual([{ webhookSignature: [] }]);
    expect(doc.paths['/healthz']!.get!.security).toEqual([]);
    // Any credential may ask who it is; the event stream needs tenants:read.
    expect(doc.paths['/v1/whoami']!.get!.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/v1/events/stream']!.get!.security).toEqual([{ bearerAuth: ['tenants:read'] }]);
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        'Tenant',
        'Operation',
        'Started',
        'CreateTenant',
        'SignupEvent',
        'TierCatalog',
        'Error',
        'AuditEvent',
      ]),
    );
  });

  it.skipIf(!validatorInstalled)('is a valid OpenAPI document (openapi-spec-validator)', async () => {
    const doc = (await t.call({ method: 'GET', url: '/openapi.json', key: null })).body;
    const file = join(mkdtempSync(join(tmpdir(), 'tcp-openapi-')), 'openapi.json');
    writeFileSync(file, doc);
    const out = spawnSync('openapi-spec-validator', [file], { encoding: 'utf8' });
    expect(`${out.stdout}${out.stderr}`).toMatch(/OK/);
    expect(out.status).toBe(0);
  });

  it('serves Swagger UI at /docs on the same document', async () => {
    const page = await t.call({ method: 'GET', url: '/docs', key: null });
    const html =
      page.statusCode === 302
        ? await t.call({ method: 'GET', url: page.headers.location as string, key: null })
        : page;
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toMatch(/swagger/i);
    const json = await t.call({ method: 'GET', url: '/docs/json', key: null });
    expect(json.json()).toEqual((await t.call({ method: 'GET', url: '/openapi.json', key: null })).json());
  });
});

import { DescribeCertificateCommand, ListTagsForCertificateCommand } from '@aws-sdk/client-acm';
import { DescribeAccountLimitsCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/registry/records.js';
import { acmCertificates } from '../../core/tenant-config/certificates.js';
import type { ResolvedConfig } from '../../core/tenant-config/schema.js';
import { TenantConfigStore } from '../../core/tenant-config/store.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';

let t: TestApp;
const clients = testClients();

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
  clients.destroy();
});

/** An ACTIVE tenant of `tier`, onboarded through the API. */
async function activeTenant(slug: string, tier = 'basic'): Promise<Tenant> {
  const res = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug, { tier }) });
  expect(res.statusCode, res.body).toBe(202);
  const { operation } = res.json();
  return (await t.registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' }))
    .tenant;
}

const url = (tenant: string) => `/v1/tenants/${tenant}/config`;
const merge = (tenant: string, body: unknown, headers: Record<string, string> = {}, key?: string) =>
  t.call({
    method: 'PATCH',
    url: url(tenant),
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/merge-patch+json', ...headers },
    ...(key ? { key } : {}),
  });
const read = (tenant: string, headers: Record<string, string> = {}) =>
  t.call({ method: 'GET', url: url(tenant), headers });
const codeOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;

describe('GET /v1/tenants/:id/config', () => {
  it("answers the tier's defaults for a tenant that set nothing, with an ETag; If-None-Match answers 304", async () => {
    const tenant = await activeTenant('config-read');
    const res = await read(tenant.slug);
    expect(res.statusCode, res.body).toBe(200);
    const config = res.json() as ResolvedConfig;
    expect(config).toMatchObject({
      tenantId: tenant.tenantId,
      tier: 'basic',
      version: 0,
      overrides: {},
      domain: null,
    });
    expect(config.flags).toEqual(t.catalog.features('basic'));
    expect(Object.values(config.flagSources).every((s) => s === 'tier')).toBe(true);
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"0-/);
    const again = await read(tenant.tenantId, { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    expect((await read(tenant.tenantId, { 'if-none-match': '"0-other"' })).statusCode).toBe(200);
  });

  it('needs tenants:config:read; a write scope does not read, tenants:read does not write', async () => {
    const tenant = await activeTenant('config-scopes');
    const reader = await t.keyWith(['tenants:config:read']);
    const tenantsReader = await t.keyWith(['tenants:read']);
    const writer = await t.keyWith(['tenants:config:write']);
    expect((await t.call({ method: 'GET', url: url(tenant.slug), key: reader })).statusCode).toBe(200);
    const denied = await t.call({ method: 'GET', url: url(tenant.slug), key: tenantsReader });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.details).toMatchObject({ required: 'tenants:config:read' });
    expect((await merge(tenant.slug, { flags: { sso: true } }, {}, reader)).statusCode).toBe(403);
    const written = await merge(tenant.slug, { flags: { sso: true } }, {}, writer);
    expect(written.statusCode, written.body).toBe(200);
    expect(written.json().updatedBy).toMatch(/^key:/);
  });

  it('unknown tenants are 404 TENANT_NOT_FOUND', async () => {
    const res = await read('no-such-tenant');
    expect(res.statusCode).toBe(404);
    expect(codeOf(res)).toBe('TENANT_NOT_FOUND');
  });
});

describe('PATCH /v1/tenants/:id/config (JSON merge patch)', () => {
  it('merges flags and branding, writes one audit event, and answers the new ETag', async () => {
    const tenant = await activeTenant('config-patch');
    const before = (await t.registry.listEvents(tenant.tenantId)).items.length;
    const res = await merge(tenant.slug, {
      flags: { sso: true, theme: 'dark' },
      branding: {
        name: 'Acme',
        logoUrl: 'https://cdn.acme.example.com/logo.svg',
        colours: { primary: '#112233' },
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const config = res.json() as ResolvedConfig;
    expect(config).toMatchObject({
      version: 1,
      overrides: { sso: true, theme: 'dark' },
      flags: { ...t.catalog.features('basic'), sso: true, theme: 'dark' },
      flagSources: { sso: 'tenant', theme: 'tenant', 'max-projects': 'tier' },
      branding: { name: 'Acme', colours: { primary: '#112233' } },
      updatedBy: 'key:admin',
    });
    expect(res.headers.etag).toMatch(/^"1-/);
    // null takes a flag back to its tier default and removes a branding member; plain JSON works too.
    const next = await t.call({
      method: 'PATCH',
      url: url(tenant.slug),
      payload: { flags: { sso: null }, branding: { logoUrl: null } },
    });
    expect(next.statusCode, next.body).toBe(200);
    expect(next.json()).toMatchObject({
      version: 2,
      overrides: { theme: 'dark' },
      flagSources: { sso: 'tier' },
    });
    expect(next.json().branding).toEqual({ name: 'Acme', colours: { primary: '#112233' } });
    const events = (await t.registry.listEvents(tenant.tenantId)).items.slice(before);
    expect(events.map((e) => [e.action, e.actor, e.detail?.version])).toEqual([
      ['config.updated', 'key:admin', 1],
      ['config.updated', 'key:admin', 2],
    ]);
    expect(events[1]!.detail).toMatchObject({ changed: ['flags', 'branding'] });
  });

  it('a patch that changes nothing writes nothing and keeps the version', async () => {
    const tenant = await activeTenant('config-noop');
    await merge(tenant.slug, { flags: { sso: true } });
    const items = await t.countItems();
    const res = await merge(tenant.slug, { flags: { sso: true } });
    expect(res.statusCode).toBe(200);
    expect(res.json().version).toBe(1);
    expect(await t.countItems()).toBe(items);
  });

  it('races resolve by version: of patches sent with one ETag exactly one applies, the others get 409', async () => {
    const tenant = await activeTenant('config-race');
    const etag = (await read(tenant.slug)).headers.etag as string;
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => merge(tenant.slug, { flags: { winner: i } }, { 'if-match': etag })),
    );
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
    for (const lost of answers.filter((a) => a.statusCode === 409))
      expect(codeOf(lost)).toBe('VERSION_CONFLICT');
    const won = answers.find((a) => a.statusCode === 200)!.json() as ResolvedConfig;
    const now = (await read(tenant.slug)).json() as ResolvedConfig;
    expect(now.version).toBe(1);
    expect(now.flags.winner).toBe(won.flags.winner);
    const events = (await t.registry.listEvents(tenant.tenantId)).items.filter(
      (e) => e.action === 'config.updated',
    );
    expect(events).toHaveLength(1);
    // A stale ETag sent later is refused too, naming the current one.
    const stale = await merge(tenant.slug, { flags: { late: true } }, { 'if-match': etag });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.details).toMatchObject({
      currentETag: answers.find((a) => a.statusCode === 200)!.headers.etag,
    });
  });

  it('without If-Match, concurrent patches of different flags all apply (a lost race is re-applied)', async () => {
    const tenant = await activeTenant('config-blind');
    const answers = await Promise.all([0, 1, 2].map((i) => merge(tenant.slug, { flags: { [`f${i}`]: i } })));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    const now = (await read(tenant.slug)).json() as ResolvedConfig;
    expect(now.version).toBe(3);
    expect(now.overrides).toEqual({ f0: 0, f1: 1, f2: 2 });
  });

  it("a tier change recomputes the defaults: the new tier's flags, the overrides kept, a new ETag", async () => {
    const tenant = await activeTenant('config-tier');
    await merge(tenant.slug, { flags: { 'audit-export': false, theme: 'dark' } });
    const onBasic = await read(tenant.slug);
    expect(onBasic.json().flags).toMatchObject({ sso: false, 'max-projects': 3, 'audit-export': false });
    const etag = onBasic.headers.etag as string;

    const moved = await t.call({
      method: 'POST',
      url: `/v1/tenants/${tenant.slug}/tier`,
      payload: { tier: 'premium' },
    });
    expect(moved.statusCode, moved.body).toBe(202);
    await t.registry.finishOperation({
      operationId: moved.json().operation.operationId,
      outcome: 'succeeded',
      patch: { tier: 'premium', isolation: 'bridge' },
    });

    const onPremium = await read(tenant.slug, { 'if-none-match': etag });
    expect(onPremium.statusCode).toBe(200);
    const config = onPremium.json() as ResolvedConfig;
    expect(config.tier).toBe('premium');
    expect(config.version).toBe(1);
    expect(config.flags).toEqual({ ...t.catalog.features('premium'), 'audit-export': false, theme: 'dark' });
    expect(config.flags['max-projects']).toBe(100);
    expect(config.flagSources).toMatchObject({ sso: 'tier', 'audit-export': 'tenant' });
    expect(onPremium.headers.etag).not.toBe(etag);
    // A patch made against the config as it was on the old tier is refused.
    const stale = await merge(tenant.slug, { flags: { sso: false } }, { 'if-match': etag });
    expect(stale.statusCode).toBe(409);
  });

  it('refuses an offboarded tenant with 409 and writes nothing', async () => {
    const tenant = await activeTenant('config-gone');
    const off = await t.call({ method: 'DELETE', url: `/v1/tenants/${tenant.slug}` });
    await t.registry.finishOperation({ operationId: off.json().operation.operationId, outcome: 'succeeded' });
    const items = await t.countItems();
    const res = await merge(tenant.slug, { flags: { sso: true } });
    expect(res.statusCode).toBe(409);
    expect(codeOf(res)).toBe('INVALID_STATE_TRANSITION');
    expect(await t.countItems()).toBe(items);
    expect((await read(tenant.slug)).statusCode).toBe(200);
  });
});

describe('custom domains (ACM on moto)', () => {
  it('requests a DNS-validated certificate tagged with the tenant and records its validation records', async () => {
    const tenant = await activeTenant('config-domain');
    const res = await merge(tenant.slug, { domain: { hostname: 'App.Config-Domain.example.com' } });
    expect(res.statusCode, res.body).toBe(200);
    const { domain } = res.json() as ResolvedConfig;
    expect(domain).toMatchObject({ hostname: 'app.config-domain.example.com', status: 'PENDING_VALIDATION' });
    expect(domain!.certificateArn).toMatch(/^arn:aws:acm:us-east-1:\d{12}:certificate\//);
    expect(domain!.validationRecords).toEqual([
      {
        name: expect.stringMatching(/\.app\.config-domain\.example\.com\.$/),
        type: 'CNAME',
        value: expect.any(String),
      },
    ]);
    const tags = await clients.acm.send(
      new ListTagsForCertificateCommand({ CertificateArn: domain!.certificateArn }),
    );
    expect(tags.Tags).toContainEqual({ Key: 'TenantId', Value: tenant.tenantId });

    // The same hostname again re-reads the certificate: the same one (idempotency token), nothing written.
    const items = await t.countItems();
    const again = await merge(tenant.slug, { domain: { hostname: 'app.config-domain.example.com' } });
    expect(again.json()).toMatchObject({ version: 1, domain: { certificateArn: domain!.certificateArn } });
    expect(await t.countItems()).toBe(items);

    const removed = await merge(tenant.slug, { domain: null });
    expect(removed.json()).toMatchObject({ version: 2, domain: null });
    // The certificate no config names any more is deleted (it was attached to nothing).
    await expect(
      clients.acm.send(new DescribeCertificateCommand({ CertificateArn: domain!.certificateArn })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const events = (await t.registry.listEvents(tenant.tenantId)).items.filter(
      (e) => e.action === 'config.updated',
    );
    expect(events.at(-1)!.detail).toMatchObject({ previousCertificateArn: domain!.certificateArn });
  });

  it('where the endpoint lacks the ACM call: 501 CAPABILITY_UNAVAILABLE, nothing written', async () => {
    const tenant = await activeTenant('config-no-acm');
    // A call moto does not implement, answered as moto answers it (an HTML 500 page), behind ACM's name.
    const lacking = await startTestApp({
      registry: t.registry,
      deps: {
        tenantConfig: new TenantConfigStore({
          documents: clients.documents,
          tableName: t.registry.tableName,
          registry: t.registry,
          tierDefaults: (tier) => t.catalog.features(tier),
          certificates: acmCertificates({
            acm: { send: () => clients.cloudformation.send(new DescribeAccountLimitsCommand({})) } as never,
          }),
        }),
      },
    });
    try {
      const items = await lacking.countItems();
      const res = await lacking.call({
        method: 'PATCH',
        url: url(tenant.slug),
        payload: { domain: { hostname: 'app.no-acm.example.com' }, flags: { sso: true } },
      });
      expect(res.statusCode, res.body).toBe(501);
      expect(res.json().error).toMatchObject({
        code: 'CAPABILITY_UNAVAILABLE',
        details: { service: 'acm', call: 'RequestCertificate' },
      });
      expect(res.json().error.message).toMatch(/not available on this endpoint/);
      expect(await lacking.countItems()).toBe(items);
      expect((await read(tenant.slug)).json().version).toBe(0);
    } finally {
      await lacking.close();
    }
  });
});

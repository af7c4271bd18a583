import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { lifecycleWith, signal } from '../../test/api/registry-only-lifecycle.js';
import type { StoredResponse } from '../idempotency.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Started = { tenant: Tenant; operation: Operation };

async function onboard(slug: string, extra: Record<string, unknown> = {}): Promise<Started> {
  const res = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug, extra) });
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

/** Ends a tenant's current operation as the workflows would. */
async function finish(operationId: string, outcome: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
  await t.registry.finishOperation({ operationId, outcome });
}

const errorCode = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;

describe('POST /v1/tenants', () => {
  it('onboards: 202 with the tenant in PROVISIONING and its onboard operation, actor in the audit trail', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: {
        ...tenantBody('acme'),
        name: '  Acme Corp  ',
        region: 'eu-west-1',
        allowedPrincipals: ['arn:aws:iam::123456789012:root'],
      },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json() as Started;
    expect(body.tenant).toMatchObject({
      slug: 'acme',
      name: 'Acme Corp',
      tier: 'basic',
      state: 'PROVISIONING',
      region: 'eu-west-1',
    });
    expect(body.tenant.allowedPrincipals).toEqual(['arn:aws:iam::123456789012:root']);
    expect(body.operation).toMatchObject({
      type: 'onboard',
      status: 'PENDING',
      actor: 'key:admin',
      tenantId: body.tenant.tenantId,
    });
    const events = await t.registry.listEvents(body.tenant.tenantId);
    expect(events.items.every((e) => e.actor === 'key:admin')).toBe(true);
  });

  it('derives the slug from the name when none is given', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: { name: 'Derived Slug Co', tier: 'basic', adminEmail: 'a@derived.example.com' },
    });
    expect(res.statusCode).toBe(202);
    expect((res.json() as Started).tenant.slug).toBe('derived-slug-co');
  });

  it('refuses a duplicate slug with 409 TENANT_EXISTS', async () => {
    await onboard('dupe');
    const res = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('dupe') });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'TENANT_EXISTS', details: { slug: 'dupe' } } });
  });

  it('refuses an unknown tier with 400 UNKNOWN_TIER listing the tiers', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('gold-tenant', { tier: 'gold' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'UNKNOWN_TIER', details: { accepted: t.catalog.names() } },
    });
  });

  it('reports every bad field at once with 400 VALIDATION_FAILED', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: {
        name: 'x'.repeat(101),
        slug: 'Bad Slug',
        tier: '',
        adminEmail: 'not-an-email',
        region: 'mars',
        extra: 1,
      },
    });
    expect(res.statusCode).toBe(400);
    const error = (res.json() as { error: { code: string; details: { in: string; path: string }[] } }).error;
    expect(error.code).toBe('VALIDATION_FAILED');
    const paths = error.details.map((d) => `${d.in}:${d.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'body:name',
        'body:slug',
        'body:tier',
        'body:adminEmail',
        'body:region',
        'body:(root)',
      ]),
    );
  });

  it('rejects control characters and missing fields', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: { name: 'Evil\u0000Corp', tier: 'basic' },
    });
    expect(res.statusCode).toBe(400);
    const details = (res.json() as { error: { details: { path: string; message: string }[] } }).error.details;
    expect(details.find((d) => d.path === 'name')?.message).toMatch(/control characters/);
    expect(details.map((d) => d.path)).toContain('adminEmail');
  });

  it.each([
    [
      'a principal twice',
      ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:root'],
      'allowedPrincipals.1',
      'each value once',
    ],
    [
      'a group ARN',
      ['arn:aws:iam::123456789012:group/ops'],
      'allowedPrincipals.0',
      ':root, :role/<name> or :user/<name>',
    ],
    [
      'a comma inside an entry',
      ['arn:aws:iam::123456789012:role/a,b'],
      'allowedPrincipals.0',
      'no wildcards or commas',
    ],
    [
      'over 4,096 bytes joined',
      Array.from({ length: 10 }, (_, i) => `arn:aws:iam::123456789012:role/${String(i).padEnd(500, 'r')}`),
      'allowedPrincipals',
      'at most 4096 bytes joined',
    ],
  ])(
    'refuses %s with 400 INVALID_PARAMETER, as the silo template would, writing nothing',
    async (_label, principals, path, accepted) => {
      const before = await t.countItems();
      const res = await t.call({
        method: 'POST',
        url: '/v1/tenants',
        payload: tenantBody('principal-check', { tier: 'enterprise', allowedPrincipals: principals }),
      });
      expect(res.statusCode, res.body).toBe(400);
      const error = res.json().error as { code: string; message: string; details: Record<string, unknown>[] };
      expect(error.code).toBe('INVALID_PARAMETER');
      expect(error.message).toContain(path);
      expect(error.message).toContain(accepted);
      expect(error.details).toContainEqual(
        expect.objectContaining({ in: 'body', path, parameter: 'AllowedPrincipals' }),
      );
      expect(await t.countItems()).toBe(before);
    },
  );

  it('keeps the slug free after an INVALID_PARAMETER refusal', async () => {
    const bad = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('principal-free', {
        tier: 'enterprise',
        allowedPrincipals: ['arn:aws:iam::123456789012:group/ops'],
      }),
    });
    expect(errorCode(bad)).toBe('INVALID_PARAMETER');
    const { tenant } = await onboard('principal-free', {
      tier: 'enterprise',
      allowedPrincipals: ['arn:aws:iam::123456789012:role/ops', 'arn:aws:iam::123456789012:user/ci'],
    });
    expect(tenant.allowedPrincipals).toHaveLength(2);
  });

  it('answers VALIDATION_FAILED when a bad principal comes with other bad fields', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('principal-mixed', {
        adminEmail: 'nope',
        allowedPrincipals: ['arn:aws:iam::123456789012:group/ops'],
      }),
    });
    expect(errorCode(res)).toBe('VALIDATION_FAILED');
    const paths = (res.json().error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['adminEmail', 'allowedPrincipals.0']));
  });

  it('replays the same answer for the same Idempotency-Key and body', async () => {
    const headers = { 'idempotency-key': 'replay-key-1' };
    const first = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers,
      payload: tenantBody('idem-one'),
    });
    const second = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers,
      payload: tenantBody('idem-one'),
    });
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
    const page = await t.registry.listTenants({ limit: 200 });
    expect(page.items.filter((x) => x.slug === 'idem-one')).toHaveLength(1);
  });

  it('answers 422 IDEMPOTENCY_KEY_REUSED for the same key with a different body', async () => {
    const headers = { 'idempotency-key': 'reuse-key-1' };
    expect(
      (await t.call({ method: 'POST', url: '/v1/tenants', headers, payload: tenantBody('reuse-a') }))
        .statusCode,
    ).toBe(202);
    const res = await t.call({ method: 'POST', url: '/v1/tenants', headers, payload: tenantBody('reuse-b') });
    expect(res.statusCode).toBe(422);
    expect(errorCode(res)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await t.registry.getTenantBySlug('reuse-b')).toBeUndefined();
  });

  it('gives concurrent duplicates with one key the same 202 and makes one tenant', async () => {
    const headers = { 'idempotency-key': 'concurrent-key-1' };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.call({ method: 'POST', url: '/v1/tenants', headers, payload: tenantBody('idem-race') }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(202));
    const ids = new Set(answers.map((a) => (a.json() as Started).tenant.tenantId));
    expect(ids.size).toBe(1);
  });

  it('lets a retry run again after the first attempt was refused', async () => {
    const headers = { 'idempotency-key': 'retry-after-refusal' };
    const refused = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers,
      payload: tenantBody('retry-me', { tier: 'gold' }),
    });
    expect(errorCode(refused)).toBe('UNKNOWN_TIER');
    // Same key, same body: refused again, not IDEMPOTENCY_IN_FLIGHT.
    const again = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers,
      payload: tenantBody('retry-me', { tier: 'gold' }),
    });
    expect(errorCode(again)).toBe('UNKNOWN_TIER');
  });

  it('answers 409 IDEMPOTENCY_IN_FLIGHT when the first request outlasts the wait', async () => {
    const gate = signal();
    // The first request signals once it holds its idempotency record (it runs the onboard only then).
    const firstHoldsTheKey = signal();
    const slow = await startTestApp({
      registry: t.registry,
      deps: { idempotencyWaitMs: 300 },
      lifecycle: lifecycleWith('onboard', () => {
        firstHoldsTheKey.fire();
        return gate.wait;
      }),
    });
    try {
      const headers = { 'idempotency-key': 'slow-key' };
      const first = slow.call({
        method: 'POST',
        url: '/v1/tenants',
        headers,
        payload: tenantBody('slow-one'),
      });
      await firstHoldsTheKey.wait;
      const second = await slow.call({
        method: 'POST',
        url: '/v1/tenants',
        headers,
        payload: tenantBody('slow-one'),
      });
      expect(second.statusCode).toBe(409);
      expect(errorCode(second)).toBe('IDEMPOTENCY_IN_FLIGHT');
      gate.fire();
      expect((await first).statusCode).toBe(202);
    } finally {
      gate.fire();
      await slow.close();
    }
  });

  it('validates the Idempotency-Key header', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers: { 'idempotency-key': 'has space' },
      payload: tenantBody('bad-key'),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: [{ in: 'header', path: 'idempotency-key' }] },
    });
  });
});

describe('reading tenants', () => {
  it('gets a tenant by id and by slug; 404 TENANT_NOT_FOUND otherwise', async () => {
    const { tenant } = await onboard('readable');
    const byId = await t.call({ method: 'GET', url: `/v1/tenants/${tenant.tenantId}` });
    const bySlug = await t.call({ method: 'GET', url: '/v1/tenants/readable' });
    expect(byId.json()).toEqual(tenant);
    expect(bySlug.json()).toEqual(tenant);
    const missing = await t.call({ method: 'GET', url: '/v1/tenants/no-such-tenant' });
    expect(missing.statusCode).toBe(404);
    expect(errorCode(missing)).toBe('TENANT_NOT_FOUND');
    const malformed = await t.call({ method: 'GET', url: '/v1/tenants/NOT_A_REF' });
    expect(errorCode(malformed)).toBe('VALIDATION_FAILED');
  });

  it('lists with filters and cursor pagination', async () => {
    const a = await onboard('list-std-a', { tier: 'standard' });
    const b = await onboard('list-std-b', { tier: 'standard' });
    const c = await onboard('list-std-c', { tier: 'standard' });
    const first = await t.call({
      method: 'GET',
      url: '/v1/tenants?tier=standard&state=PROVISIONING&limit=2',
    });
    expect(first.statusCode).toBe(200);
    const page1 = first.json() as { items: Tenant[]; nextCursor: string | null };
    expect(page1.items.map((x) => x.slug)).toEqual(['list-std-c', 'list-std-b']);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const second = await t.call({
      method: 'GET',
      url: `/v1/tenants?tier=standard&state=PROVISIONING&limit=2&cursor=${encodeURIComponent(page1.nextCursor!)}`,
    });
    const page2 = second.json() as { items: Tenant[]; nextCursor: string | null };
    expect(page2.items.map((x) => x.tenantId)).toEqual([a.tenant.tenantId]);
    expect(page2.nextCursor).toBeNull();
    expect([b, c].every((x) => x.tenant.tier === 'standard')).toBe(true);
  });

  it('rejects bad list parameters with VALIDATION_FAILED', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/tenants?state=HAPPY&limit=0&cursor=%%%' });
    expect(res.statusCode).toBe(400);
    const details = (res.json() as { error: { details: { in: string; path: string }[] } }).error.details;
    expect(details.map((d) => `${d.in}:${d.path}`)).toEqual(
      expect.arrayContaining(['query:state', 'query:limit']),
    );
    const cursor = await t.call({ method: 'GET', url: '/v1/tenants?cursor=bm90LWEtY3Vyc29y' });
    expect(errorCode(cursor)).toBe('VALIDATION_FAILED');
  });

  it('pages through the audit trail', async () => {
    const { tenant } = await onboard('audited');
    const first = await t.call({ method: 'GET', url: `/v1/tenants/audited/events?limit=1` });
    const page1 = first.json() as { items: { action: string }[]; nextCursor: string };
    expect(page1.items.map((e) => e.action)).toEqual(['tenant.created']);
    const second = await t.call({
      method: 'GET',
      url: `/v1/tenants/${tenant.tenantId}/events?limit=5&cursor=${page1.nextCursor}`,
    });
    expect((second.json() as { items: { action: string }[] }).items.map((e) => e.action)).toEqual([
      'operation.started',
    ]);
    expect(errorCode(await t.call({ method: 'GET', url: '/v1/tenants/ghost-tenant/events' }))).toBe(
      'TENANT_NOT_FOUND',
    );
  });
});

describe('lifecycle operations', () => {
  it('change-tier, suspend, resume and offboard answer 202 with the operation; refusals are 409', async () => {
    const { tenant, operation } = await onboard('lifecycle');
    // Still onboarding: one operation at a time.
    const busy = await t.call({
      method: 'POST',
      url: '/v1/tenants/lifecycle/suspend',
      payload: { reason: 'unpaid' },
    });
    expect(busy.statusCode).toBe(409);
    expect(errorCode(busy)).toBe('OPERATION_IN_PROGRESS');
    await finish(operation.operationId);

    const notAllowed = await t.call({
      method: 'POST',
      url: '/v1/tenants/lifecycle/tier',
      payload: { tier: 'enterprise-x' },
    });
    expect(errorCode(notAllowed)).toBe('UNKNOWN_TIER');

    const tier = await t.call({
      method: 'POST',
      url: `/v1/tenants/${tenant.tenantId}/tier`,
      payload: { tier: 'standard' },
    });
    expect(tier.statusCode).toBe(202);
    expect((tier.json() as Started).operation).toMatchObject({
      type: 'change-tier',
      input: { tier: 'standard' },
    });
    await finish((tier.json() as Started).operation.operationId);

    const resumeActive = await t.call({ method: 'POST', url: '/v1/tenants/lifecycle/resume' });
    expect(resumeActive.statusCode).toBe(409);
    expect(errorCode(resumeActive)).toBe('INVALID_STATE_TRANSITION');

    const suspend = await t.call({
      method: 'POST',
      url: '/v1/tenants/lifecycle/suspend',
      payload: { reason: '  unpaid invoice ' },
    });
    expect(suspend.statusCode).toBe(202);
    expect((suspend.json() as Started).operation.input).toEqual({ reason: 'unpaid invoice' });
    expect((suspend.json() as Started).tenant.state).toBe('SUSPENDING');
    await finish((suspend.json() as Started).operation.operationId);

    const resume = await t.call({
      method: 'POST',
      url: '/v1/tenants/lifecycle/resume',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(resume.statusCode).toBe(202);
    await finish((resume.json() as Started).operation.operationId);

    const offboard = await t.call({
      method: 'DELETE',
      url: '/v1/tenants/lifecycle',
      headers: { 'idempotency-key': 'offboard-1' },
    });
    expect(offboard.statusCode).toBe(202);
    expect((offboard.json() as Started).tenant.state).toBe('OFFBOARDING');
    const replay = await t.call({
      method: 'DELETE',
      url: '/v1/tenants/lifecycle',
      headers: { 'idempotency-key': 'offboard-1' },
    });
    expect(replay.json()).toEqual(offboard.json());
  });

  it('refuses a tier move the catalog does not allow with 409 TIER_CHANGE_NOT_ALLOWED', async () => {
    const { operation } = await onboard('tier-refused', { tier: 'enterprise' });
    await finish(operation.operationId);
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants/tier-refused/tier',
      payload: { tier: 'basic' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      error: { code: 'TIER_CHANGE_NOT_ALLOWED', details: { from: 'enterprise', to: 'basic' } },
    });
  });

  it('requires a suspension reason and a tier', async () => {
    const suspend = await t.call({ method: 'POST', url: '/v1/tenants/anyone/suspend', payload: {} });
    expect(suspend.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: [{ in: 'body', path: 'reason' }] },
    });
    const tier = await t.call({ method: 'POST', url: '/v1/tenants/anyone/tier' });
    expect(tier.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  it('answers 404 for operations on an unknown tenant', async () => {
    const res = await t.call({ method: 'DELETE', url: '/v1/tenants/t_01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe('TENANT_NOT_FOUND');
  });
});

describe('idempotency records', () => {
  it('stores the answer for the key', async () => {
    const headers = { 'idempotency-key': 'stored-answer' };
    const res = await t.call({ method: 'POST', url: '/v1/tenants', headers, payload: tenantBody('stored') });
    const claim = await t.registry.claimIdempotencyKey('api:key:admin', 'stored-answer', {
      method: 'POST',
      route: '/v1/tenants',
      params: {},
      body: tenantBody('stored'),
    });
    expect(claim.status).toBe('completed');
    expect((claim as { response: StoredResponse }).response).toEqual({ statusCode: 202, body: res.json() });
  });
});

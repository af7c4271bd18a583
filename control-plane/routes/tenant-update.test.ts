import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';

/** PATCH /v1/tenants/:id on the registry-only lifecycle: validation, the recorded operation, idempotency. */

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('patchy', { tier: 'enterprise' }) });
  const tenant = await t.registry.requireTenant('patchy');
  await t.registry.finishOperation({ operationId: tenant.currentOperationId!, outcome: 'succeeded' });
});
afterAll(async () => {
  await t?.close();
});

const errorOf = (res: { json(): unknown }) =>
  (res.json() as { error: { code: string; details: unknown } }).error;
const patch = (payload: unknown, headers: Record<string, string> = {}) =>
  t.call({ method: 'PATCH', url: '/v1/tenants/patchy', payload: payload as object, headers });

describe('PATCH /v1/tenants/:tenantId', () => {
  it.each([
    ['an empty body', {}, 'VALIDATION_FAILED'],
    ['an unknown field', { slug: 'other' }, 'VALIDATION_FAILED'],
    ['a bad email', { adminEmail: 'nope' }, 'VALIDATION_FAILED'],
    ['a wildcard principal', { allowedPrincipals: ['*'] }, 'INVALID_PARAMETER'],
    [
      'a duplicate principal',
      { allowedPrincipals: ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:root'] },
      'INVALID_PARAMETER',
    ],
  ])('refuses %s with 400 %s, writing nothing', async (_what, body, code) => {
    const before = await t.countItems();
    const res = await patch(body);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe(code);
    expect(await t.countItems()).toBe(before);
  });

  it('starts a recorded update operation with the fields given; a retry with its key replays it', async () => {
    const body = { name: 'Patchy Co', allowedPrincipals: ['arn:aws:iam::123456789012:role/app'] };
    const res = await patch(body, { 'idempotency-key': 'upd-1' });
    expect(res.statusCode).toBe(202);
    const started = res.json() as { tenant: Tenant; operation: Operation };
    expect(started.tenant.state).toBe('UPDATING');
    expect(started.operation).toMatchObject({
      type: 'update',
      status: 'PENDING',
      input: body,
      actor: 'key:admin',
    });
    const replay = await patch(body, { 'idempotency-key': 'upd-1' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((replay.json() as { operation: Operation }).operation.operationId).toBe(
      started.operation.operationId,
    );

    const busy = await patch({ name: 'Again' });
    expect(busy.statusCode).toBe(409);
    expect(errorOf(busy).code).toBe('OPERATION_IN_PROGRESS');
    await t.registry.finishOperation({ operationId: started.operation.operationId, outcome: 'succeeded' });
    const events = (await t.call({ method: 'GET', url: '/v1/tenants/patchy/events' })).json().items as {
      action: string;
      operationId?: string;
    }[];
    expect(
      events.some((e) => e.action === 'operation.started' && e.operationId === started.operation.operationId),
    ).toBe(true);
  });

  it('needs tenants:write and a tenant in ACTIVE', async () => {
    const reader = await t.keyWith(['tenants:read']);
    const res = await t.call({
      method: 'PATCH',
      url: '/v1/tenants/patchy',
      payload: { name: 'x' },
      key: reader,
    });
    expect(res.statusCode).toBe(403);
    await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('patch-new') });
    const onboard = (await t.registry.requireTenant('patch-new')).currentOperationId!;
    await t.registry.finishOperation({ operationId: onboard, outcome: 'succeeded' });
    const suspend = await t.registry.startOperation('patch-new', 'suspend', {
      actor: 'test',
      input: { reason: 'x' },
    });
    await t.registry.finishOperation({ operationId: suspend.operation.operationId, outcome: 'succeeded' });
    const provisioning = await t.call({
      method: 'PATCH',
      url: '/v1/tenants/patch-new',
      payload: { name: 'x' },
    });
    expect(provisioning.statusCode).toBe(409);
    expect(errorOf(provisioning).code).toBe('INVALID_STATE_TRANSITION');
  });
});

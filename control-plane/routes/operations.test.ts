import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { lifecycleWith, signal } from '../../test/api/registry-only-lifecycle.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error;

async function onboard(slug: string): Promise<{ tenant: Tenant; operation: Operation }> {
  return (await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) })).json();
}

describe('GET /v1/operations/:operationId', () => {
  it('answers the operation with its steps', async () => {
    const { operation } = await onboard('op-steps');
    await t.registry.stepStarted(operation.operationId, 'createStack');
    await t.registry.stepEnded(operation.operationId, 'createStack', 'SUCCEEDED');
    await t.registry.stepStarted(operation.operationId, 'createUsers', 'waiting for Cognito');
    const res = await t.call({ method: 'GET', url: `/v1/operations/${operation.operationId}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as Operation;
    expect(body).toMatchObject({ operationId: operation.operationId, type: 'onboard', status: 'RUNNING' });
    expect(body.steps.map((s) => [s.name, s.status])).toEqual([
      ['createStack', 'SUCCEEDED'],
      ['createUsers', 'RUNNING'],
    ]);
  });

  it('answers 404 OPERATION_NOT_FOUND and 400 for a malformed id', async () => {
    const missing = await t.call({ method: 'GET', url: '/v1/operations/op_01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).code).toBe('OPERATION_NOT_FOUND');
    const malformed = await t.call({ method: 'GET', url: '/v1/operations/nope' });
    expect(malformed.statusCode).toBe(400);
    expect(errorOf(malformed).code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /v1/operations/:operationId?waitSeconds=N (long polling)', () => {
  it('answers once the operation has ended', async () => {
    // The long poll signals when it starts waiting: the operation ends while the request is open.
    const polling = signal();
    const app = await startTestApp({
      registry: t.registry,
      lifecycle: lifecycleWith('awaitOperation', polling.fire),
    });
    try {
      const { operation } = await onboard('op-long-poll');
      let answered = false;
      const waiting = app
        .call({ method: 'GET', url: `/v1/operations/${operation.operationId}?waitSeconds=10` })
        .finally(() => {
          answered = true;
        });
      await polling.wait;
      expect(answered).toBe(false);
      await t.registry.updateOperation(operation.operationId, () => ({ status: 'SUCCEEDED' }));
      const res = await waiting;
      expect(res.statusCode).toBe(200);
      expect((res.json() as Operation).status).toBe('SUCCEEDED');
    } finally {
      await app.close();
    }
  });

  it('answers the operation as it stands when it has not ended in time', async () => {
    const { operation } = await onboard('op-long-poll-open');
    const res = await t.call({ method: 'GET', url: `/v1/operations/${operation.operationId}?waitSeconds=1` });
    expect(res.statusCode).toBe(200);
    expect((res.json() as Operation).status).toBe('PENDING');
  });

  it.each(['21', '-1', 'soon', '1.5'])('refuses waitSeconds=%s with VALIDATION_FAILED', async (value) => {
    const { operation } = await onboard(`op-wait-${value.replace(/[^a-z0-9]/g, 'x')}`);
    const res = await t.call({
      method: 'GET',
      url: `/v1/operations/${operation.operationId}?waitSeconds=${value}`,
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(res.json())).toContain('waitSeconds');
  });
});

describe('GET /v1/operations/:operationId?waitSeconds=N&since=V (live progress)', () => {
  it('answers as soon as a step starts, with a new version, not only at the end', async () => {
    const polling = signal();
    const app = await startTestApp({
      registry: t.registry,
      lifecycle: lifecycleWith('awaitOperation', polling.fire),
    });
    try {
      const { operation } = await onboard('op-since');
      expect(operation.version).toBe(0);
      const waiting = app.call({
        method: 'GET',
        url: `/v1/operations/${operation.operationId}?waitSeconds=10&since=${operation.version}`,
      });
      await polling.wait;
      await t.registry.stepStarted(operation.operationId, 'Begin');
      const first = (await waiting).json() as Operation;
      expect(first.status).toBe('RUNNING');
      expect(first.version).toBeGreaterThan(operation.version);
      expect(first.steps.map((s) => [s.name, s.status])).toEqual([['Begin', 'RUNNING']]);
      // Already behind: the answer comes at once.
      const behind = await t.call({
        method: 'GET',
        url: `/v1/operations/${operation.operationId}?waitSeconds=10&since=${operation.version}`,
      });
      expect((behind.json() as Operation).version).toBe(first.version);
    } finally {
      await app.close();
    }
  });

  it('counts every step write and status change in the version', async () => {
    const { operation } = await onboard('op-version');
    const id = operation.operationId;
    const version = async () => (await t.registry.requireOperation(id)).version;
    await t.registry.stepStarted(id, 'Begin');
    expect(await version()).toBe(1);
    await t.registry.recordStep(
      id,
      { name: 'Begin', status: 'RUNNING', startedAt: 'x', detail: 'CREATE_IN_PROGRESS' },
      'detail',
    );
    expect(await version()).toBe(2);
    await t.registry.stepEnded(id, 'Begin', 'SUCCEEDED');
    expect(await version()).toBe(3);
    await t.registry.updateOperation(id, () => ({ waitingFor: 'migration' }));
    expect(await version()).toBe(4);
  });

  it('keeps a step where it first ran when it is written again (a resumed operation)', async () => {
    const { operation } = await onboard('op-resume-order');
    const id = operation.operationId;
    const started = new Date().toISOString();
    await t.registry.stepEnded(id, 'Begin', 'SUCCEEDED', undefined, undefined, started);
    await t.registry.stepEnded(id, 'ResolveTemplate', 'SUCCEEDED', undefined, undefined, started);
    await t.registry.stepStarted(id, 'CreateStack');
    // The resume runs the quick steps again: they stay first.
    await t.registry.stepEnded(id, 'Begin', 'SUCCEEDED', undefined, undefined, new Date().toISOString());
    await t.registry.stepEnded(
      id,
      'ResolveTemplate',
      'SUCCEEDED',
      undefined,
      undefined,
      new Date().toISOString(),
    );
    const op = await t.registry.requireOperation(id);
    expect(op.steps.map((s) => s.name)).toEqual(['Begin', 'ResolveTemplate', 'CreateStack']);
  });

  it('refuses a since that is not a version', async () => {
    const { operation } = await onboard('op-since-bad');
    const res = await t.call({ method: 'GET', url: `/v1/operations/${operation.operationId}?since=soon` });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('VALIDATION_FAILED');
  });
});

describe('POST /v1/operations/:operationId/callback', () => {
  it('answers the step the operation waits on (scope operations:callback)', async () => {
    const { operation } = await onboard('op-callback');
    await t.registry.updateOperation(operation.operationId, () => ({
      status: 'RUNNING',
      waitingFor: 'migration',
    }));
    const appPlane = await t.keyWith(['operations:callback']);
    const res = await t.call({
      method: 'POST',
      url: `/v1/operations/${operation.operationId}/callback`,
      key: appPlane,
      payload: { status: 'succeeded', reason: 'data copied' },
    });
    expect(res.statusCode).toBe(200);
    expect((res.json() as Operation).waitingFor).toBeUndefined();
    // Nothing waits any more.
    const again = await t.call({
      method: 'POST',
      url: `/v1/operations/${operation.operationId}/callback`,
      key: appPlane,
      payload: { status: 'succeeded' },
    });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('NOT_WAITING_FOR_CALLBACK');
  });

  it('validates the answer and reports unknown operations', async () => {
    const bad = await t.call({
      method: 'POST',
      url: '/v1/operations/op_01ARZ3NDEKTSV4RRFFQ69G5FAV/callback',
      payload: { status: 'maybe' },
    });
    expect(bad.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: [{ in: 'body', path: 'status' }] },
    });
    const missing = await t.call({
      method: 'POST',
      url: '/v1/operations/op_01ARZ3NDEKTSV4RRFFQ69G5FAV/callback',
      payload: { status: 'failed' },
    });
    expect(errorOf(missing).code).toBe('OPERATION_NOT_FOUND');
  });
});

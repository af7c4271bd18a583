import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';

/** POST /v1/operations/{id}/retry and /cancel over the registry (no workflows run here). */

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error;

async function failedOnboarding(slug: string): Promise<Operation> {
  const { operation } = (
    await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) })
  ).json() as {
    operation: Operation;
  };
  await t.registry.stepEnded(operation.operationId, 'CreateStack', 'FAILED', {
    code: 'STACK_FAILED',
    message: 'x',
  });
  return (
    await t.registry.finishOperation({
      operationId: operation.operationId,
      outcome: 'rolled-back',
      error: { code: 'STACK_FAILED', message: 'CreateStack: x', step: 'CreateStack' },
    })
  ).operation;
}

describe('POST /v1/operations/:operationId/retry', () => {
  it('opens the FAILED operation again as its next attempt; the tenant re-enters PROVISIONING', async () => {
    const failed = await failedOnboarding('retry-ok');
    const res = await t.call({ method: 'POST', url: `/v1/operations/${failed.operationId}/retry` });
    expect(res.statusCode).toBe(202);
    const { tenant, operation } = res.json() as { tenant: Tenant; operation: Operation };
    expect(operation).toMatchObject({
      operationId: failed.operationId,
      status: 'PENDING',
      attempt: 2,
      steps: [],
    });
    expect(operation.previousAttempts).toEqual([
      expect.objectContaining({ attempt: 1, error: expect.objectContaining({ code: 'STACK_FAILED' }) }),
    ]);
    expect(tenant).toMatchObject({ state: 'PROVISIONING', currentOperationId: failed.operationId });
    const trail = (await t.registry.listEvents(tenant.tenantId)).items.map((e) => e.action);
    expect(trail).toContain('operation.retried');
  });

  it('replays the answer for the same Idempotency-Key, and refuses a second retry without one', async () => {
    const failed = await failedOnboarding('retry-idem');
    const send = () =>
      t.call({
        method: 'POST',
        url: `/v1/operations/${failed.operationId}/retry`,
        headers: { 'idempotency-key': 'retry-idem-1' },
      });
    const first = await send();
    const again = await send();
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await t.call({ method: 'POST', url: `/v1/operations/${failed.operationId}/retry` });
    expect(other.statusCode).toBe(409);
    expect(errorOf(other).code).toBe('OPERATION_NOT_RETRYABLE');
  });

  it('refuses an operation that did not fail, and one the tenant has moved on from', async () => {
    const { operation } = (
      await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('retry-open') })
    ).json() as {
      operation: Operation;
    };
    const open = await t.call({ method: 'POST', url: `/v1/operations/${operation.operationId}/retry` });
    expect(open.statusCode).toBe(409);
    expect(errorOf(open).code).toBe('OPERATION_NOT_RETRYABLE');

    const failed = await failedOnboarding('retry-later');
    // A later operation (offboarding the FAILED tenant) changed the tenant after the failure.
    const off = (await t.call({ method: 'DELETE', url: `/v1/tenants/${failed.tenantId}` })).json() as {
      operation: Operation;
    };
    const during = await t.call({ method: 'POST', url: `/v1/operations/${failed.operationId}/retry` });
    expect(during.statusCode).toBe(409);
    expect(errorOf(during).code).toBe('OPERATION_IN_PROGRESS');
    await t.registry.finishOperation({
      operationId: off.operation.operationId,
      outcome: 'failed',
      error: { code: 'AWS_ERROR', message: 'DeleteStacks: x' },
    });
    // FAILED again, but by the offboarding: the onboarding is no longer the tenant's latest change.
    const later = await t.call({ method: 'POST', url: `/v1/operations/${failed.operationId}/retry` });
    expect(later.statusCode).toBe(409);
    expect(errorOf(later).code).toBe('OPERATION_NOT_RETRYABLE');
  });

  it('needs tenants:write', async () => {
    const failed = await failedOnboarding('retry-scope');
    const key = await t.keyWith(['tenants:read']);
    const res = await t.call({ method: 'POST', url: `/v1/operations/${failed.operationId}/retry`, key });
    expect(res.statusCode).toBe(403);
    expect((await t.registry.requireOperation(failed.operationId)).status).toBe('FAILED');
  });
});

describe('POST /v1/operations/:operationId/cancel', () => {
  it('records the cancel request; asking again answers the first one', async () => {
    const { operation } = (
      await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('cancel-ok') })
    ).json() as {
      operation: Operation;
    };
    const res = await t.call({ method: 'POST', url: `/v1/operations/${operation.operationId}/cancel` });
    expect(res.statusCode).toBe(200);
    const first = (res.json() as Operation).cancel;
    expect(first).toMatchObject({ actor: expect.stringMatching(/^key:/) });
    const again = await t.call({ method: 'POST', url: `/v1/operations/${operation.operationId}/cancel` });
    expect((again.json() as Operation).cancel).toEqual(first);
  });

  it('refuses an ended operation and an offboarding', async () => {
    const failed = await failedOnboarding('cancel-ended');
    const ended = await t.call({ method: 'POST', url: `/v1/operations/${failed.operationId}/cancel` });
    expect(ended.statusCode).toBe(409);
    expect(errorOf(ended).code).toBe('OPERATION_NOT_CANCELLABLE');
    const off = (await t.call({ method: 'DELETE', url: `/v1/tenants/${failed.tenantId}` })).json() as {
      operation: Operation;
    };
    const res = await t.call({ method: 'POST', url: `/v1/operations/${off.operation.operationId}/cancel` });
    expect(res.statusCode).toBe(409);
    expect(errorOf(res).code).toBe('OPERATION_NOT_CANCELLABLE');
    expect((await t.registry.requireOperation(off.operation.operationId)).cancel).toBeUndefined();
  });
});

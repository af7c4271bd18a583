import { GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ONBOARD_STEPS,
  startTestControlPlane,
  type TestControlPlane,
} from '../test/support/control-plane.js';
import { groupUsers, liveStacks } from '../test/support/moto-state.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';

/** Retry of a FAILED operation and cancel of a running one, on moto. */

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };
/** While set, API Gateway refuses to put a key in a usage plan (an injected, non-retryable fault). */
let refuseUsagePlanKeys = false;

beforeAll(async () => {
  cp = await startTestControlPlane({
    instrument: aroundCalls('usage-plan-fault', async (call, send) => {
      if (refuseUsagePlanKeys && call.operation === 'CreateUsagePlanKey')
        throw Object.assign(new Error('injected: usage plan is being changed'), {
          name: 'BadRequestException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      return send();
    }),
  });
});
afterAll(async () => {
  refuseUsagePlanKeys = false;
  await cp?.close();
});

describe('retry', () => {
  it('a FAILED onboarding retried after the fault is lifted ends ACTIVE with no duplicate resource', async () => {
    refuseUsagePlanKeys = true;
    const started = await cp.workflows.lifecycle.onboard(
      { name: 'Retry Me', slug: 'retry-me', tier: 'standard', adminEmail: 'admin@retry-me.example.com' },
      actor,
    );
    const failed = await cp.waitForOperation(started.operation.operationId);
    expect(failed.status).toBe('FAILED');
    const tenant = await cp.aws.registry.requireTenant('retry-me');
    expect(tenant.state).toBe('FAILED');
    expect(tenant.lastError).toMatchObject({ step: 'CreateApiKey' });

    refuseUsagePlanKeys = false;
    const retried = await cp.workflows.lifecycle.retry(failed.operationId, actor);
    expect(retried.tenant.state).toBe('PROVISIONING');
    const op = await cp.waitForOperation(failed.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(op.attempt).toBe(2);
    expect(op.steps.map((s) => s.name)).toEqual(ONBOARD_STEPS);
    expect(op.previousAttempts?.[0]?.error?.step).toBe('CreateApiKey');

    const after = await cp.aws.registry.requireTenant('retry-me');
    expect(after.state).toBe('ACTIVE');
    expect(after.lastError).toBeUndefined();
    // Exactly one of everything: one live stack, one user in the group, one key of that name.
    const stacks = await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-retry-me-`);
    expect(stacks.map((s) => s.StackId)).toEqual([after.stacks[0]!.arn]);
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, after)).toEqual([
      { username: 'retry-me-admin', enabled: true },
    ]);
    const keyName = `${cp.config.resourcePrefix}-${after.tenantId}`;
    const keys = await cp.aws.clients.apigateway.send(new GetApiKeysCommand({ nameQuery: keyName }));
    expect((keys.items ?? []).filter((k) => k.name === keyName).map((k) => k.id)).toEqual([
      after.access.apiKeyId,
    ]);
    const trail = (await cp.aws.registry.listEvents(after.tenantId)).items;
    expect(trail.filter((e) => e.action === 'state.changed').map((e) => `${e.from}>${e.to}`)).toEqual([
      'PROVISIONING>FAILED',
      'FAILED>PROVISIONING',
      'PROVISIONING>ACTIVE',
    ]);
  });
});

describe('cancel', () => {
  it('a change-tier waiting for its migration callback, cancelled, returns to ACTIVE on its old tier with the target stack removed', async () => {
    const onboarded = await cp.workflows.lifecycle.onboard(
      { name: 'Cancel Me', slug: 'cancel-me', tier: 'basic', adminEmail: 'admin@cancel-me.example.com' },
      actor,
    );
    expect((await cp.waitForOperation(onboarded.operation.operationId)).status).toBe('SUCCEEDED');
    const before = await cp.aws.registry.requireTenant('cancel-me');

    const started = await cp.workflows.lifecycle.changeTier('cancel-me', 'premium', actor);
    const operationId = started.operation.operationId;
    // Wait on the thing itself: the operation says it waits for the application plane.
    for (let op = await cp.aws.registry.requireOperation(operationId); op.waitingFor !== 'migration'; ) {
      expect(['PENDING', 'RUNNING']).toContain(op.status);
      await cp.workflows.lifecycle.awaitOperation(operationId, 100);
      op = await cp.aws.registry.requireOperation(operationId);
    }
    const waiting = await cp.aws.registry.requireTenant('cancel-me');
    expect(waiting.stacks.map((s) => s.role).sort()).toEqual(['current', 'target']);

    const cancelled = await cp.workflows.lifecycle.cancel(operationId, { actor: 'key:operator' });
    expect(cancelled.cancel).toMatchObject({ actor: 'key:operator' });
    const op = await cp.waitForOperation(operationId);
    expect(op.status).toBe('FAILED');
    expect(op.error).toMatchObject({ code: 'OPERATION_CANCELLED', step: 'AwaitMigration' });
    expect(op.steps.find((s) => s.name === 'UndoTargetStack')?.status).toBe('SUCCEEDED');

    const after = await cp.aws.registry.requireTenant('cancel-me');
    expect(after).toMatchObject({ state: 'ACTIVE', tier: 'basic', isolation: 'pool' });
    expect(after.stacks.map((s) => [s.role, s.arn])).toEqual([['current', before.stacks[0]!.arn]]);
    const stacks = await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-cancel-me-`);
    expect(stacks.map((s) => s.StackId)).toEqual([before.stacks[0]!.arn]);
    // Cancelling what has ended is refused.
    await expect(cp.workflows.lifecycle.cancel(operationId, actor)).rejects.toMatchObject({
      code: 'OPERATION_NOT_CANCELLABLE',
    });
  });
});

import { DeleteApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { groupUsers } from '../test/support/moto-state.js';

/**
 * Compensation that finishes: every undo step runs even when another one fails, an undo whose
 * target is gone counts as done, and lastError names the step that failed first.
 */

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };
/** `<tenantId>/<step>` pairs whose task fails before it runs (a fault the test injects). */
const faults = new Set<string>();

beforeAll(async () => {
  cp = await startTestControlPlane({
    hooks: {
      beforeTask(input) {
        if (faults.has(`${input.tenantId}/${input.step}`)) throw new Error(`injected fault at ${input.step}`);
      },
    },
  });
});
afterAll(async () => cp?.close());

async function onboard(slug: string) {
  const started = await cp.workflows.lifecycle.onboard(
    { name: `Tenant ${slug}`, slug, tier: 'basic', adminEmail: `admin@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(started.tenant.tenantId);
}

describe('suspend compensation', () => {
  it('an API key deleted out of band: suspend fails at DisableApiKey, every undo runs, the tenant is ACTIVE again', async () => {
    const tenant = await onboard('comp-key-gone');
    await cp.aws.clients.apigateway.send(new DeleteApiKeyCommand({ apiKey: tenant.access.apiKeyId! }));

    const started = await cp.workflows.lifecycle.suspend(tenant.tenantId, 'unpaid', actor);
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status).toBe('FAILED');
    const after = await cp.aws.registry.requireTenant(tenant.tenantId);
    // Compensation undid everything: back where it was, users enabled again.
    expect(after.state).toBe('ACTIVE');
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toEqual([
      { username: 'comp-key-gone-admin', enabled: true },
    ]);
    expect(after.lastError).toMatchObject({ step: 'DisableApiKey', code: 'AWS_ERROR' });
    expect(after.lastError!.message).toMatch(/^DisableApiKey: /);
    expect(after.lastError!.undoFailed).toBeUndefined();
    const steps = Object.fromEntries(op.steps.map((s) => [s.name, s]));
    expect(steps.DisableApiKey!.status).toBe('FAILED');
    // The suspension never disabled the key (it was gone), so its undo has nothing to re-enable
    // and touches nothing (an undo whose target is gone counts as done: runner.test.ts).
    expect(steps.UndoApiKey!.status).toBe('SUCCEEDED');
    expect(steps.UndoUsers!.status).toBe('SUCCEEDED');
  });

  it('an undo that fails does not stop the ones after it; lastError names the first failure and lists it', async () => {
    const tenant = await onboard('comp-undo-fails');
    await cp.aws.clients.apigateway.send(new DeleteApiKeyCommand({ apiKey: tenant.access.apiKeyId! }));
    faults.add(`${tenant.tenantId}/UndoApiKey`);

    const started = await cp.workflows.lifecycle.suspend(tenant.tenantId, 'unpaid', actor);
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status).toBe('FAILED');
    const after = await cp.aws.registry.requireTenant(tenant.tenantId);
    expect(after.state).toBe('FAILED');
    // UndoUsers ran although UndoApiKey failed before it.
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toEqual([
      { username: 'comp-undo-fails-admin', enabled: true },
    ]);
    expect(after.lastError).toMatchObject({
      step: 'DisableApiKey',
      undoFailed: [{ step: 'UndoApiKey', message: expect.stringContaining('injected fault at UndoApiKey') }],
    });
    expect(after.lastError!.message).toMatch(
      /^DisableApiKey: .+; undo steps failed: UndoApiKey \(injected fault at UndoApiKey\)$/,
    );
    expect(op.steps.find((s) => s.name === 'UndoUsers')?.status).toBe('SUCCEEDED');
  });
});

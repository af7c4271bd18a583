import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { liveStacks } from '../test/support/moto-state.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';

/**
 * The stack steps' bookkeeping when CloudFormation misbehaves: a stack slot is released on every
 * way out of a stack step, failures included, and a stack whose CreateStack got through but whose
 * answer was lost is recorded all the same, so compensation deletes it.
 */

const REFUSED = 'slot-refused';
const LOST = 'slot-lost-answer';
const refusal = (message: string) =>
  Object.assign(new Error(message), {
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

const instrument = aroundCalls('stackFaults', async (call, send) => {
  if (call.operation !== 'CreateStack') return send();
  const name = String(call.input.StackName ?? '');
  // Refused outright: nothing is created.
  if (name.includes(`-${REFUSED}-`))
    throw refusal('Parameter AllowedPrincipals failed validation (injected)');
  if (name.includes(`-${LOST}-`)) {
    // Created, then the answer is lost on the way back.
    await send();
    throw refusal('connection reset after the request was sent (injected)');
  }
  return send();
});

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane({ instrument });
}, 120_000);
afterAll(async () => cp?.close());

async function failedOnboarding(slug: string) {
  const started = await cp.workflows.lifecycle.onboard(
    { name: slug, slug, tier: 'premium', adminEmail: `a@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status).toBe('FAILED');
  expect(op.error?.code).toBe('STACK_FAILED');
  return op;
}

describe('stack steps on a failing CloudFormation', () => {
  it('a refused CreateStack fails the onboarding and leaves no stack slot held', async () => {
    const op = await failedOnboarding(REFUSED);
    expect(op.error?.message).toContain('(injected)');
    const holders = await cp.workflows.deps.stackGate.holders();
    expect(holders.filter((h) => h.startsWith(op.operationId))).toEqual([]);
    const tenant = await cp.aws.registry.requireTenant(REFUSED);
    expect([tenant.state, tenant.stacks]).toEqual(['FAILED', []]);
  });

  it('a stack created behind a lost answer is recorded, deleted by compensation, and its slot released', async () => {
    const op = await failedOnboarding(LOST);
    expect(await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-${LOST}-`)).toEqual([]);
    const holders = await cp.workflows.deps.stackGate.holders();
    expect(holders.filter((h) => h.startsWith(op.operationId))).toEqual([]);
    expect((await cp.aws.registry.requireTenant(LOST)).stacks).toEqual([]);
  });
});

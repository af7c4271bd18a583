import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { groupUsers, liveStacks } from '../test/support/moto-state.js';
import type { TaskInput } from './tasks/index.js';

const actor = { actor: 'test:ops' };

describe('crash and resume', () => {
  let cp: TestControlPlane;
  afterAll(async () => cp?.close());

  const ONBOARD_STEPS = ['ResolveTemplate', 'CreateStack', 'CreateIdentity', 'CreateApiKey', 'Activate'];

  it.each(ONBOARD_STEPS)(
    'an engine killed before %s resumes to ACTIVE with one stack and one admin user',
    async (killAt) => {
      let engineToKill: { close(): Promise<void> } | undefined;
      let killed = false;
      const hooks = {
        async beforeTask(input: TaskInput) {
          if (!killed && input.step === killAt) {
            killed = true;
            void engineToKill!.close();
            // The process "dies" here: this step never completes.
            await new Promise(() => undefined);
          }
        },
      };
      cp ??= await startTestControlPlane();
      const first = cp.restart(hooks);
      engineToKill = first.engine;
      const slug = `crash-${killAt.toLowerCase()}`;
      const started = await first.lifecycle.onboard(
        { name: slug, slug, tier: 'basic', adminEmail: `a@${slug}.example.com` },
        actor,
      );
      await first.engine.idle();
      expect(killed).toBe(true);
      const stuck = await cp.aws.registry.requireOperation(started.operation.operationId);
      expect(stuck.status).not.toBe('SUCCEEDED');

      const second = cp.restart();
      try {
        expect(await second.engine.resumeOpen()).toBeGreaterThanOrEqual(1);
        const op = await cp.waitForOperation(started.operation.operationId);
        expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
        const tenant = await cp.aws.registry.requireTenant(slug);
        expect(tenant.state).toBe('ACTIVE');
        expect(await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-${slug}-`)).toHaveLength(1);
        expect(tenant.stacks).toHaveLength(1);
        expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toHaveLength(1);
      } finally {
        // The restarted process goes away with its test: left running, its heartbeat sweep would
        // take over the next test's crashed operation before that test's own restart does.
        await second.engine.close();
      }
    },
  );
});

describe('two control planes on one registry', () => {
  let cp: TestControlPlane;
  afterAll(async () => cp?.close());

  it('a live one takes over, at its next heartbeat, an onboarding whose control plane died', async () => {
    cp = await startTestControlPlane({ overrides: { operationClaimSeconds: 3 } });
    const survivor = cp.restart();
    await survivor.engine.resumeOpen(); // as at startup: heartbeats and sweeps from now on
    let doomedEngine: { close(): Promise<void> } | undefined;
    const doomed = cp.restart({
      async beforeTask(input: TaskInput) {
        if (input.step !== 'CreateIdentity') return;
        void doomedEngine!.close();
        await new Promise(() => undefined);
      },
    });
    doomedEngine = doomed.engine;
    const started = await doomed.lifecycle.onboard(
      { name: 'Orphan', slug: 'orphan', tier: 'basic', adminEmail: 'a@orphan.example.com' },
      actor,
    );
    expect(started.operation.runner).toBe(doomed.engine.runnerId);
    // Nobody calls resumeOpen(): the survivor's sweep finds the operation.
    const op = await cp.waitForOperation(started.operation.operationId, 60_000);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(op.runner).not.toBe(doomed.engine.runnerId);
    const tenant = await cp.aws.registry.requireTenant('orphan');
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toHaveLength(1);
  });
});

describe('a burst of onboardings', () => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ overrides: { maxStackOperations: 10 } });
  });
  afterAll(async () => cp?.close());

  it('50 concurrent onboardings all reach ACTIVE', async () => {
    const started = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        cp.workflows.lifecycle.onboard(
          {
            name: `Burst ${i}`,
            slug: `burst-${i}`,
            tier: i % 2 ? 'basic' : 'standard',
            adminEmail: `a${i}@example.com`,
          },
          actor,
        ),
      ),
    );
    const ops = await Promise.all(started.map((s) => cp.waitForOperation(s.operation.operationId, 240_000)));
    expect(ops.filter((o) => o.status !== 'SUCCEEDED').map((o) => o.error)).toEqual([]);
    const page = await cp.aws.registry.listTenants({ state: 'ACTIVE', limit: 100 });
    expect(page.items).toHaveLength(50);
    expect(await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-burst-`)).toHaveLength(50);
  }, 300_000);
});

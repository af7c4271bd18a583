import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollout } from '../core/rollouts/records.js';
import { type CfnTemplate, SynthesisService, type TemplateKind } from '../templates/index.js';
import { startTestControlPlane, type TestControlPlane, testSynth } from '../test/support/control-plane.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';
import { DEFAULT_CATALOG, TierCatalog } from '../tiers/catalog.js';
import type { TappedEvent } from './index.js';

/**
 * Fleet rollouts on moto: real onboarded tenants of every isolation model, a new template version
 * made by an injected template revision, and the stacks read back from CloudFormation. Each
 * scenario uses tiers of its own (clones of `basic`), so its rollout selects only its tenants.
 */

const SCENARIOS = ['canary', 'budget', 'brake', 'abort', 'crash', 'rollback'] as const;
const basic = DEFAULT_CATALOG.tiers.find((t) => t.name === 'basic')!;
const catalog = TierCatalog.parse({
  ...DEFAULT_CATALOG,
  tiers: [
    ...DEFAULT_CATALOG.tiers,
    ...SCENARIOS.map((name) => ({ ...basic, name: `${name}-pool`, allowedTransitions: [] })),
  ],
});

/** Stacks whose UpdateStack is refused (an injected failure), and ones held until released. */
const refused = new Set<string>();
const held = new Map<string, Promise<void>>();
const updates = new Map<string, number>();
const instrument = aroundCalls('rolloutFaults', async (call, send) => {
  if (call.operation === 'UpdateStack') {
    const name = String(call.input.StackName);
    if (refused.has(name))
      throw Object.assign(new Error(`Template format error: injected failure for ${name}`), {
        name: 'ValidationError',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
    await held.get(name);
    updates.set(name, (updates.get(name) ?? 0) + 1);
  }
  return send();
});

function hold(stackName: string): () => void {
  let release!: () => void;
  held.set(stackName, new Promise<void>((r) => (release = r)));
  return () => {
    held.delete(stackName);
    release();
  };
}

let cp: TestControlPlane;
let revision = 0;

/** A new template version of every isolation model: the code's templates with a revision mark. */
async function newVersion(): Promise<Record<string, string>> {
  revision += 1;
  const base: Partial<Record<TemplateKind, CfnTemplate>> = {};
  for (const kind of ['pool', 'bridge', 'silo'] as const)
    base[kind] = JSON.parse((await testSynth().resolve(kind, 'aws')).body) as CfnTemplate;
  const variant = new SynthesisService({
    cacheDir: mkdtempSync(join(tmpdir(), 'tcp-rollout-')),
    synthesize: (kind) => ({
      ...base[kind]!,
      Description: `${base[kind]!.Description ?? kind} (revision ${revision})`,
    }),
  });
  await cp.workflows.rollouts.registerVersions(variant);
  const out: Record<string, string> = {};
  for (const kind of ['pool', 'bridge', 'silo'] as const)
    out[kind] = (await variant.resolve(kind, 'moto')).versionId;
  return out;
}

async function onboard(tier: string, n: number) {
  const tenants = [];
  for (let i = 0; i < n; i++) {
    const { tenant, operation } = await cp.workflows.lifecycle.onboard(
      { name: `${tier} ${i} ${Date.now() % 100000}`, tier, adminEmail: `o${i}@example.com` },
      { actor: 'test' },
    );
    tenants.push({ tenant, operation });
  }
  for (const { operation } of tenants)
    expect((await cp.waitForOperation(operation.operationId)).status).toBe('SUCCEEDED');
  return Promise.all(tenants.map(({ tenant }) => cp.aws.registry.requireTenant(tenant.tenantId)));
}

/** The TemplateVersion parameter CloudFormation holds for the stack. */
async function cfnVersion(stackName: string): Promise<string | undefined> {
  const out = await cp.aws.clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
  return out.Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === 'TemplateVersion')?.ParameterValue;
}

async function waitFor(
  rolloutId: string,
  done: (r: Rollout) => boolean,
  timeoutMs = 90_000,
): Promise<Rollout> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await cp.workflows.rollouts.store.require(rolloutId);
    if (done(r)) return r;
    if (Date.now() > deadline)
      throw new Error(`rollout ${rolloutId} still ${r.status}: ${JSON.stringify(r.counts)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
const ended = (r: Rollout) =>
  ['SUCCEEDED', 'FAILED', 'ABORTED', 'PAUSED'].includes(r.status) && r.counts.inflight === 0;

beforeAll(async () => {
  cp = await startTestControlPlane({ catalog, instrument, overrides: { stackPollMs: 40 } });
  await cp.workflows.rollouts.registerVersions();
}, 180_000);
afterAll(async () => cp?.close());

describe('rollouts on moto', () => {
  it('3 waves over pool, bridge and silo tenants reach SUCCEEDED, every stack at the new version in CloudFormation', async () => {
    const pool = await onboard('basic', 2);
    const bridge = await onboard('premium', 1);
    const silo = await onboard('enterprise', 1);
    const before = await cfnVersion(pool[0]!.stacks[0]!.stackName);
    const target = await newVersion();
    expect(target.pool).not.toBe(before);
    const { rollout } = await cp.workflows.rollouts.service.create(
      {
        tiers: ['basic', 'premium', 'enterprise'],
        targetVersion: 'latest',
        waves: [{ tiers: ['basic'] }, { tiers: ['premium'] }, { tiers: ['enterprise'] }],
        maxConcurrency: 2,
        failureBudget: { count: 0 },
        bakeSeconds: 0,
        onFailure: 'pause',
      },
      'test',
    );
    expect(rollout.waves.map((w) => w.tenantIds.length)).toEqual([2, 1, 1]);
    const end = await waitFor(rollout.rolloutId, ended);
    expect(end.status).toBe('SUCCEEDED');
    expect(end.counts).toMatchObject({ succeeded: 4, failed: 0, inflight: 0 });
    for (const t of [...pool, ...bridge, ...silo]) {
      const stack = t.stacks.find((s) => s.role === 'current')!;
      expect(await cfnVersion(stack.stackName), `${t.isolation} ${stack.stackName}`).toBe(
        target[t.isolation],
      );
      const after = await cp.aws.registry.requireTenant(t.tenantId);
      expect(after.state).toBe('ACTIVE');
      expect(after.templateVersion).toBe(target[t.isolation]);
    }
    const templates = await cp.workflows.rollouts.service.templates();
    const latestPool = templates.find((v) => v.isolation === 'pool' && v.versionId === target.pool)!;
    expect(latestPool).toMatchObject({ latest: true });
    expect(latestPool.tenants).toBeGreaterThanOrEqual(2);
  }, 240_000);

  /** Pool tenants of a scenario's own tier, and their stack names. */
  async function fleet(scenario: (typeof SCENARIOS)[number], n: number) {
    const tenants = await onboard(`${scenario}-pool`, n);
    return tenants
      .map((t) => ({ tenant: t, stack: t.stacks.find((s) => s.role === 'current')!.stackName }))
      .sort((a, b) => (a.tenant.tenantId < b.tenant.tenantId ? -1 : 1));
  }

  const start = (
    tier: string,
    extra: Partial<Parameters<typeof cp.workflows.rollouts.service.create>[0]> = {},
  ) =>
    cp.workflows.rollouts.service.create(
      {
        tiers: [tier],
        targetVersion: 'latest',
        waves: [],
        maxConcurrency: 2,
        failureBudget: { count: 0 },
        bakeSeconds: 0,
        onFailure: 'pause',
        ...extra,
      },
      'test',
    );

  it('a canary failure stops the rollout before wave 1', async () => {
    const tenants = await fleet('canary', 3);
    const before = await cfnVersion(tenants[0]!.stack);
    await newVersion();
    refused.add(tenants[0]!.stack);
    const tapped: TappedEvent[] = [];
    const unsubscribe = cp.workflows.tap.subscribe((e) => tapped.push(e));
    const { rollout } = await start('canary-pool', {
      canary: { count: 1, bakeSeconds: 0 },
      failureBudget: { count: 2 },
    });
    expect(rollout.waves.map((w) => [w.name, w.tenantIds])).toEqual([
      ['canary', [tenants[0]!.tenant.tenantId]],
      ['wave-1', [tenants[1]!.tenant.tenantId, tenants[2]!.tenant.tenantId]],
    ]);
    const end = await waitFor(rollout.rolloutId, ended);
    expect(end.status).toBe('PAUSED');
    expect(end.reason).toMatch(/canary tenant .* failed/);
    expect(end.currentWave).toBe(0);
    const progress = await cp.workflows.rollouts.store.tenants(rollout.rolloutId);
    expect(progress.map((p) => [p.tenantId, p.status])).toEqual([[tenants[0]!.tenant.tenantId, 'failed']]);
    expect(progress[0]!.error?.message).toMatch(/injected failure/);
    for (const t of tenants) expect(await cfnVersion(t.stack)).toBe(before);
    const failed = await cp.aws.registry.requireTenant(tenants[0]!.tenant.tenantId);
    expect(failed.state).toBe('ACTIVE');
    expect(failed.lastError?.message).toMatch(/injected failure/);
    expect(cp.rolloutEvents.filter((e) => e.rolloutId === rollout.rolloutId).map((e) => e.type)).toEqual([
      'rollout.started',
      'rollout.paused',
    ]);
    // The same events reach the local tap (the event stream), in order, named by the rollout.
    unsubscribe();
    expect(tapped.filter((e) => e.rolloutId === rollout.rolloutId).map((e) => e.type)).toEqual([
      'rollout.started',
      'rollout.paused',
    ]);
    refused.clear();
    await cp.workflows.rollouts.service.act(rollout.rolloutId, 'abort', 'test');
  }, 120_000);

  it('injected failures pause it at the budget; no update starts after the budget is reached', async () => {
    const tenants = await fleet('budget', 8);
    await newVersion();
    // Tenants 1, 3, 5 and 7 fail: the second failure exceeds the budget of 1.
    for (const i of [1, 3, 5, 7]) refused.add(tenants[i]!.stack);
    const { rollout } = await start('budget-pool', { maxConcurrency: 4, failureBudget: { count: 1 } });
    const end = await waitFor(rollout.rolloutId, ended);
    expect(end.status).toBe('PAUSED');
    expect(end.reason).toMatch(/failure budget exceeded/);
    expect(end.counts.failed).toBe(2);
    const progress = await cp.workflows.rollouts.store.tenants(rollout.rolloutId);
    const tripAt = progress
      .filter((p) => p.status === 'failed')
      .map((p) => p.endedAt!)
      .sort()[1]!;
    expect(progress.filter((p) => p.startedAt! > tripAt)).toEqual([]);
    expect(progress.length).toBeLessThan(8);
    // Resuming needs a bigger budget (the brake), then the rest runs.
    await expect(
      cp.workflows.rollouts.service.act(rollout.rolloutId, 'resume', 'test'),
    ).rejects.toMatchObject({
      code: 'ROLLOUT_INVALID_TRANSITION',
    });
    await cp.workflows.rollouts.service.patch(rollout.rolloutId, { failureBudget: { count: 4 } });
    await cp.workflows.rollouts.service.act(rollout.rolloutId, 'resume', 'test');
    const done = await waitFor(
      rollout.rolloutId,
      (r) => ended(r) && r.status !== 'PAUSED' && r.status !== 'RUNNING',
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(done.counts).toMatchObject({ succeeded: 4, failed: 4 });
    refused.clear();
  }, 180_000);

  it('pause and resume work mid-wave', async () => {
    const tenants = await fleet('brake', 4);
    const target = await newVersion();
    const release = hold(tenants[0]!.stack);
    const { rollout } = await start('brake-pool', { maxConcurrency: 1 });
    await waitFor(rollout.rolloutId, (r) => r.counts.inflight === 1);
    await cp.workflows.rollouts.service.act(rollout.rolloutId, 'pause', 'test');
    release();
    const paused = await waitFor(rollout.rolloutId, (r) => r.counts.inflight === 0);
    expect(paused.status).toBe('PAUSED');
    // The update in flight finished; nothing else started.
    expect(paused.counts.succeeded).toBe(1);
    expect((await cp.workflows.rollouts.store.tenants(rollout.rolloutId)).length).toBe(1);
    await cp.workflows.rollouts.service.act(rollout.rolloutId, 'resume', 'test');
    const done = await waitFor(rollout.rolloutId, (r) => r.status === 'SUCCEEDED');
    expect(done.counts.succeeded).toBe(4);
    for (const t of tenants) expect(await cfnVersion(t.stack)).toBe(target.pool);
  }, 120_000);

  it('abort works mid-wave: the update in flight ends, nothing else starts', async () => {
    const tenants = await fleet('abort', 3);
    const before = await cfnVersion(tenants[1]!.stack);
    await newVersion();
    const release = hold(tenants[0]!.stack);
    const { rollout } = await start('abort-pool', { maxConcurrency: 1 });
    await waitFor(rollout.rolloutId, (r) => r.counts.inflight === 1);
    await cp.workflows.rollouts.service.act(rollout.rolloutId, 'abort', 'test');
    release();
    const end = await waitFor(rollout.rolloutId, (r) => r.counts.inflight === 0);
    expect(end.status).toBe('ABORTED');
    await expect(
      cp.workflows.rollouts.service.act(rollout.rolloutId, 'resume', 'test'),
    ).rejects.toMatchObject({
      code: 'ROLLOUT_INVALID_TRANSITION',
    });
    expect(await cfnVersion(tenants[1]!.stack)).toBe(before);
    expect(await cfnVersion(tenants[2]!.stack)).toBe(before);
  }, 120_000);

  it('a control plane stopped mid-rollout, then restarted, converges with no stack updated twice', async () => {
    const tenants = await fleet('crash', 4);
    const target = await newVersion();
    const release = hold(tenants[1]!.stack);
    for (const t of tenants) updates.delete(t.stack);
    // A budget of 1 lets two updates run at once (strict budget: inflight + failed ≤ budget + 1).
    const { rollout } = await start('crash-pool', { maxConcurrency: 2, failureBudget: { count: 1 } });
    await waitFor(rollout.rolloutId, (r) => r.counts.succeeded >= 1 && r.counts.inflight >= 1);
    // The process goes away with an update in flight: its executions stop where they are.
    await cp.workflows.close();
    release();
    const next = cp.restart();
    expect(await next.engine.resumeOpen()).toBeGreaterThanOrEqual(0);
    expect(await next.rollouts.engine.resumeOpen()).toBe(1);
    const done = await waitFor(rollout.rolloutId, (r) => r.status === 'SUCCEEDED');
    expect(done.counts).toMatchObject({ succeeded: 4, failed: 0, inflight: 0 });
    for (const t of tenants) {
      expect(await cfnVersion(t.stack)).toBe(target.pool);
      expect(updates.get(t.stack), t.stack).toBe(1);
    }
  }, 180_000);

  it('onFailure rollback: at the budget, a rollback rollout moves every updated tenant back to its version', async () => {
    const tenants = await fleet('rollback', 4);
    const before = await cfnVersion(tenants[0]!.stack);
    const target = await newVersion();
    refused.add(tenants[2]!.stack);
    const { rollout } = await start('rollback-pool', { maxConcurrency: 1, onFailure: 'rollback' });
    const failed = await waitFor(rollout.rolloutId, (r) => ended(r) && r.rolledBackBy !== undefined);
    expect(failed.status).toBe('FAILED');
    expect(failed.counts).toMatchObject({ succeeded: 2, failed: 1 });
    expect(failed.rolledBackBy).toMatch(/^ro_/);
    const rollback = await waitFor(failed.rolledBackBy!, (r) => r.status === 'SUCCEEDED');
    expect(rollback).toMatchObject({ rollbackOf: rollout.rolloutId, counts: { succeeded: 2, failed: 0 } });
    for (const t of tenants) expect(await cfnVersion(t.stack), t.tenant.slug).toBe(before);
    expect(before).not.toBe(target.pool);
    const event = cp.rolloutEvents.find(
      (e) => e.rolloutId === rollout.rolloutId && e.type === 'rollout.failed',
    );
    expect(event?.data).toMatchObject({ status: 'FAILED', rolledBackBy: failed.rolledBackBy });
    refused.clear();
  }, 120_000);
});

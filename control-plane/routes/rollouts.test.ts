import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutStore } from '../../core/rollouts/store.js';
import { TemplateVersionStore } from '../../core/rollouts/template-versions.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';
import { TierCatalog } from '../../tiers/catalog.js';
import type { RolloutEvent } from '../../workflows/index.js';
import { allTenants, tenantsByVersion } from '../../workflows/index.js';
import { createRolloutService } from '../../workflows/rollouts/service.js';
import { runCli } from '../cli/main.js';
import { renderRolloutTenants } from '../cli/rollout.js';
import { createMetrics } from '../metrics.js';

/**
 * The rollout routes over the real registry and stores on moto, with the workflow replaced by a
 * recorder of starts: validation, refusals that write nothing, scopes, the brake, templates.
 */

const clients = testClients();
let t: TestApp;
const started: string[] = [];
const events: RolloutEvent[] = [];
const V1 = 'aaaaaaaaaaa1';
const V2 = 'bbbbbbbbbbb2';

async function activeTenant(slug: string, tier = 'basic') {
  const res = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug, { tier }) });
  expect(res.statusCode, res.body).toBe(202);
  const { operation } = res.json();
  await t.registry.finishOperation({
    operationId: operation.operationId,
    outcome: 'succeeded',
    patch: { templateVersion: V1 },
  });
  return (await t.registry.requireTenant(slug)).tenantId;
}

const body = (extra: Record<string, unknown> = {}) => ({ tiers: ['basic'], targetVersion: V2, ...extra });

beforeAll(async () => {
  const { testRegistry } = await import('../../test/support/aws.js');
  const registry = await testRegistry(clients);
  const io = { db: clients.documents, tableName: registry.tableName, clock: () => new Date() };
  const versions = new TemplateVersionStore(io);
  await versions.register('pool', { versionId: V1, body: '{"Resources":{}}' }, 'test');
  await versions.register('pool', { versionId: V2, body: '{"Resources":{"X":{}}}' }, 'test');
  const rollouts = createRolloutService({
    store: new RolloutStore(io),
    versions,
    registry,
    catalog: TierCatalog.load(),
    events: {
      async publish(e) {
        const event = { ...e, version: 1 as const, time: new Date().toISOString() };
        events.push(event);
        return event;
      },
    },
    start: (id) => {
      started.push(id);
    },
    clock: () => new Date(),
  });
  t = await startTestApp({ registry, deps: { rollouts } });
  for (const slug of ['ro-one', 'ro-two', 'ro-three']) await activeTenant(slug);
}, 60_000);
afterAll(async () => t?.close());

describe('rollout routes', () => {
  it('GET /v1/templates lists versions per isolation with hash, created, latest and tenant counts', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/templates' });
    expect(res.statusCode, res.body).toBe(200);
    const pool = res.json().versions.filter((v: { isolation: string }) => v.isolation === 'pool');
    expect(pool.map((v: { versionId: string }) => v.versionId)).toEqual([V1, V2]);
    expect(pool[0]).toMatchObject({ latest: false, tenants: 3, bytes: 16 });
    expect(pool[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pool[1]).toMatchObject({ latest: true, tenants: 0 });
  });

  it('the tenants_by_template_version gauge counts tenants per isolation and version', async () => {
    const metrics = createMetrics();
    let reads = 0;
    metrics.tenantsByTemplateVersion(async () => {
      reads += 1;
      return tenantsByVersion(await allTenants(t.registry));
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`tenants_by_template_version{isolation="pool",version="${V1}"} 3`);
    await metrics.registry.metrics();
    expect(reads).toBe(1);
  });

  it.each([
    ['an unknown version', body({ targetVersion: 'cccccccccccc' }), 400, 'UNKNOWN_TEMPLATE_VERSION'],
    ['an empty selection', body({ tiers: ['premium'] }), 400, 'ROLLOUT_EMPTY_SELECTION'],
    ['a budget over 100%', body({ failureBudget: { percent: 150 } }), 400, 'VALIDATION_FAILED'],
    ['an unknown tier', body({ tiers: ['gold'] }), 400, 'UNKNOWN_TIER'],
    ['an unknown onFailure', body({ onFailure: 'retry' }), 400, 'VALIDATION_FAILED'],
    ['isolation and tiers at once', body({ isolation: ['pool'] }), 400, 'VALIDATION_FAILED'],
    [
      'a wave naming a tenant not selected',
      body({ waves: [{ tenants: ['nobody-here'] }] }),
      400,
      'VALIDATION_FAILED',
    ],
  ])('refuses %s with a catalogued code and writes nothing', async (_what, payload, status, code) => {
    const before = await t.countItems();
    const res = await t.call({ method: 'POST', url: '/v1/rollouts', payload });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(await t.countItems()).toBe(before);
  });

  it('needs rollouts:write to start and rollouts:read to look', async () => {
    const reader = await t.keyWith(['rollouts:read']);
    const tenantsWriter = await t.keyWith(['tenants:write']);
    expect(
      (await t.call({ method: 'POST', url: '/v1/rollouts', payload: body(), key: reader })).statusCode,
    ).toBe(403);
    expect(
      (await t.call({ method: 'POST', url: '/v1/rollouts', payload: body(), key: tenantsWriter })).statusCode,
    ).toBe(403);
    expect((await t.call({ method: 'GET', url: '/v1/rollouts', key: reader })).statusCode).toBe(200);
    expect((await t.call({ method: 'GET', url: '/v1/rollouts', key: tenantsWriter })).statusCode).toBe(403);
  });

  let rolloutId = '';
  it('starts a rollout with waves and a canary; an overlapping one is refused with 409 and writes nothing', async () => {
    const writer = await t.keyWith(['rollouts:write']);
    const first = () =>
      t.call({
        method: 'POST',
        url: '/v1/rollouts',
        key: writer,
        headers: { 'idempotency-key': 'rollout-1' },
        payload: body({
          waves: [{ tenants: ['ro-two'] }],
          canary: { count: 1 },
          failureBudget: { percent: 50 },
        }),
      });
    const res = await first();
    expect(res.statusCode, res.body).toBe(202);
    const view = res.json();
    rolloutId = view.rollout.rolloutId;
    expect(view.rollout).toMatchObject({ status: 'PENDING', targets: { pool: V2 }, budget: 1, cap: 1 });
    expect(view.waves.map((w: { name: string; total: number }) => [w.name, w.total])).toEqual([
      ['canary', 1],
      ['remainder', 2],
    ]);
    // The canary is the first tenant in wave order: the one wave 1 names.
    expect(view.rollout.waves[0].tenantIds).toEqual([(await t.registry.requireTenant('ro-two')).tenantId]);
    expect(started).toEqual([rolloutId]);
    const replay = await first();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().rollout.rolloutId).toBe(rolloutId);
    const before = await t.countItems();
    const overlap = await t.call({ method: 'POST', url: '/v1/rollouts', payload: body() });
    expect(overlap.statusCode, overlap.body).toBe(409);
    expect(overlap.json().error).toMatchObject({ code: 'ROLLOUT_OVERLAP', details: { rolloutId } });
    expect(await t.countItems()).toBe(before);
    expect(started).toEqual([rolloutId]);
  });

  it('GET lists and reads it; PATCH is the brake; pause/resume/abort follow the lifecycle', async () => {
    const list = await t.call({ method: 'GET', url: '/v1/rollouts' });
    expect(list.json().items.map((r: { rolloutId: string }) => r.rolloutId)).toContain(rolloutId);
    const one = await t.call({ method: 'GET', url: `/v1/rollouts/${rolloutId}` });
    expect(one.statusCode).toBe(200);
    // Not started here (no engine): no tenant has been tried, so none has an outcome yet.
    const tried = await t.call({ method: 'GET', url: `/v1/rollouts/${rolloutId}/tenants` });
    expect(tried.statusCode, tried.body).toBe(200);
    expect(tried.json()).toEqual({ items: [] });
    const patched = await t.call({
      method: 'PATCH',
      url: `/v1/rollouts/${rolloutId}`,
      payload: { maxConcurrency: 3, failureBudget: { count: 2 } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    // In the canary wave the cap stays at one failure; the budget applies from wave 1.
    expect(patched.json().rollout).toMatchObject({ maxConcurrency: 3, budget: 2, cap: 1 });
    const badPatch = await t.call({ method: 'PATCH', url: `/v1/rollouts/${rolloutId}`, payload: {} });
    expect(badPatch.statusCode).toBe(400);
    // PENDING cannot pause; it can be aborted, and then nothing moves it.
    const pause = await t.call({ method: 'POST', url: `/v1/rollouts/${rolloutId}/pause` });
    expect(pause.statusCode, pause.body).toBe(409);
    expect(pause.json().error).toMatchObject({
      code: 'ROLLOUT_INVALID_TRANSITION',
      details: { from: 'PENDING' },
    });
    const abort = await t.call({ method: 'POST', url: `/v1/rollouts/${rolloutId}/abort` });
    expect(abort.statusCode, abort.body).toBe(200);
    expect(abort.json().rollout.status).toBe('ABORTED');
    expect(events.map((e) => e.type)).toEqual(['rollout.failed']);
    const resume = await t.call({ method: 'POST', url: `/v1/rollouts/${rolloutId}/resume` });
    expect(resume.json().error.code).toBe('ROLLOUT_INVALID_TRANSITION');
    const patchEnded = await t.call({
      method: 'PATCH',
      url: `/v1/rollouts/${rolloutId}`,
      payload: { maxConcurrency: 1 },
    });
    expect(patchEnded.json().error.code).toBe('ROLLOUT_INVALID_TRANSITION');
    // Its tenants are free again.
    const again = await t.call({ method: 'POST', url: '/v1/rollouts', payload: body() });
    expect(again.statusCode, again.body).toBe(202);
  });

  it('answers 404 ROLLOUT_NOT_FOUND for an unknown rollout', async () => {
    for (const url of [
      '/v1/rollouts/ro_01M8ZHDF8M9NXHX76XM1RWBQ8N',
      '/v1/rollouts/ro_01M8ZHDF8M9NXHX76XM1RWBQ8N/tenants',
    ]) {
      const res = await t.call({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('ROLLOUT_NOT_FOUND');
    }
  });
});

describe('tenantctl rollout', () => {
  async function cli(argv: string[]) {
    const url = await listening;
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      stdout: { write: (x: string) => (stdout += x), isTTY: false },
      stderr: { write: (x: string) => (stderr += x) },
      env: { TENANTCTL_URL: url, TENANTCTL_KEY: t.adminKey },
    });
    return { code, stdout, stderr };
  }
  let listening: Promise<string>;
  beforeAll(() => {
    listening = t.app.listen({ host: '127.0.0.1', port: 0 });
  });

  it('start, status, list, budget, pause refusal and abort, with a bar per wave', async () => {
    for (const r of (await t.call({ method: 'GET', url: '/v1/rollouts' })).json().items)
      if (['PENDING', 'RUNNING', 'PAUSED'].includes(r.status))
        await t.call({ method: 'POST', url: `/v1/rollouts/${r.rolloutId}/abort` });
    const start = await cli([
      'rollout',
      'start',
      '--tiers',
      'basic',
      '--target',
      V2,
      '--wave',
      '@ro-one',
      '--wave',
      '50%',
      '--budget',
      '10%',
      '--max-concurrency',
      '5',
    ]);
    expect(start.code, start.stderr).toBe(0);
    const id = /rollout (ro_\w+) PENDING/.exec(start.stdout)?.[1];
    expect(id, start.stdout).toBeDefined();
    expect(start.stdout).toMatch(/wave-1 +\[\.{30}\] 0\/1 done 0 failed 0 running 1 remaining/);
    expect(start.stdout).toMatch(/maxConcurrency 5, failure budget 0/);
    const status = await cli(['rollout', 'status', id!, '--json']);
    expect(JSON.parse(status.stdout).rollout.rolloutId).toBe(id);
    const list = await cli(['rollout', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${id} +PENDING +0/3`));
    const tried = await cli(['rollout', 'tenants', id!]);
    expect(tried.code, tried.stderr).toBe(0);
    expect(tried.stdout).toBe('no tenant tried yet\n');
    const budget = await cli(['rollout', 'budget', id!, '--budget', '2', '--max-concurrency', '2']);
    expect(budget.stdout).toMatch(/maxConcurrency 2, failure budget 2/);
    const pause = await cli(['rollout', 'pause', id!]);
    expect(pause.code).toBe(1);
    expect(pause.stderr).toMatch(/ROLLOUT_INVALID_TRANSITION/);
    const abort = await cli(['rollout', 'abort', id!]);
    expect(abort.stdout).toMatch(/ABORTED/);
    const usage = await cli(['rollout', 'status']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/takes <rollout>/);
  });
});

describe('renderRolloutTenants', () => {
  it('prints a row per tenant: wave, status, versions, operation and the error', () => {
    const out = renderRolloutTenants([
      {
        rolloutId: 'ro_01M8ZHDF8M9NXHX76XM1RWBQ8N',
        tenantId: 't_01M8ZHDF8M9NXHX76XM1RWBQ8A',
        wave: 0,
        status: 'succeeded',
        fromVersion: 'aaaaaaaaaaaa',
        toVersion: 'bbbbbbbbbbbb',
        operationId: 'op_01M8ZHDF8M9NXHX76XM1RWBQ8B',
        busyPasses: 0,
        pass: 0,
      },
      {
        rolloutId: 'ro_01M8ZHDF8M9NXHX76XM1RWBQ8N',
        tenantId: 't_01M8ZHDF8M9NXHX76XM1RWBQ8C',
        wave: 1,
        status: 'failed',
        toVersion: 'bbbbbbbbbbbb',
        busyPasses: 0,
        pass: 0,
        error: { code: 'STACK_UPDATE_FAILED', message: 'rolled back' },
      },
    ]);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TENANT +WAVE +STATUS +VERSION +OPERATION +ERROR$/);
    expect(lines[1]).toMatch(
      /t_01M8ZHDF8M9NXHX76XM1RWBQ8A +0 +succeeded +aaaaaaaaaaaa → bbbbbbbbbbbb +op_01M8ZHDF8M9NXHX76XM1RWBQ8B$/,
    );
    expect(lines[2]).toMatch(
      /t_01M8ZHDF8M9NXHX76XM1RWBQ8C +1 +failed +\? → bbbbbbbbbbbb +STACK_UPDATE_FAILED: rolled back$/,
    );
  });
});

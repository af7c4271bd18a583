import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNUP_IDEMPOTENCY_SCOPE } from '../../control-plane/routes/webhooks.js';
import { signWebhook } from '../../control-plane/webhook-signature.js';
import { OperationClaims } from '../../core/registry/claims.js';
import type { Tenant } from '../../core/registry/records.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { createWorkflows } from '../../workflows/index.js';
import { ONBOARD_STEPS } from '../support/control-plane.js';
import {
  HARDENING_WEBHOOK_SECRET,
  type HardenedControlPlane,
  onboardBody,
  startHardenedControlPlane,
} from './support/control-plane.js';
import { footprint } from './support/moto.js';

/**
 * Idempotency under duplicates: the same request many times at once (one Idempotency-Key, one
 * webhook event id), a retried operation start, and the engine asked to run an operation it
 * already runs. Each ends with exactly one tenant, one operation and one set of AWS resources.
 */

let h: HardenedControlPlane;
beforeAll(async () => {
  h = await startHardenedControlPlane();
});
afterAll(async () => h?.close());

const started = <E extends { action: string }>(events: E[]): E[] =>
  events.filter((e) => e.action === 'operation.started');

async function expectOneActiveTenant(tenant: Tenant): Promise<void> {
  const events = await h.events(tenant.tenantId);
  expect(started(events)).toHaveLength(1);
  expect(events.filter((e) => e.action === 'tenant.created')).toHaveLength(1);
  const now = await h.cp.aws.registry.requireTenant(tenant.tenantId);
  expect(now.state).toBe('ACTIVE');
  expect(await footprint(h.cp.aws.clients, h.config.resourcePrefix, h.cp.platform.userPoolId, now)).toEqual({
    stacks: ['CREATE_COMPLETE'],
    users: [`${tenant.slug}-admin`],
    apiKeys: 1,
  });
  // One tenant holds the slug, and it is this one.
  const page = (await h.call({ method: 'GET', url: '/v1/tenants?limit=200' })).json() as { items: Tenant[] };
  expect(page.items.filter((t) => t.slug === tenant.slug).map((t) => t.tenantId)).toEqual([tenant.tenantId]);
}

describe('idempotency under concurrent duplicates', () => {
  it('8 concurrent POST /v1/tenants with one Idempotency-Key: one tenant, one operation, one stack', async () => {
    const body = onboardBody('idem-burst');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.call({
          method: 'POST',
          url: '/v1/tenants',
          payload: body,
          headers: { 'idempotency-key': 'burst-1' },
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(202));
    const ids = new Set(answers.map((a) => `${a.json().tenant.tenantId}/${a.json().operation.operationId}`));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(7);
    const { tenant, operation } = answers[0]!.json();
    expect((await h.waitForOperation(operation.operationId)).status).toBe('SUCCEEDED');
    // A late retry replays the same answer.
    const late = await h.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: body,
      headers: { 'idempotency-key': 'burst-1' },
    });
    expect(late.json().operation.operationId).toBe(operation.operationId);
    await expectOneActiveTenant(tenant);
  });

  it('8 concurrent deliveries of one signup event: one tenant, one operation, one stack', async () => {
    const slug = 'idem-webhook';
    const raw = JSON.stringify({
      id: 'evt_hardening_1',
      type: 'signup.completed',
      created: Math.floor(Date.now() / 1000),
      data: { name: 'Webhook Shop', slug, tier: 'basic', adminEmail: `owner@${slug}.example.com` },
    });
    const deliver = () => deliverSignup(raw);
    const answers = await Promise.all(Array.from({ length: 8 }, deliver));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(8).fill(202));
    expect(new Set(answers.map((a) => a.json().operation.operationId)).size).toBe(1);
    const { tenant, operation } = answers[0]!.json();
    expect((await h.waitForOperation(operation.operationId)).status).toBe('SUCCEEDED');
    expect((await deliver()).json().operation.operationId).toBe(operation.operationId);
    await expectOneActiveTenant(tenant);
  });

  it('8 concurrent onboardings of one slug under different keys: one 202, seven TENANT_EXISTS', async () => {
    const body = onboardBody('idem-slug');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.call({
          method: 'POST',
          url: '/v1/tenants',
          payload: body,
          headers: { 'idempotency-key': `slug-${i}` },
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([202, ...Array(7).fill(409)]);
    expect(answers.filter((a) => a.statusCode === 409).map((a) => a.json().error.code)).toEqual(
      Array(7).fill('TENANT_EXISTS'),
    );
    const { tenant, operation } = answers.find((a) => a.statusCode === 202)!.json();
    expect((await h.waitForOperation(operation.operationId)).status).toBe('SUCCEEDED');
    await expectOneActiveTenant(tenant);
  });
});

describe('a retried operation start', () => {
  it('suspend sent twice in a row and 5 times at once with one Idempotency-Key: one suspension', async () => {
    const tenant = (await h.cp.aws.registry.requireTenant('idem-burst')) as Tenant;
    const suspend = () =>
      h.call({
        method: 'POST',
        url: `/v1/tenants/${tenant.tenantId}/suspend`,
        payload: { reason: 'unpaid invoice' },
        headers: { 'idempotency-key': 'suspend-1' },
      });
    const first = await suspend();
    expect(first.statusCode).toBe(202);
    const again = [await suspend(), ...(await Promise.all(Array.from({ length: 5 }, suspend)))];
    expect(again.map((a) => [a.statusCode, a.json().operation.operationId])).toEqual(
      Array(6).fill([202, first.json().operation.operationId]),
    );
    // The same key for another request is refused; a new key is refused by the lifecycle.
    const reused = await h.call({
      method: 'POST',
      url: `/v1/tenants/${tenant.tenantId}/suspend`,
      payload: { reason: 'another reason' },
      headers: { 'idempotency-key': 'suspend-1' },
    });
    expect([reused.statusCode, reused.json().error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    const op = await h.waitForOperation(first.json().operation.operationId);
    expect(op.status).toBe('SUCCEEDED');
    const fresh = await h.call({
      method: 'POST',
      url: `/v1/tenants/${tenant.tenantId}/suspend`,
      payload: { reason: 'unpaid invoice' },
      headers: { 'idempotency-key': 'suspend-2' },
    });
    expect([fresh.statusCode, fresh.json().error.code]).toEqual([409, 'INVALID_STATE_TRANSITION']);
    const events = await h.events(tenant.tenantId);
    expect(started(events).map((e) => e.detail?.type)).toEqual(['onboard', 'suspend']);
    expect((await h.cp.aws.registry.requireTenant(tenant.tenantId)).state).toBe('SUSPENDED');
  });

  it('engine.start(op) twice and resumeOpen() while the operation runs: it runs once', async () => {
    const answer = await h.call({ method: 'POST', url: '/v1/tenants', payload: onboardBody('idem-engine') });
    const { operation, tenant } = answer.json();
    const engine = h.cp.workflows.engine;
    await Promise.all([engine.start(operation), engine.start(operation), engine.resumeOpen()]);
    await engine.start(operation);
    const op = await h.waitForOperation(operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    // Each step ran to its end once.
    expect(op.steps.map((s) => `${s.name} ${s.status}`)).toEqual(ONBOARD_STEPS.map((s) => `${s} SUCCEEDED`));
    const events = await h.events(tenant.tenantId);
    expect(events.filter((e) => e.action === 'operation.succeeded')).toHaveLength(1);
    await expectOneActiveTenant(tenant);
  });
});

describe('a second control plane on the same registry', () => {
  // Two replicas, or a restart overlapping the old process, both run resumeOpen(): the operation's
  // claim keeps it in the process that runs it (before the claims, both ran it, their registry
  // writes conflicted and the onboarding was rolled back to FAILED).
  it('leaves an onboarding the first one runs alone: ACTIVE with one stack, one user, one API key', async () => {
    const second = createWorkflows({
      config: h.config,
      aws: h.cp.aws,
      catalog: TierCatalog.load(),
      platform: h.cp.platform,
    });
    try {
      const answer = await h.call({
        method: 'POST',
        url: '/v1/tenants',
        payload: onboardBody('idem-replica'),
      });
      const { operation, tenant } = answer.json();
      expect(await second.engine.resumeOpen()).toBe(0);
      const op = await h.waitForOperation(operation.operationId);
      await Promise.all([h.cp.workflows.engine.idle(), second.engine.idle()]);
      expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
      await expectOneActiveTenant(tenant);
    } finally {
      await second.engine.close();
    }
  });
});

/**
 * Another control plane on this host: a real process (held by a child) with its heartbeat in the
 * registry, as claims.ts records a runner. `kill()` SIGKILLs it, so claims' own rule (a dead pid on
 * this host) declares it dead at once: no waiting for a heartbeat to lapse.
 */
async function otherProcess(): Promise<{ claims: OperationClaims; kill(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
    stdio: 'ignore',
  });
  await once(child, 'spawn');
  const claims = new OperationClaims({
    documents: h.cp.aws.clients.documents,
    tableName: h.config.registryTable,
    ttlSeconds: h.config.operationClaimSeconds,
    pid: child.pid!,
  });
  await claims.heartbeat();
  return {
    claims,
    async kill() {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const ADMIN_SCOPE = 'api:key:admin';
/** One signed delivery of a signup event, as the signup provider sends it. */
const deliverSignup = (raw: string) =>
  h.call({
    method: 'POST',
    url: '/v1/webhooks/signup',
    key: null,
    payload: raw,
    headers: {
      'content-type': 'application/json',
      'webhook-signature': signWebhook(HARDENING_WEBHOOK_SECRET, raw, Math.floor(Date.now() / 1000)),
    },
  });
const onboardFingerprint = (body: unknown) => ({ method: 'POST', route: '/v1/tenants', params: {}, body });
/** Another process takes an onboarding's Idempotency-Key (as its request would) and records nothing yet. */
async function takenByOther(slug: string, key: string) {
  const body = onboardBody(slug);
  const other = await otherProcess();
  const taken = await h.cp.aws.registry.idempotency.take(
    ADMIN_SCOPE,
    key,
    onboardFingerprint(body),
    other.claims,
  );
  return { body, other, taken };
}
const onboardWithKey = (body: Record<string, unknown>, key: string) =>
  h.call({ method: 'POST', url: '/v1/tenants', payload: body, headers: { 'idempotency-key': key } });

describe('a crash between taking an Idempotency-Key and recording the operation', () => {
  it('the key of a SIGKILLed process that recorded nothing is reusable at once: the retry onboards', async () => {
    const { body, other, taken } = await takenByOther('idem-crashed', 'crashed-1');
    expect(taken.status).toBe('taken');
    await other.kill();
    const retry = await onboardWithKey(body, 'crashed-1');
    expect(retry.statusCode, retry.body).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    const { tenant, operation } = retry.json();
    expect((await h.waitForOperation(operation.operationId)).status).toBe('SUCCEEDED');
    const again = await onboardWithKey(body, 'crashed-1');
    expect([again.statusCode, again.json().operation.operationId]).toEqual([202, operation.operationId]);
    await expectOneActiveTenant(tenant);
  });

  it('a key whose request recorded its operation before the crash replays that operation', async () => {
    const { body, other, taken } = await takenByOther('idem-recorded', 'recorded-1');
    if (taken.status !== 'taken') throw new Error(`expected the key taken, got ${taken.status}`);
    // The other process records the operation (the record points to it in the same transaction)
    // and dies before storing its answer.
    const started = await h.cp.workflows.lifecycle.onboard(body as never, {
      actor: 'key:admin',
      idempotencyKey: 'recorded-1',
      idempotency: { scope: ADMIN_SCOPE, key: 'recorded-1', token: taken.token },
    });
    await other.kill();
    const retry = await onboardWithKey(body, 'recorded-1');
    expect(retry.statusCode, retry.body).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json().operation.operationId).toBe(started.operation.operationId);
    expect((await h.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
    await expectOneActiveTenant(started.tenant);
  });

  it('a key held by a live process answers 409 IDEMPOTENCY_IN_FLIGHT with Retry-After, then is reusable once it dies', async () => {
    const { body, other } = await takenByOther('idem-held', 'held-1');
    const held = await onboardWithKey(body, 'held-1');
    expect([held.statusCode, held.json().error.code]).toEqual([409, 'IDEMPOTENCY_IN_FLIGHT']);
    expect(Number(held.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await other.kill();
    const retry = await onboardWithKey(body, 'held-1');
    expect(retry.statusCode, retry.body).toBe(202);
    expect((await h.waitForOperation(retry.json().operation.operationId)).status).toBe('SUCCEEDED');
  });

  it('a signup event whose first delivery died with its process is onboarded by the redelivery', async () => {
    const slug = 'idem-redelivered';
    const event = {
      id: 'evt_crashed_1',
      type: 'signup.completed',
      created: Math.floor(Date.now() / 1000),
      data: { name: 'Redelivered Shop', slug, tier: 'basic', adminEmail: `owner@${slug}.example.com` },
    };
    const other = await otherProcess();
    await h.cp.aws.registry.idempotency.take(SIGNUP_IDEMPOTENCY_SCOPE, event.id, event, other.claims);
    await other.kill();
    const raw = JSON.stringify(event);
    const redelivery = await deliverSignup(raw);
    expect(redelivery.statusCode, redelivery.body).toBe(202);
    const { tenant, operation } = redelivery.json();
    expect(tenant.slug).toBe(slug);
    expect((await h.waitForOperation(operation.operationId)).status).toBe('SUCCEEDED');
    await expectOneActiveTenant(tenant);
  });
});

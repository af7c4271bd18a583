import { DeleteApiKeyCommand } from '@aws-sdk/client-api-gateway';
import { CreateStackCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { AdminDisableUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantHealth } from '../../core/reconcile/findings.js';
import type { Orphan, ReconcileRun } from '../../core/reconcile/store.js';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { acmCertificates } from '../../core/tenant-config/certificates.js';
import { TenantConfigStore } from '../../core/tenant-config/store.js';
import { UsageStore } from '../../core/usage/store.js';
import { tenantctl } from '../../test/support/cli.js';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.js';
import { groupUsers, liveStacks } from '../../test/support/moto-state.js';
import { ApiKeyStore } from '../api-keys.js';
import { buildApp } from '../app.js';

/**
 * Reconcile on moto, through the API: tenants of every tier onboarded, then AWS changed behind the
 * control plane's back (a key deleted, a user disabled, a stack deleted, an orphan stack made);
 * reconcile finds each with its class, `fix` repairs all but the orphan, which is only deleted
 * when asked.
 */

let cp: TestControlPlane;
let app: FastifyInstance;
let key: string;
const TIERS = ['basic', 'standard', 'premium', 'enterprise', 'enterprise-dedicated'] as const;
const tenants: Record<string, Tenant> = {};

const call = async <T>(
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
): Promise<{ status: number; body: T }> => {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    ...(payload ? { payload: JSON.stringify(payload) } : {}),
  });
  return { status: res.statusCode, body: res.json() as T };
};

async function reconcileAll(fix = false): Promise<ReconcileRun> {
  const started = await call<{ run: ReconcileRun }>('POST', '/v1/reconcile', { fix });
  expect(started.status).toBe(202);
  await cp.workflows.reconciler.idle();
  const run = await call<ReconcileRun>('GET', `/v1/reconcile/${started.body.run.runId}`);
  expect(run.body.status, JSON.stringify(run.body.error)).toBe('SUCCEEDED');
  return run.body;
}

const health = async (t: Tenant) =>
  (await call<TenantHealth>('GET', `/v1/tenants/${t.tenantId}/health`)).body;
const classes = (h: TenantHealth) =>
  h.findings.filter((f) => f.class !== 'unchecked').map((f) => `${f.class} ${f.resource}`);

beforeAll(async () => {
  cp = await startTestControlPlane();
  const apiKeys = new ApiKeyStore({
    documents: cp.aws.clients.documents,
    tableName: cp.aws.registry.tableName,
  });
  key = (await apiKeys.create('reconcile-e2e', ['admin'])).key;
  app = await buildApp({
    config: { ...cp.config, logLevel: 'silent' },
    registry: cp.aws.registry,
    catalog: cp.catalog,
    lifecycle: cp.workflows.lifecycle,
    apiKeys,
    reconcile: { reconciler: cp.workflows.reconciler, findings: cp.workflows.findings },
    tenantConfig: new TenantConfigStore({
      documents: cp.aws.clients.documents,
      tableName: cp.aws.registry.tableName,
      registry: cp.aws.registry,
      tierDefaults: (tier) => cp.catalog.features(tier),
      certificates: acmCertificates({ acm: cp.aws.clients.acm }),
    }),
    quotas: cp.workflows.quotas,
    usage: new UsageStore({
      db: cp.aws.clients.documents,
      tableName: cp.aws.registry.tableName,
      clock: () => new Date(),
    }),
    health: () => cp.aws.health(),
    logger: false,
  });
  const started = await Promise.all(
    TIERS.map((tier) =>
      cp.workflows.lifecycle.onboard(
        { name: `Rec ${tier}`, slug: `rec-${tier}`, tier, adminEmail: `admin@rec-${tier}.example.com` },
        { actor: 'test:ops' },
      ),
    ),
  );
  for (const s of started) {
    const op = await cp.waitForOperation(s.operation.operationId, 120_000);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    tenants[s.tenant.tier] = await cp.aws.registry.requireTenant(s.tenant.tenantId);
  }
}, 180_000);
afterAll(async () => {
  await app?.close();
  await cp?.close();
});

describe('reconcile', () => {
  it('finds nothing wrong after onboarding, and says plainly that drift was not checked', async () => {
    for (const t of Object.values(tenants)) expect((await health(t)).status).toBe('unknown');
    const run = await reconcileAll();
    expect(run).toMatchObject({ total: TIERS.length, done: TIERS.length, counts: { healthy: TIERS.length } });
    for (const t of Object.values(tenants)) {
      const h = await health(t);
      expect(h.status, JSON.stringify(h.findings)).toBe('healthy');
      expect(h.findings.map((f) => f.message)).toContain(
        `drift detection unavailable on this endpoint: moto does not implement DetectStackDrift; the stack's resources were not checked`,
      );
    }
  });

  it('classifies a deleted key, a disabled user, a deleted stack and an orphan stack; fix restores all but the orphan', async () => {
    const { basic, standard, premium } = tenants as Record<string, Tenant>;
    const { clients } = cp.aws;
    const prefix = cp.config.resourcePrefix;
    await clients.apigateway.send(new DeleteApiKeyCommand({ apiKey: basic!.access.apiKeyId! }));
    await clients.cognito.send(
      new AdminDisableUserCommand({
        UserPoolId: cp.platform.userPoolId,
        Username: premium!.access.adminUsername!,
      }),
    );
    await clients.cloudformation.send(new DeleteStackCommand({ StackName: standard!.stacks[0]!.stackName }));
    await clients.cloudformation.send(
      new CreateStackCommand({
        StackName: `${prefix}-orphan-stack`,
        TemplateBody: JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } }),
        Tags: [{ Key: 'TenantId', Value: 't_01JE0000000000000000000000' }],
      }),
    );
    const published = cp.events.length;

    const run = await reconcileAll();
    expect(run.counts).toMatchObject({ degraded: 3, healthy: TIERS.length - 3 });
    expect(classes(await health(basic!))).toEqual(['missing api-key']);
    expect(classes(await health(premium!))).toEqual(['state-mismatch user']);
    expect(classes(await health(standard!))).toEqual(['missing stack']);
    const orphans = (await call<{ orphans: Orphan[] }>('GET', '/v1/orphans')).body.orphans;
    expect(orphans.map((o) => [o.class, o.tenantId, o.message.split(' ')[1]])).toEqual([
      ['orphan', 't_01JE0000000000000000000000', `${prefix}-orphan-stack`],
    ]);
    // One event per new finding.
    const drift = cp.events.slice(published).filter((e) => e.type === 'tenant.drift_detected');
    expect(drift.map((e) => [e.tenantId, e.data.class, e.data.resource]).sort()).toEqual(
      [
        [basic!.tenantId, 'missing', 'api-key'],
        [premium!.tenantId, 'state-mismatch', 'user'],
        [standard!.tenantId, 'missing', 'stack'],
      ].sort(),
    );
    const degraded = (await call<{ items: Tenant[] }>('GET', '/v1/tenants?health=degraded')).body.items;
    expect(degraded.map((t) => t.slug).sort()).toEqual(['rec-basic', 'rec-premium', 'rec-standard']);

    // Fix: a repair operation for each degraded tenant, recorded with its audit trail.
    const fixed = await reconcileAll(true);
    expect(fixed.repairs.map((r) => r.tenantId).sort()).toEqual(
      [basic!.tenantId, premium!.tenantId, standard!.tenantId].sort(),
    );
    for (const r of fixed.repairs) {
      const op: Operation = await cp.waitForOperation(r.operationId, 120_000);
      expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
      expect(op.type).toBe('repair');
    }
    const again = await reconcileAll();
    expect(again.counts).toMatchObject({ healthy: TIERS.length, degraded: 0, drifted: 0 });
    expect(await groupUsers(clients, cp.platform.userPoolId, premium!)).toEqual([
      { username: premium!.access.adminUsername, enabled: true },
    ]);
    const restored = await cp.aws.registry.requireTenant(standard!.tenantId);
    expect((await liveStacks(clients, `${prefix}-rec-standard-`)).map((s) => s.StackId)).toEqual([
      restored.stacks[0]!.arn,
    ]);
    // The orphan is still there: reported, never deleted by a fix.
    const still = (await call<{ orphans: Orphan[] }>('GET', '/v1/orphans')).body.orphans;
    expect(still.map((o) => o.id)).toEqual(orphans.map((o) => o.id));
    expect((await liveStacks(clients, `${prefix}-orphan-stack`)).length).toBe(1);

    // Deleted only when asked.
    const deleted = await call<{ results: { result: string }[] }>('POST', '/v1/orphans/delete', {
      ids: still.map((o) => o.id),
    });
    expect(deleted.body.results.map((r) => r.result)).toEqual(['deleted']);
    expect(await liveStacks(clients, `${prefix}-orphan-stack`)).toEqual([]);
  }, 240_000);

  it('runs page by page as the Step Functions reconcile machine drives it', async () => {
    let page = await cp.workflows.reconciler.page({}, 2);
    const runId = page.runId;
    for (let calls = 1; !page.done; calls++) {
      expect(calls).toBeLessThan(5);
      page = await cp.workflows.reconciler.page(page, 2);
      expect(page.runId).toBe(runId);
    }
    const run = await call<ReconcileRun>('GET', `/v1/reconcile/${runId}`);
    expect(run.body).toMatchObject({
      status: 'SUCCEEDED',
      done: TIERS.length,
      total: TIERS.length,
      orphans: 0,
    });
    expect(run.body.counts.healthy).toBe(TIERS.length);
  });

  it('tenantctl reconcile shows progress; health, list --health and orphans read the findings', async () => {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const cli = (argv: string[]) =>
      tenantctl(url, key, argv, { sleep: () => cp.workflows.reconciler.idle() });
    const all = await cli(['reconcile']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^reconciling: 0\/\? tenants/);
    expect(all.stdout).toMatch(
      /SUCCEEDED: 5\/5 tenants — 5 healthy, 0 drifted, 0 degraded, 0 not compared; 0 new finding\(s\), 0 orphan\(s\)\n$/,
    );
    const one = await cli(['health', 'rec-premium']);
    expect(one.stdout).toMatch(/^t_[0-9A-Z]{26}: healthy \(checked /);
    expect(one.stdout).toContain(
      'info    unchecked      drift-detection drift detection unavailable on this endpoint',
    );
    const listed = await cli(['list', '--health', 'healthy', '--json']);
    expect((JSON.parse(listed.stdout) as { items: Tenant[] }).items).toHaveLength(TIERS.length);
    expect((await cli(['orphans'])).stdout).toMatch(/^0 orphan\(s\) found by the run of /);
    const fix = await cli(['reconcile', '--tenant', 'rec-basic', '--fix']);
    expect(fix.code).toBe(0);
    expect(fix.stdout).toMatch(/: healthy/);
  });

  it('reconciles one tenant at once, and answers 404 for an unknown run', async () => {
    const one = await call<{ run: ReconcileRun; health: TenantHealth }>('POST', '/v1/reconcile', {
      tenant: 'rec-basic',
    });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      run: { scope: 'tenant', status: 'SUCCEEDED' },
      health: { status: 'healthy' },
    });
    const missing = await call<{ error: { code: string } }>(
      'GET',
      '/v1/reconcile/rc_01JE0000000000000000000000',
    );
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('RECONCILE_RUN_NOT_FOUND');
  });
});

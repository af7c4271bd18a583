import { GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuotaView } from '../core/quotas/rules.js';
import { startTestApp, type TestApp } from '../test/api/harness.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { DEFAULT_CATALOG, TierCatalog } from '../tiers/catalog.js';

/**
 * Reserved Lambda concurrency in the quota pre-checks, on moto, through the API and the real
 * workflows: a catalog whose accounts have 500 concurrent executions (400 reservable, AWS keeps
 * 100 unreserved) and a bridge tier reserving 300 per tenant. The first tenant onboards and its
 * worker function holds 300; a second is refused 409 QUOTA_EXCEEDED with nothing written, and so is
 * a tier change that would reserve more. moto has no Lambda GetAccountSettings: the limit is the
 * catalog's, and GET /v1/quotas says so (limitSource `configured`).
 */

const premium = DEFAULT_CATALOG.tiers.find((t) => t.name === 'premium')!;
const catalog = TierCatalog.parse({
  ...DEFAULT_CATALOG,
  lambdaConcurrencyLimit: 500,
  tiers: [
    ...DEFAULT_CATALOG.tiers,
    {
      ...premium,
      name: 'workers',
      allowedTransitions: ['light'],
      noisyNeighbour: { reservedConcurrency: 300 },
    },
    {
      ...premium,
      name: 'light',
      allowedTransitions: ['workers'],
      noisyNeighbour: { reservedConcurrency: 50 },
    },
  ],
});
const Q = 'lambda.reserved-concurrency';
// No cache: each check reads the registry, so the refusals below come from what it records.
const overrides = { quotaPrecheck: true, quotaCacheSeconds: 0 };

let cp: TestControlPlane;
let app: TestApp;

beforeAll(async () => {
  cp = await startTestControlPlane({ catalog, overrides });
  app = await startTestApp({
    registry: cp.aws.registry,
    catalog,
    overrides,
    lifecycle: () => cp.workflows.lifecycle,
  });
});
afterAll(async () => {
  await app?.close();
  await cp?.close();
});

const body = (slug: string, tier: string) => ({
  name: slug,
  slug,
  tier,
  adminEmail: `ops@${slug}.example.com`,
});

async function lambdaQuota(): Promise<QuotaView> {
  const res = await app.call({ method: 'GET', url: '/v1/quotas' });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().quotas as QuotaView[]).find((q) => q.quota === Q)!;
}

async function onboarded(slug: string, tier: string) {
  const res = await app.call({ method: 'POST', url: '/v1/tenants', payload: body(slug, tier) });
  expect(res.statusCode, res.body).toBe(202);
  const op = await cp.waitForOperation(res.json().operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(slug);
}

describe('reserved Lambda concurrency pre-check on moto', () => {
  it('shows the reservation, onboards what fits, refuses what would leave under 100 unreserved', async () => {
    expect(await lambdaQuota()).toMatchObject({
      usage: 0,
      limit: 400,
      limitSource: 'configured',
      headroom: 400,
      status: 'ok',
      perOnboarding: { basic: 0, premium: 0, workers: 300, light: 50 },
      reason:
        "Lambda GetAccountSettings is not available on this endpoint; the tier catalog's limit stands in",
    });

    const first = await onboarded('lambda-first', 'workers');
    // The stack really reserves it: the worker function's concurrency, read back through Lambda.
    const worker = first.outputs.WorkerFunctionName;
    expect(worker).toBeTruthy();
    const concurrency = await cp.aws.clients.lambda.send(
      new GetFunctionConcurrencyCommand({ FunctionName: worker }),
    );
    // moto answers the number as a string ("300"); AWS as a number.
    expect(Number(concurrency.ReservedConcurrentExecutions)).toBe(300);
    expect(await lambdaQuota()).toMatchObject({ usage: 300, limit: 400, headroom: 100, status: 'ok' });

    const before = await app.countItems();
    const refused = await app.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: body('lambda-second', 'workers'),
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: Q, usage: 300, limit: 400, limitSource: 'configured', demand: 300, tier: 'workers' },
    });
    expect(refused.json().error.message).toMatch(/needs 300 more .*: 300 of 400 in use/);
    expect(await app.countItems()).toBe(before);
    expect(await cp.aws.registry.getTenantBySlug('lambda-second')).toBeUndefined();

    // A tenant of a lighter tier fits (300 + 50); moving it up would take 250 more: refused too.
    await onboarded('lambda-light', 'light');
    expect(await lambdaQuota()).toMatchObject({ usage: 350, headroom: 50 });
    const beforeMove = await app.countItems();
    const move = await app.call({
      method: 'POST',
      url: '/v1/tenants/lambda-light/tier',
      payload: { tier: 'workers' },
    });
    expect(move.statusCode, move.body).toBe(409);
    expect(move.json().error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: Q, usage: 350, limit: 400, demand: 250, tier: 'workers', fromTier: 'light' },
    });
    expect(await app.countItems()).toBe(beforeMove);
    expect((await cp.aws.registry.requireTenant('lambda-light')).tier).toBe('light');
  });

  it('an offboarded tenant holds nothing: its reservation is free again', async () => {
    const started = await cp.workflows.lifecycle.offboard('lambda-first', { actor: 'test:ops' });
    expect((await cp.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
    expect(await lambdaQuota()).toMatchObject({ usage: 50, headroom: 350 });
    await onboarded('lambda-second', 'workers');
    expect(await lambdaQuota()).toMatchObject({ usage: 350, headroom: 50 });
  });
});

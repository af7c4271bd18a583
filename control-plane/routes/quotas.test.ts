import { CreateVpcCommand } from '@aws-sdk/client-ec2';
import { afterAll, describe, expect, it } from 'vitest';
import { awsQuotaSource } from '../../core/quotas/aws.js';
import type { QuotaView } from '../../core/quotas/rules.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';

const clients = testClients();
const apps: TestApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
  clients.destroy();
});

/** An app whose quota pre-checks are on, readings kept for the whole test (moto is shared with other files). */
async function appWith(quotaLimits: Record<string, number> = {}): Promise<TestApp> {
  const app = await startTestApp({
    overrides: { quotaPrecheck: true, quotaCacheSeconds: 3600, quotaLimits },
  });
  apps.push(app);
  return app;
}

const quotasOf = async (app: TestApp): Promise<Record<string, QuotaView>> => {
  const res = await app.call({ method: 'GET', url: '/v1/quotas' });
  expect(res.statusCode, res.body).toBe(200);
  return Object.fromEntries((res.json().quotas as QuotaView[]).map((q) => [q.quota, q]));
};

describe('GET /v1/quotas on moto', () => {
  it('reports a limit moto cannot give as not available on this endpoint (unchecked), and what it can give', async () => {
    const app = await appWith();
    const quotas = await quotasOf(app);
    expect(Object.keys(quotas).sort()).toEqual([
      'cloudformation.stacks',
      'ec2.elastic-ips',
      'lambda.reserved-concurrency',
      'organizations.accounts',
      'rds.instances',
      'vpc.vpcs',
    ]);
    // moto has no DescribeAccountLimits: counted stacks, no limit, never "ok".
    expect(quotas['cloudformation.stacks']).toMatchObject({
      status: 'not-available',
      limit: null,
      headroom: null,
      usage: expect.any(Number),
    });
    expect(quotas['cloudformation.stacks']!.reason).toBe(
      'CloudFormation DescribeAccountLimits is not available on this endpoint',
    );
    // Service Quotas in moto knows the VPC quota (AWS's default, 5).
    expect(quotas['vpc.vpcs']).toMatchObject({ limit: 5, limitSource: 'aws', usage: expect.any(Number) });
    expect(quotas['vpc.vpcs']!.perOnboarding).toMatchObject({
      basic: 0,
      enterprise: 1,
      'enterprise-dedicated': 0,
    });
    expect(quotas['rds.instances']!.status).toBe('not-available');
    // moto has no Lambda GetAccountSettings: the catalog's lambdaConcurrencyLimit (1000) less 100 stands in.
    expect(quotas['lambda.reserved-concurrency']).toMatchObject({
      limit: 900,
      limitSource: 'configured',
      status: 'ok',
      reason:
        "Lambda GetAccountSettings is not available on this endpoint; the tier catalog's limit stands in",
    });
    // An unchecked quota does not block: a pool tenant onboards.
    const res = await app.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('quota-unchecked'),
    });
    expect(res.statusCode, res.body).toBe(202);
  });

  it("shows an allowed region's quotas (?region=), read there; refuses a region not allowed with 400", async () => {
    // A region no other test file uses, so its VPC count holds still while this test reads it.
    const quiet = 'ap-northeast-3';
    const app = await startTestApp({
      overrides: { quotaPrecheck: true, quotaCacheSeconds: 3600, allowedRegions: ['us-east-1', quiet] },
    });
    apps.push(app);
    const there = clients.forRegion(quiet);
    await there.ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }));
    const counted = await awsQuotaSource(there).usage('vpc.vpcs');
    if (!counted.ok) throw new Error(`cannot count VPCs: ${counted.reason}`);

    const home = await app.call({ method: 'GET', url: '/v1/quotas' });
    expect(home.json().region).toBe('us-east-1');
    const res = await app.call({ method: 'GET', url: `/v1/quotas?region=${quiet}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().region).toBe(quiet);
    const vpcs = (res.json().quotas as QuotaView[]).find((q) => q.quota === 'vpc.vpcs');
    expect(vpcs?.usage).toBe(counted.value);
    for (const region of ['ap-south-1', 'mars']) {
      const refused = await app.call({ method: 'GET', url: `/v1/quotas?region=${region}` });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.code).toBe(region === 'mars' ? 'VALIDATION_FAILED' : 'REGION_NOT_ALLOWED');
    }
  });

  it('takes no other query parameters and needs a credential', async () => {
    const app = apps[0] ?? (await appWith());
    const query = await app.call({ method: 'GET', url: '/v1/quotas?refresh=true' });
    expect(query.statusCode).toBe(400);
    expect(query.json().error.code).toBe('UNKNOWN_QUERY_PARAMETER');
    expect((await app.call({ method: 'GET', url: '/v1/quotas', key: null })).statusCode).toBe(401);
  });
});

describe('onboarding refused by a quota at its limit', () => {
  it('admits up to the limit, then refuses the next with 409 QUOTA_EXCEEDED naming quota, usage and limit; nothing written', async () => {
    // The stack count now, plus room for two: a configured limit stands in for the one moto lacks.
    const usage = await awsQuotaSource(clients).usage('cloudformation.stacks');
    if (!usage.ok) throw new Error(`cannot count stacks: ${usage.reason}`);
    const limit = usage.value + 2;
    const app = await appWith({ 'cloudformation.stacks': limit });
    const counted = (await quotasOf(app))['cloudformation.stacks']!;
    expect(counted).toMatchObject({ limit, limitSource: 'configured' });
    const room = Math.max(0, limit - counted.usage!);

    for (let i = 0; i < room; i++) {
      const res = await app.call({
        method: 'POST',
        url: '/v1/tenants',
        payload: tenantBody(`quota-fit-${i}`),
      });
      expect(res.statusCode, res.body).toBe(202);
    }
    expect((await quotasOf(app))['cloudformation.stacks']).toMatchObject({
      usage: limit,
      headroom: 0,
      status: 'full',
    });

    const before = await app.countItems();
    const refused = await app.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('quota-over'),
      headers: { 'idempotency-key': 'quota-over-1' },
    });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: {
        quota: 'cloudformation.stacks',
        usage: limit,
        limit,
        limitSource: 'configured',
        demand: 1,
        tier: 'basic',
      },
    });
    expect(refused.json().error.message).toMatch(/cloudformation\.stacks.*of \d+ in use/);
    expect(await app.countItems()).toBe(before);
    expect(await app.registry.getTenantBySlug('quota-over')).toBeUndefined();

    // A dedicated-account tenant takes no stack of this account: the stack quota does not refuse it.
    const dedicated = await app.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('quota-dedicated', { tier: 'enterprise-dedicated' }),
    });
    expect(dedicated.statusCode, dedicated.body).toBe(202);
  });

  it('a lower configured limit wins over AWS: a silo onboarding is refused by the VPC quota, a pool one is not', async () => {
    const app = await appWith({ 'vpc.vpcs': 0 });
    const vpcs = (await quotasOf(app))['vpc.vpcs']!;
    expect(vpcs).toMatchObject({ limit: 0, limitSource: 'configured', status: 'full' });
    const before = await app.countItems();
    const silo = await app.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('quota-silo', { tier: 'enterprise' }),
    });
    expect(silo.statusCode, silo.body).toBe(409);
    expect(silo.json().error.details).toMatchObject({ quota: 'vpc.vpcs', limit: 0, usage: vpcs.usage });
    expect(await app.countItems()).toBe(before);
    const pool = await app.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('quota-pool') });
    expect(pool.statusCode, pool.body).toBe(202);
  });
});

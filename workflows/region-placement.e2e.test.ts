import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClients } from '../core/aws/clients.js';
import type { Tenant } from '../core/registry/records.js';
import { regionalAcmCertificates } from '../core/tenant-config/certificates.js';
import { s3TenantExports } from '../core/tenant-data/exports.js';
import {
  type CfnTemplate,
  platformStackName,
  readPlatform,
  SynthesisService,
  type TemplateKind,
} from '../templates/index.js';
import { CredentialVendor, registryDirectory } from '../tenant-access/index.js';
import { codeOf } from '../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane, testSynth } from '../test/support/control-plane.js';
import { apiKeyOf, dbStatus, groupUsers, usagePlanHasKey } from '../test/support/moto-state.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';
import { DEFAULT_CATALOG, TierCatalog } from '../tiers/catalog.js';
import { regionalTenantExports, TenantUsers } from './index.js';

/**
 * Region placement on moto (which serves every region): a tenant that asks for eu-west-1 has its
 * stack, database, user, API key and platform there, and nothing of it in the home region.
 */

let cp: TestControlPlane;
const basic = DEFAULT_CATALOG.tiers.find((t) => t.name === 'basic')!;
/** The shipped catalog plus a pool tier the catalog restricts to eu-west-1. */
const catalog = TierCatalog.parse({
  ...DEFAULT_CATALOG,
  tiers: [
    ...DEFAULT_CATALOG.tiers.map((t) =>
      t.name === 'basic' ? { ...t, allowedTransitions: [...(t.allowedTransitions ?? []), 'eu-only'] } : t,
    ),
    { ...basic, name: 'eu-only', displayName: 'EU only', regions: ['eu-west-1'], allowedTransitions: [] },
  ],
});
const actor = { actor: 'test:ops' };
const EU = 'eu-west-1';
/** Every CreateStack sent, with the region of the client that sent it. */
const creates: { region: string; stackName: string }[] = [];

const regionOf = (client: unknown): Promise<string> =>
  (client as { config: { region: () => Promise<string> } }).config.region();

beforeAll(async () => {
  cp = await startTestControlPlane({
    catalog,
    overrides: { allowedRegions: ['us-east-1', EU] },
    instrument: (client) =>
      aroundCalls('count-creates', async (call, send) => {
        if (call.operation === 'CreateStack') {
          const region = await (
            client as unknown as { config: { region: () => Promise<string> } }
          ).config.region();
          creates.push({ region, stackName: String(call.input.StackName) });
        }
        return send();
      })(client),
  });
});
afterAll(async () => cp?.close());

const eu = (): AwsClients => cp.aws.clients.forRegion(EU);
const home = (): AwsClients => cp.aws.clients;

async function stackIn(clients: AwsClients, stackId: string): Promise<string | undefined> {
  try {
    const out = await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackId }));
    return out.Stacks?.[0]?.StackStatus;
  } catch (e) {
    if ((e as Error).name === 'ValidationError') return undefined;
    throw e;
  }
}

async function tableIn(clients: AwsClients, tableName: string): Promise<boolean> {
  try {
    await clients.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return false;
    throw e;
  }
}

async function onboard(slug: string, tier: string, region?: string, workflows = cp.workflows) {
  const started = await workflows.lifecycle.onboard(
    {
      name: `Tenant ${slug}`,
      slug,
      tier,
      adminEmail: `admin@${slug}.example.com`,
      ...(region ? { region } : {}),
    },
    actor,
  );
  return started.operation.operationId;
}

describe('a tenant placed in eu-west-1', () => {
  const tenants: Record<string, Tenant> = {};

  it('three concurrent onboardings into the new region (pool, bridge, silo), by two processes, deploy its platform once', async () => {
    // Two engines on one registry, as two control-plane processes: each runs its own onboarding.
    const first = cp.workflows;
    const second = cp.restart();
    const ops = await Promise.all([
      onboard('eu-pool', 'basic', EU, first),
      onboard('eu-bridge', 'premium', EU, second),
      onboard('eu-silo', 'enterprise', EU, first),
    ]);
    for (const id of ops) {
      const op = await cp.waitForOperation(id, 120_000);
      expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
      // The first step in the region waits for its platform: how long that took, for the record.
      const begin = op.steps.find((st) => st.name === 'Begin')!;
      const ms = Date.parse(begin.endedAt!) - Date.parse(begin.startedAt);
      const total = Date.parse(op.endedAt!) - Date.parse(op.createdAt);
      console.info(`region-placement: ${op.operationId} Begin ${ms} ms, onboarding ${total} ms`);
    }
    const platformName = platformStackName(cp.config.resourcePrefix);
    // Home's at start-up, eu-west-1's once for both onboardings.
    expect(creates.filter((c) => c.stackName === platformName).map((c) => c.region)).toEqual([
      'us-east-1',
      EU,
    ]);
    for (const slug of ['eu-pool', 'eu-bridge', 'eu-silo'])
      tenants[slug] = await cp.aws.registry.requireTenant(slug);
  });

  it('its stack is in eu-west-1: its ARN says so, an eu-west-1 client finds it, a us-east-1 one does not', async () => {
    for (const tenant of Object.values(tenants)) {
      expect(tenant.region).toBe(EU);
      const [stack] = tenant.stacks;
      expect(stack?.region).toBe(EU);
      expect(stack?.arn.split(':')[3]).toBe(EU);
      expect(await stackIn(eu(), stack!.arn)).toBe('CREATE_COMPLETE');
      expect(await stackIn(home(), stack!.arn)).toBeUndefined();
      const stackCreate = creates.find((c) => c.stackName === stack!.stackName);
      expect(stackCreate?.region).toBe(EU);
    }
  });

  it("its role's policies name the eu-west-1 platform's pooled table (the stack's parameters come from there)", async () => {
    const euPlatform = await readPlatform({
      clients: eu(),
      prefix: cp.config.resourcePrefix,
      catalog: cp.catalog,
    });
    const out = await eu().cloudformation.send(
      new DescribeStacksCommand({ StackName: tenants['eu-pool']!.stacks[0]!.arn }),
    );
    const params = Object.fromEntries(
      (out.Stacks?.[0]?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]),
    );
    expect(params.PooledTableArn).toBe(euPlatform.pooledTableArn);
    expect(params.ArtifactBucketName).toBe(euPlatform.artifactBucketName);
  });

  it('its database is in eu-west-1: the pooled table of the eu-west-1 platform, the bridge and silo RDS instances', async () => {
    const euPlatform = await readPlatform({
      clients: eu(),
      prefix: cp.config.resourcePrefix,
      catalog: cp.catalog,
    });
    expect(euPlatform.pooledTableArn.split(':')[3]).toBe(EU);
    expect(euPlatform.pooledTableName).not.toBe(cp.platform.pooledTableName);
    expect(await tableIn(eu(), euPlatform.pooledTableName)).toBe(true);
    expect(await tableIn(home(), euPlatform.pooledTableName)).toBe(false);

    for (const slug of ['eu-bridge', 'eu-silo']) {
      const db = tenants[slug]!.outputs.DbInstanceIdentifier!;
      expect(db, slug).toBeTruthy();
      expect(await dbStatus(eu(), db)).toBe('available');
      expect(await dbStatus(home(), db)).toBeUndefined();
    }
  });

  it('its admin user and API key are in eu-west-1, in that region’s user pool and usage plan', async () => {
    const euPlatform = await readPlatform({
      clients: eu(),
      prefix: cp.config.resourcePrefix,
      catalog: cp.catalog,
    });
    for (const [slug, tenant] of Object.entries(tenants)) {
      const keyName = `${cp.config.resourcePrefix}-${tenant.tenantId}`;
      const key = await apiKeyOf(eu(), keyName);
      expect(key?.id).toBe(tenant.access.apiKeyId);
      expect(await apiKeyOf(home(), keyName)).toBeUndefined();
      expect(await usagePlanHasKey(eu(), euPlatform.usagePlanIds[tenant.tier]!, key!.id)).toBe(true);
      expect(await groupUsers(eu(), euPlatform.userPoolId, tenant)).toEqual([
        { username: `${slug}-admin`, enabled: true },
      ]);
      expect(await groupUsers(home(), cp.platform.userPoolId, tenant)).toBeUndefined();
    }
  });

  it('its custom-domain certificate is requested in its region', async () => {
    const tenant = tenants['eu-bridge']!;
    const certificates = regionalAcmCertificates(cp.aws.registry, cp.aws.clients);
    const domain = await certificates.request(tenant.tenantId, 'app.eu-bridge.example.com');
    expect(domain.certificateArn?.split(':')[3]).toBe(EU);
    expect(await certificates.release(domain.certificateArn!)).toBe('deleted');
  });

  it('reconcile reads it in its region: healthy there; a stray stack in eu-west-1 is an orphan', async () => {
    for (const slug of Object.keys(tenants)) {
      const { health } = await cp.workflows.reconciler.reconcileOne({ actor: 'test', tenant: slug });
      expect(
        health.findings.filter((f) => f.class !== 'unchecked').map((f) => f.message),
        slug,
      ).toEqual([]);
    }
    const stray = await eu().cloudformation.send(
      new CreateStackCommand({
        StackName: `${cp.config.resourcePrefix}-stray-pool`,
        TemplateBody: JSON.stringify({
          Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        }),
        Tags: [{ Key: 'TenantId', Value: 'tnt_gone' }],
      }),
    );
    // A run over every tenant lists the orphans it found in every allowed region.
    await cp.workflows.reconciler.runAll();
    const { orphans } = await cp.workflows.findings.orphans();
    expect(orphans.map((o) => [o.stackId, o.tenantId])).toEqual([[stray.StackId, 'tnt_gone']]);
    expect(stray.StackId?.split(':')[3]).toBe(EU);
    const [deleted] = await cp.workflows.reconciler.deleteOrphans(orphans.map((o) => o.id));
    expect(deleted?.result).not.toMatch(/failed|not an orphan|left alone/);
    expect(await stackIn(eu(), stray.StackId!)).toBe('DELETE_COMPLETE');
  });

  it("its users are managed in its region's pool, and its credentials name its region", async () => {
    const tenant = tenants['eu-bridge']!;
    const users = new TenantUsers({
      registry: cp.aws.registry,
      cognito: cp.aws.clients.cognito,
      userPoolId: async () => cp.platform.userPoolId,
      inRegion: (region) => cp.workflows.deps.regions!.userPool(region),
    });
    await users.add('eu-bridge', 'worker@eu-bridge.example.com');
    const euPool = (await cp.workflows.deps.regions!.userPool(EU))!.userPoolId;
    expect(await groupUsers(eu(), euPool, tenant)).toEqual([
      { username: 'eu-bridge-admin', enabled: true },
      { username: 'worker@eu-bridge.example.com', enabled: true },
    ]);
    expect((await users.list('eu-bridge')).map((u) => u.username)).toEqual([
      'eu-bridge-admin',
      'worker@eu-bridge.example.com',
    ]);
    expect((await users.disable('eu-bridge', 'worker@eu-bridge.example.com')).enabled).toBe(false);
    const vendor = new CredentialVendor({
      sts: cp.aws.clients.sts,
      directory: registryDirectory(cp.aws.registry),
    });
    const vended = await vendor.forTenant('eu-bridge');
    expect(vended.region).toBe(EU);
    expect(vended.roleArn).toBe(tenant.outputs.TenantRoleArn);
  });

  it("a tier change and a tenant update work in its region: the key moves to that region's plan, the admin email reaches its pool", async () => {
    const tenant = tenants['eu-pool']!;
    const euPlatform = await readPlatform({
      clients: eu(),
      prefix: cp.config.resourcePrefix,
      catalog: cp.catalog,
    });
    const moved = await cp.workflows.lifecycle.changeTier('eu-pool', 'standard', actor);
    const op = await cp.waitForOperation(moved.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const keyId = tenant.access.apiKeyId!;
    expect(await usagePlanHasKey(eu(), euPlatform.usagePlanIds.standard!, keyId)).toBe(true);
    expect(await usagePlanHasKey(eu(), euPlatform.usagePlanIds.basic!, keyId)).toBe(false);
    const back = await cp.workflows.lifecycle.changeTier('eu-pool', 'basic', actor);
    expect((await cp.waitForOperation(back.operation.operationId)).status).toBe('SUCCEEDED');

    const updated = await cp.workflows.lifecycle.update(
      'eu-pool',
      { adminEmail: 'new-admin@eu-pool.example.com' },
      actor,
    );
    const done = await cp.waitForOperation(updated.operation.operationId);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    const admin = await eu().cognito.send(
      new AdminGetUserCommand({ UserPoolId: euPlatform.userPoolId, Username: 'eu-pool-admin' }),
    );
    expect(admin.UserAttributes?.find((a) => a.Name === 'email')?.Value).toBe(
      'new-admin@eu-pool.example.com',
    );
  });

  it('a rollout updates its stack in its region to the new template version', async () => {
    await cp.workflows.rollouts.registerVersions();
    const tenant = await cp.aws.registry.requireTenant('eu-pool');
    const stack = tenant.stacks.find((st) => st.role === 'current')!;
    // A new pool template: the code's, with a revision mark in its description.
    const base = JSON.parse((await testSynth().resolve('pool', 'aws')).body) as CfnTemplate;
    const variant = new SynthesisService({
      cacheDir: mkdtempSync(join(tmpdir(), 'tcp-region-rollout-')),
      synthesize: (kind: TemplateKind) =>
        kind === 'pool' ? { ...base, Description: `${base.Description ?? ''} (eu revision)` } : base,
    });
    await cp.workflows.rollouts.registerVersions(variant);
    const target = (await variant.resolve('pool', 'moto')).versionId;
    expect(target).not.toBe(stack.templateVersion);
    const { rollout } = await cp.workflows.rollouts.service.create(
      {
        tiers: ['basic'],
        targetVersion: 'latest',
        waves: [],
        maxConcurrency: 1,
        failureBudget: { count: 0 },
        bakeSeconds: 0,
        onFailure: 'pause',
      },
      'test',
    );
    const deadline = Date.now() + 90_000;
    let end = await cp.workflows.rollouts.store.require(rollout.rolloutId);
    while (!['SUCCEEDED', 'FAILED', 'ABORTED', 'PAUSED'].includes(end.status) || end.counts.inflight > 0) {
      if (Date.now() > deadline) throw new Error(`rollout still ${end.status}`);
      await new Promise((r) => setTimeout(r, 50));
      end = await cp.workflows.rollouts.store.require(rollout.rolloutId);
    }
    expect(end.status).toBe('SUCCEEDED');
    expect(end.counts).toMatchObject({ succeeded: 1, failed: 0 });
    const out = await eu().cloudformation.send(new DescribeStacksCommand({ StackName: stack.arn }));
    const version = out.Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === 'TemplateVersion');
    expect(version?.ParameterValue).toBe(target);
    expect((await cp.aws.registry.requireTenant('eu-pool')).templateVersion).toBe(target);
  });

  it('a move to another isolation model (pool → bridge) builds the new stack and database in its region', async () => {
    const before = await cp.aws.registry.requireTenant('eu-pool');
    const moving = await cp.workflows.lifecycle.changeTier('eu-pool', 'premium', actor);
    await cp.answerMigration(moving.operation.operationId);
    const moved = await cp.waitForOperation(moving.operation.operationId, 120_000);
    expect(moved.status, JSON.stringify(moved.error)).toBe('SUCCEEDED');
    const after = await cp.aws.registry.requireTenant('eu-pool');
    expect([after.tier, after.isolation, after.state]).toEqual(['premium', 'bridge', 'ACTIVE']);
    const [current] = after.stacks;
    expect(after.stacks).toHaveLength(1);
    expect(current?.region).toBe(EU);
    expect(current?.arn.split(':')[3]).toBe(EU);
    expect(await stackIn(eu(), current!.arn)).toBe('CREATE_COMPLETE');
    expect(await stackIn(eu(), before.stacks[0]!.arn)).toBe('DELETE_COMPLETE');
    expect(await dbStatus(eu(), after.outputs.DbInstanceIdentifier!)).toBe('available');
    expect(await dbStatus(home(), after.outputs.DbInstanceIdentifier!)).toBeUndefined();
  });

  it('suspension works in its region: the user and the key are disabled there', async () => {
    const tenant = tenants['eu-pool']!;
    const euPlatform = await readPlatform({
      clients: eu(),
      prefix: cp.config.resourcePrefix,
      catalog: cp.catalog,
    });
    const op = await cp.workflows.lifecycle.suspend('eu-pool', 'unpaid invoice', actor);
    const done = await cp.waitForOperation(op.operation.operationId);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(await groupUsers(eu(), euPlatform.userPoolId, tenant)).toEqual([
      { username: 'eu-pool-admin', enabled: false },
    ]);
    expect((await apiKeyOf(eu(), `${cp.config.resourcePrefix}-${tenant.tenantId}`))?.enabled).toBe(false);
    const resumed = await cp.workflows.lifecycle.resume('eu-pool', actor);
    expect((await cp.waitForOperation(resumed.operation.operationId)).status).toBe('SUCCEEDED');
    expect((await apiKeyOf(eu(), `${cp.config.resourcePrefix}-${tenant.tenantId}`))?.enabled).toBe(true);
  });

  it('offboarding works in its region: its stacks, users and key are gone from eu-west-1', async () => {
    const euPlatform = await readPlatform({
      clients: eu(),
      prefix: cp.config.resourcePrefix,
      catalog: cp.catalog,
    });
    const exportsReader = regionalTenantExports(cp.aws.registry, cp.workflows.deps.regions, {
      s3: home().s3,
      bucket: () => cp.platform.artifactBucketName,
    });
    for (const [slug, tenant] of Object.entries(tenants)) {
      const started = await cp.workflows.lifecycle.offboard(slug, actor);
      const op = await cp.waitForOperation(started.operation.operationId, 120_000);
      expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
      expect(await stackIn(eu(), tenant.stacks[0]!.arn)).toBe('DELETE_COMPLETE');
      expect(await apiKeyOf(eu(), `${cp.config.resourcePrefix}-${tenant.tenantId}`)).toBeUndefined();
      // Its data export was written to, and is read from, its region's artifact bucket.
      const manifest = await exportsReader.latest(tenant.tenantId);
      expect(manifest?.location.bucket).toBe(euPlatform.artifactBucketName);
      expect(manifest?.location.bucket).not.toBe(cp.platform.artifactBucketName);
      expect(await exportsReader.file(manifest!, 'manifest.json')).toBeDefined();
      expect(
        await s3TenantExports(home().s3, () => cp.platform.artifactBucketName).latest(tenant.tenantId),
      ).toBeUndefined();
    }
  });

  it('a dedicated-account tenant in eu-west-1: its stack is in its own account, in eu-west-1', async () => {
    const id = await onboard('eu-dedicated', 'enterprise-dedicated', EU);
    const op = await cp.waitForOperation(id, 120_000);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const tenant = await cp.aws.registry.requireTenant('eu-dedicated');
    const [stack] = tenant.stacks;
    expect(tenant.accountId).toMatch(/^\d{12}$/);
    expect(stack?.accountId).toBe(tenant.accountId);
    expect(stack?.region).toBe(EU);
    expect(stack?.arn.split(':').slice(3, 5)).toEqual([EU, tenant.accountId]);
    const gone = await cp.workflows.lifecycle.offboard('eu-dedicated', actor);
    const off = await cp.waitForOperation(gone.operation.operationId, 120_000);
    expect(off.status, JSON.stringify(off.error)).toBe('SUCCEEDED');
  });

  it('a tenant that names no region is at home, and the eu-west-1 platform is not deployed again', async () => {
    const before = creates.length;
    const id = await onboard('home-pool', 'basic');
    const op = await cp.waitForOperation(id);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const tenant = await cp.aws.registry.requireTenant('home-pool');
    expect(tenant.region).toBe('us-east-1');
    expect(tenant.stacks[0]!.arn.split(':')[3]).toBe('us-east-1');
    expect(creates.slice(before).map((c) => c.region)).toEqual(['us-east-1']);
  });

  it('a tier the catalog restricts to eu-west-1: placed there, refused elsewhere with 400 REGION_NOT_ALLOWED', async () => {
    await expect(onboard('eu-only-home', 'eu-only')).rejects.toMatchObject({
      code: 'REGION_NOT_ALLOWED',
      status: 400,
      message: 'region us-east-1 is not allowed for tier eu-only; allowed: eu-west-1',
    });
    expect(await cp.aws.registry.getTenantBySlug('eu-only-home')).toBeUndefined();
    // A tenant at home cannot move into it either.
    await expect(cp.workflows.lifecycle.changeTier('home-pool', 'eu-only', actor)).rejects.toMatchObject({
      code: 'REGION_NOT_ALLOWED',
      status: 400,
    });
    const id = await onboard('eu-only-eu', 'eu-only', EU);
    const op = await cp.waitForOperation(id);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const tenant = await cp.aws.registry.requireTenant('eu-only-eu');
    expect(tenant.stacks[0]!.arn.split(':')[3]).toBe(EU);
  });

  it('a region the deployment does not allow is refused with 400 REGION_NOT_ALLOWED, nothing written', async () => {
    await expect(onboard('far-away', 'basic', 'ap-south-1')).rejects.toMatchObject({
      code: 'REGION_NOT_ALLOWED',
      status: 400,
    });
    expect(await cp.aws.registry.getTenantBySlug('far-away')).toBeUndefined();
  });
});

describe('quota pre-checks in the region a tenant is placed in', () => {
  it("an onboarding into eu-west-1 is checked against eu-west-1's usage, and refused with nothing written", async () => {
    const reads: string[] = [];
    const checked = await startTestControlPlane({
      overrides: {
        allowedRegions: ['us-east-1', EU],
        quotaPrecheck: true,
        quotaCacheSeconds: 0,
        quotaLimits: { 'rds.instances': 0 },
      },
      instrument: (client) =>
        aroundCalls('quota-reads', async (call, send) => {
          if (call.operation === 'DescribeDBInstances') reads.push(await regionOf(client));
          return send();
        })(client),
    });
    try {
      const refused = checked.workflows.lifecycle.onboard(
        {
          name: 'Quota EU',
          slug: 'quota-eu',
          tier: 'premium',
          adminEmail: 'a@quota-eu.example.com',
          region: EU,
        },
        actor,
      );
      expect(await codeOf(refused)).toBe('QUOTA_EXCEEDED');
      expect(reads.length).toBeGreaterThan(0);
      expect(new Set(reads)).toEqual(new Set([EU]));
      expect(await checked.aws.registry.getTenantBySlug('quota-eu')).toBeUndefined();
    } finally {
      await checked.close();
    }
  });
});

describe('a deployment on Step Functions builds only where it has a platform', () => {
  it('refuses an allowed region elsewhere with 400 REGION_NOT_AVAILABLE before writing anything', async () => {
    const sfn = await startTestControlPlane({
      overrides: {
        allowedRegions: ['us-east-1', EU],
        engine: 'stepfunctions',
        stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:never-',
      },
    });
    try {
      const refused = sfn.workflows.lifecycle.onboard(
        { name: 'Sfn EU', slug: 'sfn-eu', tier: 'basic', adminEmail: 'a@sfn-eu.example.com', region: EU },
        actor,
      );
      await expect(refused).rejects.toMatchObject({ code: 'REGION_NOT_AVAILABLE', status: 400 });
      expect(await sfn.aws.registry.getTenantBySlug('sfn-eu')).toBeUndefined();
    } finally {
      await sfn.close();
    }
  });

  it('builds where the CDK app declared a platform (PLATFORM_REGIONS): refuses only an allowed region without one', async () => {
    const sfn = await startTestControlPlane({
      overrides: {
        allowedRegions: ['us-east-1', EU, 'ap-south-1'],
        platformRegions: [EU],
        engine: 'stepfunctions',
        stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:never-',
      },
    });
    try {
      const refused = sfn.workflows.lifecycle.onboard(
        {
          name: 'Sfn AP',
          slug: 'sfn-ap',
          tier: 'basic',
          adminEmail: 'a@sfn-ap.example.com',
          region: 'ap-south-1',
        },
        actor,
      );
      await expect(refused).rejects.toMatchObject({
        code: 'REGION_NOT_AVAILABLE',
        details: { region: 'ap-south-1', available: ['us-east-1', EU] },
      });
      expect(await sfn.aws.registry.getTenantBySlug('sfn-ap')).toBeUndefined();
    } finally {
      await sfn.close();
    }
  });
});

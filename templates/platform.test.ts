import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateRestApiCommand,
  GetMethodCommand,
  GetResourcesCommand,
  GetStageCommand,
  GetUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeInternetGatewaysCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../core/aws/clients.js';
import { testClients, testEndpoint, uniqueName } from '../test/support/aws.js';
import { DEFAULT_CATALOG, TierCatalog } from '../tiers/catalog.js';
import { StackDeployer } from './deployer.js';
import { ensurePlatform, readPlatform } from './platform.js';
import { SynthesisService, templateVersionId } from './synthesis.js';
import type { PlatformOutputs, SynthesizedTemplate } from './types.js';

/** ensurePlatform against moto: the platform stack and the SDK-made user pool and usage plans. */

const clients = testClients();
const ec2 = new EC2Client({
  region: 'us-east-1',
  endpoint: testEndpoint(),
  credentials: EMULATOR_CREDENTIALS,
});
const cacheDir = mkdtempSync(join(tmpdir(), 'tcp-platform-test-'));
const synth = new SynthesisService({ cacheDir });
const deployer = new StackDeployer({ cloudformation: clients.cloudformation, pollMs: 10, maxPollMs: 50 });
const catalog = TierCatalog.load();
const prefix = uniqueName('tp');
const options = { clients, synth, target: 'moto' as const, prefix, catalog, deployer };
let platform: PlatformOutputs;

beforeAll(async () => {
  platform = await ensurePlatform(options);
});
afterAll(() => {
  clients.destroy();
  ec2.destroy();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('ensurePlatform', () => {
  it('creates the platform stack: a shared VPC with two isolated subnets and no internet gateway', async () => {
    expect(platform.stackName).toBe(`${prefix}-platform`);
    expect(platform.templateVersion).toBe((await synth.resolve('platform', 'moto')).versionId);
    const vpcs = await ec2.send(new DescribeVpcsCommand({ VpcIds: [platform.vpcId] }));
    expect(vpcs.Vpcs?.[0]?.CidrBlock).toBe('10.16.0.0/16');
    const subnets = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [platform.vpcId] }] }),
    );
    expect(subnets.Subnets?.map((s) => s.SubnetId).sort()).toEqual([...platform.isolatedSubnetIds].sort());
    expect(new Set(subnets.Subnets?.map((s) => s.AvailabilityZone)).size).toBe(2);
    const gateways = await ec2.send(
      new DescribeInternetGatewaysCommand({
        Filters: [{ Name: 'attachment.vpc-id', Values: [platform.vpcId] }],
      }),
    );
    expect(gateways.InternetGateways).toEqual([]);
  });

  it('creates the pooled table, the lifecycle bus and the artifact bucket', async () => {
    const table = await clients.dynamodb.send(
      new DescribeTableCommand({ TableName: platform.pooledTableName }),
    );
    expect(table.Table?.TableArn).toBe(platform.pooledTableArn);
    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const bus = await clients.eventbridge.send(new DescribeEventBusCommand({ Name: platform.eventBusName }));
    expect(bus.Arn).toBe(platform.eventBusArn);
    await expect(
      clients.s3.send(new HeadBucketCommand({ Bucket: platform.artifactBucketName })),
    ).resolves.toBeDefined();
  });

  it('creates the tenant user pool and one usage plan per tier, with its throttle and daily quota', async () => {
    const pool = await clients.cognito.send(new DescribeUserPoolCommand({ UserPoolId: platform.userPoolId }));
    expect(pool.UserPool?.Name).toBe(`${prefix}-tenants`);
    expect(pool.UserPool?.AdminCreateUserConfig?.AllowAdminCreateUserOnly).toBe(true);
    expect(Object.keys(platform.usagePlanIds).sort()).toEqual(catalog.names().sort());
    for (const tier of catalog.tiers) {
      const plan = await clients.apigateway.send(
        new GetUsagePlanCommand({ usagePlanId: platform.usagePlanIds[tier.name] }),
      );
      expect(plan.name).toBe(`${prefix}-${tier.name}`);
      expect(plan.throttle).toEqual({
        rateLimit: tier.throttle.rateLimit,
        burstLimit: tier.throttle.burstLimit,
      });
      expect(plan.quota).toMatchObject({ limit: tier.throttle.dailyQuota, period: 'DAY' });
    }
  });

  it("attaches every tier's usage plan to the tenant API's stage, whose route requires an API key", async () => {
    const stage = await clients.apigateway.send(
      new GetStageCommand({ restApiId: platform.tenantApiId, stageName: platform.tenantApiStage }),
    );
    expect(stage.stageName).toBe('v1');
    for (const tier of catalog.tiers) {
      const plan = await clients.apigateway.send(
        new GetUsagePlanCommand({ usagePlanId: platform.usagePlanIds[tier.name] }),
      );
      expect(plan.apiStages, tier.name).toEqual([{ apiId: platform.tenantApiId, stage: 'v1' }]);
    }
    const root = (
      await clients.apigateway.send(new GetResourcesCommand({ restApiId: platform.tenantApiId }))
    ).items?.find((r) => r.path === '/');
    const method = await clients.apigateway.send(
      new GetMethodCommand({ restApiId: platform.tenantApiId, resourceId: root!.id!, httpMethod: 'ANY' }),
    );
    expect(method.apiKeyRequired).toBe(true);
  });

  it('changes nothing when run again with nothing changed', async () => {
    const spies = [vi.spyOn(deployer, 'create'), vi.spyOn(deployer, 'update'), vi.spyOn(deployer, 'delete')];
    try {
      expect(await ensurePlatform(options)).toEqual(platform);
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('reads the same platform without changing anything (readPlatform)', async () => {
    await expect(readPlatform({ clients, prefix, catalog })).resolves.toEqual(platform);
  });

  it('updates the stack when the template version changes', async () => {
    const current = await synth.resolve('platform', 'moto');
    const template = JSON.parse(current.body);
    template.Description = `${template.Description} (next version)`;
    const body = JSON.stringify(template);
    const next: SynthesizedTemplate = {
      ...current,
      body,
      bytes: Buffer.byteLength(body),
      versionId: templateVersionId(body),
    };
    const update = vi.spyOn(deployer, 'update');
    try {
      const updated = await ensurePlatform({ ...options, synth: { resolve: async () => next } });
      expect(update).toHaveBeenCalledTimes(1);
      expect(updated.templateVersion).toBe(next.versionId);
      expect({ ...updated, templateVersion: platform.templateVersion }).toEqual(platform);
      const stack = (
        await clients.cloudformation.send(new DescribeStacksCommand({ StackName: platform.stackName }))
      ).Stacks?.[0];
      expect(stack?.StackStatus).toBe('UPDATE_COMPLETE');
      expect(stack?.Tags).toContainEqual({ Key: 'TemplateVersion', Value: next.versionId });
    } finally {
      update.mockRestore();
    }
  });

  it('brings usage plans to a changed catalog, keeping their ids', async () => {
    const changed = TierCatalog.parse({
      ...DEFAULT_CATALOG,
      tiers: DEFAULT_CATALOG.tiers.map((t) =>
        t.name === 'basic' ? { ...t, throttle: { rateLimit: 5, burstLimit: 8, dailyQuota: 5_000 } } : t,
      ),
    });
    // (The stack also goes back to the current template version here, after the test above.)
    const again = await ensurePlatform({ ...options, catalog: changed });
    expect(again.usagePlanIds).toEqual(platform.usagePlanIds);
    const plan = await clients.apigateway.send(
      new GetUsagePlanCommand({ usagePlanId: platform.usagePlanIds.basic }),
    );
    expect(plan.throttle).toEqual({ rateLimit: 5, burstLimit: 8 });
    expect(Number(plan.quota?.limit)).toBe(5_000);
  });

  it('deletes cleanly, retaining the pooled table and artifact bucket', async () => {
    await deployer.delete({ stackName: platform.stackName, token: `${prefix}-delete` });
    await expect(deployer.describe(platform.stackName)).resolves.toBeUndefined();
    await expect(ec2.send(new DescribeVpcsCommand({ VpcIds: [platform.vpcId] }))).rejects.toMatchObject({
      name: 'InvalidVpcID.NotFound',
    });
    await expect(
      clients.dynamodb.send(new DescribeTableCommand({ TableName: platform.pooledTableName })),
    ).resolves.toBeDefined();
    await expect(
      clients.s3.send(new HeadBucketCommand({ Bucket: platform.artifactBucketName })),
    ).resolves.toBeDefined();
  });
});

describe('ensurePlatform recovery', () => {
  it('replaces a platform stack left ROLLBACK_COMPLETE by a failed first create', async () => {
    const calls: string[] = [];
    const outputs = {
      VpcId: 'vpc-0a1b2c3d4e5f60718',
      IsolatedSubnetIds: 'subnet-0a1b2c3d,subnet-1a1b2c3d',
      PooledTableName: 'table',
      PooledTableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/table',
      EventBusName: 'bus',
      EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/bus',
      ArtifactBucketName: 'bucket',
      PooledRoleArn: 'arn:aws:iam::123456789012:role/x-PooledTenantRole',
      TenantApiId: (await clients.apigateway.send(new CreateRestApiCommand({ name: uniqueName('api') }))).id!,
      TemplateVersion: '0123456789ab',
    };
    const result = { stackId: 'arn:stack', stackName: 'x', outputs };
    const fake = {
      describe: async () => {
        calls.push('describe');
        return { ...result, status: 'ROLLBACK_COMPLETE', outputs: {} };
      },
      delete: async (args: { token: string }) => {
        calls.push(`delete ${args.token}`);
      },
      create: async (args: { token: string }) => {
        calls.push(`create ${args.token}`);
        return { ...result, status: 'CREATE_COMPLETE' };
      },
      update: async () => {
        throw new Error('not expected');
      },
    };
    const template = { ...(await synth.resolve('platform', 'moto')), versionId: '0123456789ab' };
    const recovered = await ensurePlatform({
      ...options,
      prefix: uniqueName('tr'),
      synth: { resolve: async () => template },
      deployer: fake,
    });
    expect(calls).toEqual([
      'describe',
      'delete platform-0123456789ab-reset',
      'create platform-0123456789ab-create',
    ]);
    expect(recovered).toMatchObject({
      vpcId: outputs.VpcId,
      isolatedSubnetIds: ['subnet-0a1b2c3d', 'subnet-1a1b2c3d'],
    });
  });
});

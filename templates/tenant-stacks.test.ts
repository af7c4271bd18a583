import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../core/aws/clients.js';
import { backoffDelay, sleep } from '../core/backoff.js';
import { newTenantId } from '../core/ids.js';
import { testClients, testEndpoint, uniqueName } from '../test/support/aws.js';
import { type Tier, TierCatalog } from '../tiers/catalog.js';
import { StackDeployer } from './deployer.js';
import { resolveEmulatorOutputs } from './emulator.js';
import { buildTenantParameters, tenantStackName, tenantStackTags } from './parameters.js';
import { ensurePlatform } from './platform.js';
import { ensureCreated, ensureDeleted, ensureUpdated, observe, type StackProgress } from './stack-ops.js';
import { SynthesisService } from './synthesis.js';
import type { PlatformOutputs, SynthesizedTemplate } from './types.js';

/**
 * Each tenant template deployed to moto (target 'moto') the way the workflows deploy it: through
 * the stack operations (templates/stack-ops.ts), called until they settle as the workflows' Task →
 * Choice → Wait loops call them: create, update with new parameters, delete; checking the
 * resources moto really made, then their absence.
 */

const clients = testClients();
const aws = { region: 'us-east-1', endpoint: testEndpoint(), credentials: EMULATOR_CREDENTIALS };
const ec2 = new EC2Client(aws);
const elbv2 = new ElasticLoadBalancingV2Client(aws);
const iam = new IAMClient(aws);
const kms = new KMSClient(aws);
const cacheDir = mkdtempSync(join(tmpdir(), 'tcp-tenant-stacks-test-'));
const catalog = TierCatalog.load();
const prefix = uniqueName('tt');
// The platform stack is deployed as at start-up, by StackDeployer.
const deployer = new StackDeployer({ cloudformation: clients.cloudformation, pollMs: 10, maxPollMs: 50 });
const cf = clients.cloudformation;
let platform: PlatformOutputs;
let synth: SynthesisService;

beforeAll(async () => {
  platform = await ensurePlatform({
    clients,
    synth: new SynthesisService({ cacheDir }),
    target: 'moto',
    prefix,
    catalog,
    deployer,
  });
  // Tenant templates are published to the platform's artifact bucket, as in production.
  synth = new SynthesisService({ cacheDir, s3: clients.s3, bucket: platform.artifactBucketName });
});
afterAll(() => {
  for (const client of [ec2, elbv2, iam, kms]) client.destroy();
  clients.destroy();
  rmSync(cacheDir, { recursive: true, force: true });
});

interface Tenant {
  readonly tenantId: string;
  readonly slug: string;
  readonly allowedPrincipals: string[];
  readonly permissionsBoundaryArn?: string;
}

function deployArgs(tenant: Tenant, tier: Tier, template: SynthesizedTemplate, step: string) {
  const stackName = tenantStackName(prefix, tenant.slug, tier.isolation);
  return {
    stackName,
    template,
    parameters: buildTenantParameters({ ...tenant, tier, templateVersion: template.versionId }, platform),
    tags: tenantStackTags({
      tenantId: tenant.tenantId,
      tier: tier.name,
      isolation: tier.isolation,
      templateVersion: template.versionId,
    }),
    token: `${tenant.slug}-${step}`,
  };
}

/** Calls a stack step until it settles, as a workflow polls it; a failure is thrown. */
async function settle(step: () => Promise<StackProgress>) {
  for (let attempt = 0; ; attempt += 1) {
    const progress = await step();
    if (progress.done) {
      if (progress.failure) throw progress.failure;
      return { ...progress.stack!, noChange: 'noChange' in progress && progress.noChange === true };
    }
    if (attempt >= 200) throw new Error(`stack still ${progress.status}`);
    await sleep(backoffDelay({ baseMs: 10, maxMs: 50 }, attempt));
  }
}

type Spec = Parameters<typeof ensureCreated>[1];
const create = (spec: Spec) => settle(() => ensureCreated(cf, spec));
/** As EnsureStackUpdated calls it: settled without a call once the parameters are the wanted ones. */
const update = (spec: Spec) => settle(() => ensureUpdated(cf, spec, { skipWhenParametersMatch: true }));
const remove = (stackName: string, token: string) => settle(() => ensureDeleted(cf, { stackName, token }));

const newTenant = (allowedPrincipals: string[] = [], permissionsBoundaryArn?: string): Tenant => ({
  tenantId: newTenantId(),
  slug: uniqueName('acme'),
  allowedPrincipals,
  ...(permissionsBoundaryArn === undefined ? {} : { permissionsBoundaryArn }),
});
/** As the control plane's boundary is named on AWS; moto checks only that it is a policy ARN. */
const boundaryArn = `arn:aws:iam::123456789012:policy/${prefix}-tenant-role-boundary`;
const roleName = (arn: string | undefined) => arn?.split('/').pop() ?? '';
const stackParameters = async (stackName: string) => {
  const stack = (await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })))
    .Stacks?.[0];
  return Object.fromEntries((stack?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
};

describe('pool tenant stack', () => {
  const tenant = newTenant();

  it('creates the tenant role with its TenantId-scoped policy, updates to another tier, deletes', async () => {
    // Published to S3 and deployed by TemplateURL, as templates above CloudFormation's body limit are.
    const viaUrl = new SynthesisService({
      cacheDir: mkdtempSync(join(cacheDir, 'url-')),
      s3: clients.s3,
      bucket: platform.artifactBucketName,
      bodyLimit: 1000,
    });
    const template = await viaUrl.resolve('pool', 'moto');
    expect(template.templateUrl).toMatch(/^https:\/\//);

    const created = await create(deployArgs(tenant, catalog.get('basic'), template, 'create'));
    expect(created.status).toBe('CREATE_COMPLETE');
    expect(created.outputs.TemplateVersion).toBe(template.versionId);
    const role = roleName(created.outputs.TenantRoleArn);
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: role }));
    // No PermissionsBoundaryArn (the local default): the role has no boundary.
    expect(Role?.PermissionsBoundary).toBeUndefined();
    expect(Role?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'TenantId', Value: tenant.tenantId },
        { Key: 'Isolation', Value: 'pool' },
      ]),
    );
    const [policyName] = (await iam.send(new ListRolePoliciesCommand({ RoleName: role }))).PolicyNames ?? [];
    const policy = await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: policyName }));
    const document = decodeURIComponent(policy.PolicyDocument ?? '');
    expect(document).toContain(`"${tenant.tenantId}#*"`);
    expect(document).toContain(`${platform.artifactBucketName}/tenants/${tenant.tenantId}/*`);

    const updated = await update(deployArgs(tenant, catalog.get('standard'), template, 'update'));
    expect(updated).toMatchObject({
      status: 'UPDATE_COMPLETE',
      noChange: false,
      outputs: { TenantRoleArn: created.outputs.TenantRoleArn },
    });
    expect(await stackParameters(created.stackName)).toMatchObject({
      TierName: 'standard',
      TenantId: tenant.tenantId,
    });
    const again = await update(deployArgs(tenant, catalog.get('standard'), template, 'update-again'));
    expect(again.noChange).toBe(true);

    await remove(created.stackName, `${tenant.slug}-delete`);
    await expect(observe(cf, created.stackName)).resolves.toBeUndefined();
    await expect(iam.send(new GetRoleCommand({ RoleName: role }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
  });
});

describe('bridge tenant stack', () => {
  const tenant = newTenant();

  it('creates a PostgreSQL instance in the shared subnets with its own key and groups, updates, deletes', async () => {
    const template = await synth.resolve('bridge', 'moto');
    const premium = catalog.get('premium');
    const created = await create(deployArgs(tenant, premium, template, 'create'));
    expect(created.status).toBe('CREATE_COMPLETE');
    const { outputs } = created;

    const [db] =
      (
        await clients.rds.send(
          new DescribeDBInstancesCommand({ DBInstanceIdentifier: outputs.DbInstanceIdentifier }),
        )
      ).DBInstances ?? [];
    expect(db).toMatchObject({
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.small',
      AllocatedStorage: 20,
      MultiAZ: false,
      StorageEncrypted: true,
    });
    expect(db?.Endpoint?.Address).toBe(outputs.DbEndpointAddress);
    expect(db?.DBSubnetGroup?.Subnets?.map((s) => s.SubnetIdentifier).sort()).toEqual(
      [...platform.isolatedSubnetIds].sort(),
    );
    const key = await kms.send(new DescribeKeyCommand({ KeyId: outputs.KmsKeyArn }));
    expect(key.KeyMetadata?.KeyState).toBe('Enabled');
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: [outputs.DbClientSecurityGroupId ?? ''] }),
    );
    expect(groups.SecurityGroups?.[0]?.VpcId).toBe(platform.vpcId);
    expect(resolveEmulatorOutputs(template, outputs).absent).toEqual({
      DbSecretArn: expect.stringContaining('AWS::SecretsManager::Secret'),
    });

    const bigger: Tier = {
      ...premium,
      database: {
        instanceClass: 'db.t4g.medium',
        allocatedStorageGb: 50,
        multiAz: true,
        backupRetentionDays: 14,
      },
    };
    const updated = await update(deployArgs(tenant, bigger, template, 'update'));
    expect(updated).toMatchObject({ status: 'UPDATE_COMPLETE', noChange: false });
    expect(updated.outputs.DbInstanceIdentifier).toBe(outputs.DbInstanceIdentifier);
    expect(await stackParameters(created.stackName)).toMatchObject({
      DbInstanceClass: 'db.t4g.medium',
      DbAllocatedStorage: '50',
      DbMultiAz: 'true',
    });

    await remove(created.stackName, `${tenant.slug}-delete`);
    await expect(
      clients.rds.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: outputs.DbInstanceIdentifier }),
      ),
    ).rejects.toMatchObject({
      name: 'DBInstanceNotFoundFault',
    });
    const left = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: 'group-id', Values: [outputs.DbClientSecurityGroupId ?? ''] }],
      }),
    );
    expect(left.SecurityGroups).toEqual([]);
    await expect(
      iam.send(new GetRoleCommand({ RoleName: roleName(outputs.TenantRoleArn) })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });
});

describe('silo tenant stack', () => {
  const tenant = newTenant(['arn:aws:iam::111122223333:root'], boundaryArn);

  it('creates its own VPC, database and internal load balancer, updates, deletes under termination protection', async () => {
    const template = await synth.resolve('silo', 'moto');
    const enterprise = catalog.get('enterprise');
    const created = await create({
      ...deployArgs(tenant, enterprise, template, 'create'),
      terminationProtection: true,
    });
    expect(created.status).toBe('CREATE_COMPLETE');
    const { outputs } = created;

    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [outputs.VpcId ?? ''] }))).Vpcs?.[0];
    expect(vpc?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'TenantId', Value: tenant.tenantId },
        { Key: 'Tier', Value: 'enterprise' },
      ]),
    );
    const subnets = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [outputs.VpcId ?? ''] }] }),
    );
    expect(subnets.Subnets).toHaveLength(2);
    const [db] =
      (
        await clients.rds.send(
          new DescribeDBInstancesCommand({ DBInstanceIdentifier: outputs.DbInstanceIdentifier }),
        )
      ).DBInstances ?? [];
    expect(db).toMatchObject({
      DBInstanceClass: 'db.m7g.large',
      AllocatedStorage: 100,
      MultiAZ: true,
      BackupRetentionPeriod: 30,
    });
    expect(db?.DBSubnetGroup?.VpcId).toBe(outputs.VpcId);
    const [lb] =
      (
        await elbv2.send(
          new DescribeLoadBalancersCommand({ LoadBalancerArns: [outputs.LoadBalancerArn ?? ''] }),
        )
      ).LoadBalancers ?? [];
    expect(lb).toMatchObject({ Scheme: 'internal', VpcId: outputs.VpcId });
    // Every role of the stack (the tenant role, the flow-log role) under the given boundary.
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName(outputs.TenantRoleArn) }));
    expect(Role?.PermissionsBoundary).toMatchObject({ PermissionsBoundaryArn: boundaryArn });
    const resources = await clients.cloudformation.send(
      new ListStackResourcesCommand({ StackName: created.stackName }),
    );
    const roles = (resources.StackResourceSummaries ?? []).filter((r) => r.ResourceType === 'AWS::IAM::Role');
    expect(roles).toHaveLength(2);
    for (const r of roles) {
      const got = await iam.send(new GetRoleCommand({ RoleName: r.PhysicalResourceId ?? '' }));
      expect(got.Role?.PermissionsBoundary?.PermissionsBoundaryArn, r.LogicalResourceId).toBe(boundaryArn);
    }
    expect(Object.keys(resolveEmulatorOutputs(template, outputs).absent).sort()).toEqual([
      'DbSecretArn',
      'EndpointServiceName',
    ]);

    // No principals any more (an empty CommaDelimitedList), a smaller database.
    const smaller: Tier = {
      ...enterprise,
      database: { ...(enterprise.database as NonNullable<Tier['database']>), instanceClass: 'db.m7g.xlarge' },
    };
    const updated = await update({
      ...deployArgs({ ...tenant, allowedPrincipals: [] }, smaller, template, 'update'),
      terminationProtection: true,
    });
    expect(updated).toMatchObject({
      status: 'UPDATE_COMPLETE',
      noChange: false,
      outputs: { VpcId: outputs.VpcId },
    });
    const parameters = await stackParameters(created.stackName);
    expect(parameters.DbInstanceClass).toBe('db.m7g.xlarge');
    // moto echoes a list parameter in Python's notation.
    expect(['', "['']"]).toContain(parameters.AllowedPrincipals);

    await remove(created.stackName, `${tenant.slug}-delete`);
    await expect(observe(cf, created.stackName)).resolves.toBeUndefined();
    await expect(ec2.send(new DescribeVpcsCommand({ VpcIds: [outputs.VpcId ?? ''] }))).rejects.toMatchObject({
      name: 'InvalidVpcID.NotFound',
    });
    const leftSubnets = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [outputs.VpcId ?? ''] }] }),
    );
    expect(leftSubnets.Subnets).toEqual([]);
    await expect(
      clients.rds.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: outputs.DbInstanceIdentifier }),
      ),
    ).rejects.toMatchObject({
      name: 'DBInstanceNotFoundFault',
    });
    await expect(
      elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [outputs.LoadBalancerArn ?? ''] })),
    ).rejects.toMatchObject({
      name: 'LoadBalancerNotFoundException',
    });
    await expect(
      iam.send(new GetRoleCommand({ RoleName: roleName(outputs.TenantRoleArn) })),
    ).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });
});

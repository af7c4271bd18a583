import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../core/registry/records.js';
import { testEndpoint } from '../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { evaluateResourcePolicy, type ResourceStatement } from '../test/support/iam-eval.js';
import { clientsFor } from '../workflows/tasks/accounts.js';
import { CredentialVendor, registryDirectory, type VendedCredentials } from './index.js';

/**
 * Token vending for a tenant in its own AWS account (Organizations on moto): its role lives in
 * that account and trusts the control plane's account for sessions tagged with its TenantId, and
 * vending's AssumeRole lands there. moto does not enforce IAM, so the trust policy the stack
 * actually created is evaluated for the principals that matter.
 */

let cp: TestControlPlane;
let controlPlaneAccount: string;
const tenants: Record<'dedicated' | 'shared', Tenant> = {} as never;
const actor = { actor: 'test:ops' };

async function onboard(slug: string, tier: string): Promise<Tenant> {
  const started = await cp.workflows.lifecycle.onboard(
    { name: slug, slug, tier, adminEmail: `ops@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(slug);
}

/** The trust policy IAM holds for the tenant's role, read where the role lives. */
async function trustOf(tenant: Tenant): Promise<ResourceStatement[]> {
  const { iam } = await clientsFor(cp.workflows.deps, tenant);
  const roleName = tenant.outputs.TenantRoleArn!.split('/').pop()!;
  const role = await iam.send(new GetRoleCommand({ RoleName: roleName }));
  const document = JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!)) as {
    Statement: ResourceStatement[];
  };
  return document.Statement;
}

const clientConfig = (c: VendedCredentials) => ({
  region: 'us-east-1',
  endpoint: testEndpoint(),
  credentials: {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    sessionToken: c.sessionToken,
  },
});

beforeAll(async () => {
  cp = await startTestControlPlane();
  controlPlaneAccount = (await cp.aws.clients.sts.send(new GetCallerIdentityCommand({}))).Account!;
  tenants.dedicated = await onboard('vault', 'enterprise-dedicated');
  tenants.shared = await onboard('harbour', 'enterprise');
}, 180_000);
afterAll(async () => cp?.close());

describe('token vending for a dedicated-account tenant (moto)', () => {
  it("vends credentials of the tenant's role in its own account, whose calls act there", async () => {
    const tenant = tenants.dedicated;
    expect(tenant.accountId).toMatch(/^\d{12}$/);
    expect(tenant.accountId).not.toBe(controlPlaneAccount);
    expect(tenant.outputs.TenantRoleArn).toMatch(new RegExp(`^arn:aws:iam::${tenant.accountId}:role/`));

    const vendor = new CredentialVendor({
      sts: cp.aws.clients.sts,
      directory: registryDirectory(cp.aws.registry),
    });
    const credentials = await vendor.forTenant('vault');
    expect(credentials.via).toBe('tenant-role');
    expect(credentials.roleArn).toBe(tenant.outputs.TenantRoleArn);
    expect(credentials.tags).toMatchObject({ TenantId: tenant.tenantId, Tier: 'enterprise-dedicated' });

    const sts = new STSClient(clientConfig(credentials));
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(tenant.accountId);
    expect(identity.Arn).toContain(
      `:assumed-role/${tenant.outputs.TenantRoleArn!.split('/').pop()}/tenant-${tenant.tenantId}`,
    );
    // The tenant's own table exists only in its account: the session reaches it there.
    const dynamodb = new DynamoDBClient(clientConfig(credentials));
    const table = await dynamodb.send(new DescribeTableCommand({ TableName: tenant.outputs.DataTableName }));
    expect(table.Table?.TableArn).toContain(`:${tenant.accountId}:table/`);
    await expect(
      cp.aws.clients.dynamodb.send(new DescribeTableCommand({ TableName: tenant.outputs.DataTableName })),
    ).rejects.toThrow(/not found/i);
    sts.destroy();
    dynamodb.destroy();
  });

  it("the stack was given the control plane's account, which its role's trust names for this tenant's sessions only", async () => {
    const tenant = tenants.dedicated;
    const { cloudformation } = await clientsFor(cp.workflows.deps, tenant);
    const stack = (
      await cloudformation.send(new DescribeStacksCommand({ StackName: tenant.stacks[0]!.stackName }))
    ).Stacks![0]!;
    expect(stack.Parameters?.find((p) => p.ParameterKey === 'ControlPlaneAccountId')?.ParameterValue).toBe(
      controlPlaneAccount,
    );

    const trust = await trustOf(tenant);
    const assume = (principal: string, tenantTag: string | undefined) =>
      evaluateResourcePolicy(trust, {
        principal,
        action: 'sts:AssumeRole',
        resource: tenant.outputs.TenantRoleArn!,
        context: { 'aws:RequestTag/TenantId': tenantTag },
      });
    const api = `arn:aws:iam::${controlPlaneAccount}:role/${cp.config.resourcePrefix}-ApiRole`;
    // The vending principal, with the session tag vending sets.
    expect(assume(api, tenant.tenantId)).toBe('allow');
    const tagSession = evaluateResourcePolicy(trust, {
      principal: api,
      action: 'sts:TagSession',
      resource: tenant.outputs.TenantRoleArn!,
      context: { 'aws:RequestTag/TenantId': tenant.tenantId },
    });
    expect(tagSession).toBe('allow');
    // Not for another tenant's sessions, nor untagged ones.
    expect(assume(api, tenants.shared.tenantId)).toBe('implicit-deny');
    expect(assume(api, undefined)).toBe('implicit-deny');
    // Nobody in a third account; the tenant's own account's principals, as before.
    expect(assume('arn:aws:iam::999999999999:role/api', tenant.tenantId)).toBe('implicit-deny');
    expect(assume(`arn:aws:iam::${tenant.accountId}:role/workload`, undefined)).toBe('allow');
  });

  it("a silo tenant in the control plane's account gets no cross-account trust", async () => {
    const tenant = tenants.shared;
    expect(tenant.accountId).toBeUndefined();
    const trust = await trustOf(tenant);
    expect(trust).toHaveLength(1);
    expect(trust.some((s) => s.Sid === 'ControlPlaneVending')).toBe(false);
    const { Stacks } = await cp.aws.clients.cloudformation.send(
      new DescribeStacksCommand({ StackName: tenant.stacks[0]!.stackName }),
    );
    expect(
      Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === 'ControlPlaneAccountId')?.ParameterValue,
    ).toBe('');
  });
});

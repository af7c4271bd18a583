import { GetApiKeyCommand } from '@aws-sdk/client-api-gateway';
import {
  AdminGetUserCommand,
  AdminRemoveUserFromGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../core/registry/records.js';
import { CredentialVendor, registryDirectory, type TenantTokenVerifier } from '../tenant-access/index.js';
import { codeOf } from '../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { refresh, signIn, tenantAccessOn } from '../test/support/tenant-tokens.js';
import type { TenantUsers } from './index.js';

let cp: TestControlPlane;
let users: TenantUsers;
let clientId: string;
let verify: TenantTokenVerifier;
let vendor: CredentialVendor;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane();
  ({ users, clientId, verify } = await tenantAccessOn(cp));
  vendor = new CredentialVendor({ sts: cp.aws.clients.sts, directory: registryDirectory(cp.aws.registry) });
});
afterAll(async () => cp?.close());

const enabledOf = async (username: string) =>
  (
    await cp.aws.clients.cognito.send(
      new AdminGetUserCommand({ UserPoolId: cp.platform.userPoolId, Username: username }),
    )
  ).Enabled;

const rolePolicies = async (tenant: Tenant) =>
  (
    await cp.aws.clients.iam.send(
      new ListAttachedRolePoliciesCommand({ RoleName: tenant.outputs.TenantRoleArn!.split('/').pop()! }),
    )
  ).AttachedPolicies?.map((p) => p.PolicyArn);

describe('suspension blocks every path and resume restores exactly what it blocked', () => {
  const slug = 'suspend-paths';
  let tenant: Tenant;
  let tokens: Awaited<ReturnType<typeof signIn>>;

  it('onboards a tenant with three users: one signed in, one the tenant disabled, the admin outside the group', async () => {
    const started = await cp.workflows.lifecycle.onboard(
      { name: 'Suspend Paths', slug, tier: 'basic', adminEmail: `admin@${slug}.example.com` },
      actor,
    );
    expect((await cp.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
    tenant = await cp.aws.registry.requireTenant(slug);
    await users.add(slug, 'worker@suspend-paths.example.com');
    await users.add(slug, 'leaver@suspend-paths.example.com');
    await users.disable(slug, 'leaver@suspend-paths.example.com');
    await cp.aws.clients.cognito.send(
      new AdminRemoveUserFromGroupCommand({
        UserPoolId: cp.platform.userPoolId,
        Username: tenant.access.adminUsername!,
        GroupName: tenant.access.groupName!,
      }),
    );
    tokens = await signIn(
      cp.aws.clients,
      cp.platform.userPoolId,
      clientId,
      'worker@suspend-paths.example.com',
    );
    // Before the suspension the refresh token works and the token gets credentials.
    expect(await refresh(cp.aws.clients, cp.platform.userPoolId, clientId, tokens.refreshToken)).toBeTruthy();
    const credentials = await vendor.forToken(tokens.idToken, verify);
    expect(credentials.tags).toMatchObject({ TenantId: tenant.tenantId, Tier: 'basic' });
  });

  it('suspend: every user disabled and signed out, API key off, deny policy on the role, all recorded', async () => {
    const op = await cp.workflows.lifecycle.suspend(slug, 'unpaid invoice', actor);
    const done = await cp.waitForOperation(op.operation.operationId);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.steps.map((s) => s.name)).toContain('BlockRole');
    const after = await cp.aws.registry.requireTenant(slug);
    expect(after.state).toBe('SUSPENDED');

    for (const u of ['worker@suspend-paths.example.com', 'leaver@suspend-paths.example.com'])
      expect(await enabledOf(u)).toBe(false);
    // The admin user is outside the group and still disabled.
    expect(await enabledOf(tenant.access.adminUsername!)).toBe(false);
    // Refresh tokens stop working (AdminUserGlobalSignOut).
    await expect(
      refresh(cp.aws.clients, cp.platform.userPoolId, clientId, tokens.refreshToken),
    ).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    // The API key is refused by API Gateway (disabled).
    const key = await cp.aws.clients.apigateway.send(
      new GetApiKeyCommand({ apiKey: after.access.apiKeyId! }),
    );
    expect(key.enabled).toBe(false);
    // The tenant role carries the deny-all policy, which also stops credentials vended before.
    expect(await rolePolicies(tenant)).toEqual([cp.platform.suspensionPolicyArn]);
    const policy = await cp.aws.clients.iam.send(
      new GetPolicyCommand({ PolicyArn: cp.platform.suspensionPolicyArn }),
    );
    const version = await cp.aws.clients.iam.send(
      new GetPolicyVersionCommand({
        PolicyArn: cp.platform.suspensionPolicyArn,
        VersionId: policy.Policy!.DefaultVersionId!,
      }),
    );
    const document = version.PolicyVersion!.Document!;
    expect(JSON.parse(document.startsWith('%') ? decodeURIComponent(document) : document).Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: '*', Resource: '*' }),
    ]);
    // Token vending refuses: a token issued before the suspension gets no credentials.
    expect(await codeOf(vendor.forToken(tokens.idToken, verify))).toBe('TENANT_NOT_ACTIVE');
    expect(await codeOf(vendor.forTenant(slug))).toBe('TENANT_NOT_ACTIVE');
    // What was blocked is recorded: the leaver was disabled before, so it is not in the list.
    expect(after.access.suspension).toEqual({
      disabledUsers: expect.arrayContaining([
        tenant.access.adminUsername,
        'worker@suspend-paths.example.com',
      ]),
      apiKeyDisabled: true,
      roleBlocked: true,
    });
    expect(after.access.suspension?.disabledUsers).not.toContain('leaver@suspend-paths.example.com');
  });

  it('resume: restores what suspension blocked; the user disabled before stays disabled', async () => {
    const op = await cp.workflows.lifecycle.resume(slug, actor);
    expect((await cp.waitForOperation(op.operation.operationId)).status).toBe('SUCCEEDED');
    const after = await cp.aws.registry.requireTenant(slug);
    expect(after.state).toBe('ACTIVE');
    expect(await enabledOf('worker@suspend-paths.example.com')).toBe(true);
    expect(await enabledOf(tenant.access.adminUsername!)).toBe(true);
    expect(await enabledOf('leaver@suspend-paths.example.com')).toBe(false);
    const key = await cp.aws.clients.apigateway.send(
      new GetApiKeyCommand({ apiKey: after.access.apiKeyId! }),
    );
    expect(key.enabled).toBe(true);
    expect(await rolePolicies(tenant)).toEqual([]);
    expect(after.access.suspension).toEqual({ disabledUsers: [], apiKeyDisabled: false, roleBlocked: false });
    // A new sign-in gets credentials again.
    const again = await signIn(
      cp.aws.clients,
      cp.platform.userPoolId,
      clientId,
      'worker@suspend-paths.example.com',
    );
    expect((await vendor.forToken(again.idToken, verify)).tenantId).toBe(tenant.tenantId);
  });
});

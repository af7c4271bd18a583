import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane, testSynth } from '../test/support/control-plane.js';

/**
 * The update operation on moto. moto does not model AWS::EC2::VPCEndpointService (it records a
 * placeholder, /work/shared/notes/local-aws.md), so the endpoint service's permissions cannot be read
 * back through EC2 here: the proof is the silo stack's AllowedPrincipals parameter after the update,
 * and the synthesized template, whose permissions resource takes exactly that parameter.
 */

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };
/** `<tenantId>/<step>` pairs whose task fails before it runs (a fault the test injects). */
const faults = new Set<string>();

beforeAll(async () => {
  cp = await startTestControlPlane({
    hooks: {
      beforeTask(input) {
        if (faults.has(`${input.tenantId}/${input.step}`)) throw new Error(`injected fault at ${input.step}`);
      },
    },
  });
});
afterAll(async () => cp?.close());

async function onboard(slug: string, tier: string, allowedPrincipals?: string[]) {
  const started = await cp.workflows.lifecycle.onboard(
    { name: `Tenant ${slug}`, slug, tier, adminEmail: `admin@${slug}.example.com`, allowedPrincipals },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(started.tenant.tenantId);
}

/** A list parameter as the stack holds it; moto answers a list as its Python repr (`['a', 'b']`). */
async function listParameter(stackId: string, key: string): Promise<string[]> {
  const out = await cp.aws.clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackId }));
  const value = out.Stacks?.[0]?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue ?? '';
  return value
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((v) => v.trim().replace(/^'|'$/g, ''))
    .filter(Boolean);
}

/** The admin user's email as Cognito holds it. */
async function cognitoEmail(tenant: {
  access: { adminUsername?: string | undefined };
}): Promise<string | undefined> {
  const out = await cp.aws.clients.cognito.send(
    new AdminGetUserCommand({ UserPoolId: cp.platform.userPoolId, Username: tenant.access.adminUsername! }),
  );
  return out.UserAttributes?.find((a) => a.Name === 'email')?.Value;
}

describe('update on moto', () => {
  it("a silo tenant's allowedPrincipals updated after onboarding reach its stack (endpoint service permissions)", async () => {
    const tenant = await onboard('upd-silo', 'enterprise');
    expect(tenant.allowedPrincipals).toEqual([]);
    const stackId = tenant.stacks[0]!.arn;
    expect(await listParameter(stackId, 'AllowedPrincipals')).toEqual([]);

    const principals = ['arn:aws:iam::123456789012:root', 'arn:aws:iam::210987654321:role/consumer'];
    const started = await cp.workflows.lifecycle.update(
      'upd-silo',
      { allowedPrincipals: principals, adminEmail: 'new-admin@upd-silo.example.com' },
      actor,
    );
    expect(started.tenant.state).toBe('UPDATING');
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(op.steps.map((s) => s.name)).toEqual(['Begin', 'UpdateStack', 'SetAdminEmail', 'Finish']);

    const after = await cp.aws.registry.requireTenant('upd-silo');
    expect(after).toMatchObject({
      state: 'ACTIVE',
      allowedPrincipals: principals,
      adminEmail: 'new-admin@upd-silo.example.com',
      name: 'Tenant upd-silo',
    });
    expect(await listParameter(stackId, 'AllowedPrincipals')).toEqual(principals);
    // The admin user signs in with the new email: Cognito has it, not only the registry.
    expect(await cognitoEmail(after)).toBe('new-admin@upd-silo.example.com');
    expect(cp.events.filter((e) => e.tenantId === tenant.tenantId).map((e) => e.type)).toEqual([
      'tenant.onboarded',
      'tenant.updated',
    ]);
    const trail = await cp.aws.registry.listEvents(tenant.tenantId);
    expect(trail.items.filter((e) => e.operationId === op.operationId).map((e) => e.action)).toContain(
      'operation.started',
    );

    // The permissions resource of the template that stack runs takes that very parameter.
    const template = await testSynth().resolve('silo', 'moto');
    const body = JSON.parse(template.body) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Condition?: string }>;
    };
    const permissions = Object.values(body.Resources).find(
      (r) => r.Type === 'AWS::EC2::VPCEndpointServicePermissions',
    );
    expect(permissions?.Properties.AllowedPrincipals).toEqual({ Ref: 'AllowedPrincipals' });
  });

  it('a pool tenant: name and principals recorded without a stack update', async () => {
    const tenant = await onboard('upd-pool', 'basic');
    const started = await cp.workflows.lifecycle.update(
      tenant.tenantId,
      { name: 'Renamed Pool', allowedPrincipals: ['arn:aws:iam::123456789012:root'] },
      actor,
    );
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status).toBe('SUCCEEDED');
    expect(op.steps.map((s) => s.name)).toEqual(['Begin', 'Finish']);
    expect(await cp.aws.registry.requireTenant('upd-pool')).toMatchObject({
      slug: 'upd-pool',
      name: 'Renamed Pool',
      allowedPrincipals: ['arn:aws:iam::123456789012:root'],
      state: 'ACTIVE',
    });
  });

  it('a failure setting the admin email undoes the stack update: principals and email as before', async () => {
    const tenant = await onboard('upd-undo', 'enterprise', ['arn:aws:iam::123456789012:root']);
    const stackId = tenant.stacks[0]!.arn;
    faults.add(`${tenant.tenantId}/SetAdminEmail`);
    const started = await cp.workflows.lifecycle.update(
      tenant.tenantId,
      { allowedPrincipals: ['arn:aws:iam::210987654321:root'], adminEmail: 'other@upd-undo.example.com' },
      actor,
    );
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status).toBe('FAILED');
    // The fault strikes before the step runs, so SetAdminEmail has no step record; the error names it.
    expect(op.steps.map((s) => s.name)).toEqual(['Begin', 'UpdateStack', 'UndoUpdate', 'RecordRollback']);
    expect(JSON.stringify(op.error)).toContain('injected fault at SetAdminEmail');
    const after = await cp.aws.registry.requireTenant(tenant.tenantId);
    expect(after).toMatchObject({
      state: 'ACTIVE',
      adminEmail: 'admin@upd-undo.example.com',
      allowedPrincipals: ['arn:aws:iam::123456789012:root'],
    });
    expect(await listParameter(stackId, 'AllowedPrincipals')).toEqual(['arn:aws:iam::123456789012:root']);
    expect(await cognitoEmail(after)).toBe('admin@upd-undo.example.com');
  });

  it('a pool tenant: a new admin email reaches Cognito with no stack update', async () => {
    const tenant = await onboard('upd-email', 'basic');
    const started = await cp.workflows.lifecycle.update(
      tenant.tenantId,
      { adminEmail: 'ops@upd-email.example.com' },
      actor,
    );
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(op.steps.map((s) => s.name)).toEqual(['Begin', 'SetAdminEmail', 'Finish']);
    expect(await cognitoEmail(tenant)).toBe('ops@upd-email.example.com');
  });
});

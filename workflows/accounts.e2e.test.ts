import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeAccountCommand,
  DescribeOrganizationalUnitCommand,
  ListParentsCommand,
} from '@aws-sdk/client-organizations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { groupUsers, liveStacks } from '../test/support/moto-state.js';
import { rewriteResponses } from '../test/support/sdk-middleware.js';
import { clientsFor } from './tasks/accounts.js';

const actor = { actor: 'test:ops' };

/**
 * moto creates an account at once; AWS takes minutes. Each CreateAccount request here answers
 * IN_PROGRESS for its first 3 status polls, so the 5-slot gate is actually exercised, and a
 * request whose email contains "taken" fails like AWS does for a duplicate email.
 */
const pollsSeen = new Map<string, number>();
let inFlight = 0;
let maxInFlight = 0;
const done = new Set<string>();
const taken = new Set<string>();
const instrument = rewriteResponses((command, input, output) => {
  if (command === 'CreateAccountCommand') {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const id = (output.CreateAccountStatus as { Id?: string } | undefined)?.Id;
    if (id && String(input.Email).includes('taken')) taken.add(id);
    return undefined;
  }
  if (command !== 'DescribeCreateAccountStatusCommand') return undefined;
  const id = String(input.CreateAccountRequestId);
  const status = output.CreateAccountStatus as Record<string, unknown>;
  const seen = (pollsSeen.get(id) ?? 0) + 1;
  pollsSeen.set(id, seen);
  if (taken.has(id)) {
    if (!done.has(id)) {
      done.add(id);
      inFlight--;
    }
    return {
      ...output,
      CreateAccountStatus: {
        ...status,
        State: 'FAILED',
        FailureReason: 'EMAIL_ALREADY_EXISTS',
        AccountId: undefined,
      },
    };
  }
  if (seen <= 3)
    return { ...output, CreateAccountStatus: { ...status, State: 'IN_PROGRESS', AccountId: undefined } };
  if (!done.has(id)) {
    done.add(id);
    inFlight--;
  }
  return undefined;
});

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane({ instrument });
});
afterAll(async () => cp?.close());

describe('dedicated-account tenants (Organizations on moto)', () => {
  it('vends an account in the tenant OU, deploys the stack there, and closes it on offboarding', async () => {
    const started = await cp.workflows.lifecycle.onboard(
      { name: 'Bank', slug: 'bank', tier: 'enterprise-dedicated', adminEmail: 'ops@bank.example.com' },
      actor,
    );
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(op.steps.map((s) => s.name)).toContain('VendAccount');
    const tenant = await cp.aws.registry.requireTenant('bank');
    expect(tenant.accountId).toMatch(/^\d{12}$/);
    expect(tenant.stacks[0]!.accountId).toBe(tenant.accountId);
    expect(tenant.stacks[0]!.arn).toContain(`:${tenant.accountId}:stack/`);

    const org = cp.aws.clients.organizations;
    const account = await org.send(new DescribeAccountCommand({ AccountId: tenant.accountId! }));
    expect(account.Account?.Email).toBe('aws+bank@example.com');
    const parent = (await org.send(new ListParentsCommand({ ChildId: tenant.accountId! }))).Parents![0]!;
    expect(
      (await org.send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: parent.Id! })))
        .OrganizationalUnit?.Name,
    ).toBe('silo');

    // The stack lives in the tenant's account: invisible from the management account.
    const stackName = tenant.stacks[0]!.stackName;
    await expect(
      cp.aws.clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })),
    ).rejects.toThrow(/does not exist/);
    const inTenant = await clientsFor(cp.workflows.deps, tenant);
    const seen = await inTenant.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    expect(seen.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');

    const off = await cp.workflows.lifecycle.offboard('bank', actor);
    const offOp = await cp.waitForOperation(off.operation.operationId);
    expect(offOp.status, JSON.stringify(offOp.error)).toBe('SUCCEEDED');
    const after = await cp.aws.registry.requireTenant('bank');
    expect(after.state).toBe('OFFBOARDED');
    expect(after.accountId).toBe(tenant.accountId);
    expect(after.accountClosedAt).toBeDefined();
    expect(
      (await org.send(new DescribeAccountCommand({ AccountId: tenant.accountId! }))).Account?.Status,
    ).not.toBe('ACTIVE');
    const closedParent = (await org.send(new ListParentsCommand({ ChildId: tenant.accountId! })))
      .Parents![0]!;
    expect(
      (await org.send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: closedParent.Id! })))
        .OrganizationalUnit?.Name,
    ).toBe('closed');
    await expect(
      inTenant.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })),
    ).rejects.toThrow(/does not exist/);
  });

  it('12 concurrent onboardings never have more than 5 account creations in flight, and all finish ACTIVE', async () => {
    maxInFlight = 0;
    const started = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        cp.workflows.lifecycle.onboard(
          {
            name: `Fund ${i}`,
            slug: `fund-${i}`,
            tier: 'enterprise-dedicated',
            adminEmail: `ops@fund${i}.example.com`,
          },
          actor,
        ),
      ),
    );
    const sawWaiting = new Set<string>();
    const ops = await Promise.all(
      started.map(async (s) => {
        for (;;) {
          const op = await cp.aws.registry.requireOperation(s.operation.operationId);
          if (op.steps.some((step) => step.detail?.startsWith('waiting for account slot')))
            sawWaiting.add(op.operationId);
          if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return op;
          await new Promise((r) => setTimeout(r, 25));
        }
      }),
    );
    expect(ops.filter((o) => o.status !== 'SUCCEEDED').map((o) => o.error)).toEqual([]);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(5);
    expect(sawWaiting.size).toBeGreaterThan(0);
    const accounts = new Set(
      (await Promise.all(started.map((s) => cp.aws.registry.requireTenant(s.tenant.tenantId)))).map(
        (t) => t.accountId,
      ),
    );
    expect(accounts.size).toBe(12);
  }, 240_000);

  it('a failed CreateAccount leaves a FAILED tenant with the reason and nothing behind', async () => {
    const started = await cp.workflows.lifecycle.onboard(
      { name: 'Taken', slug: 'taken', tier: 'enterprise-dedicated', adminEmail: 'ops@taken.example.com' },
      actor,
    );
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status).toBe('FAILED');
    const tenant = await cp.aws.registry.requireTenant('taken');
    expect(tenant.state).toBe('FAILED');
    expect(tenant.lastError?.code).toBe('ACCOUNT_CREATION_FAILED');
    expect(tenant.lastError?.message).toContain('VendAccount');
    expect(tenant.lastError?.message).toContain('EMAIL_ALREADY_EXISTS');
    expect(tenant.accountId).toBeUndefined();
    expect(await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-taken-`)).toEqual([]);
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toBeUndefined();
  });
});

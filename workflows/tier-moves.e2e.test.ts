import { DescribeStacksCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListAccountsCommand } from '@aws-sdk/client-organizations';
import { DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../core/registry/records.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { dbStatus } from '../test/support/moto-state.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';
import { DEFAULT_CATALOG, type Tier, TierCatalog } from '../tiers/catalog.js';
import { accountEmail, clientsFor } from './tasks/accounts.js';
import { names } from './tasks/context.js';

/**
 * Every tier move of the catalog, each way, succeeded and rolled back: after every operation the
 * stacks CloudFormation holds for the tenant, in every account it has used, are exactly the ones
 * the registry records; after offboarding none remain. The moves are the catalog's pairs of tiers
 * with a transition either way, run in both directions (the reverse transitions are opened for
 * this test), one tenant per move, in parallel.
 */

const shipped = TierCatalog.load();
const pairs = new Map<string, [string, string]>();
for (const tier of shipped.tiers)
  for (const target of tier.allowedTransitions)
    pairs.set([tier.name, target].sort().join('|'), [tier.name, target]);
const MOVES = [...pairs.values()].flatMap(([a, b]) => [
  [a, b],
  [b, a],
]) as [string, string][];

/** The shipped catalog with every pair open both ways. */
const catalog = TierCatalog.parse({
  ...DEFAULT_CATALOG,
  tiers: DEFAULT_CATALOG.tiers.map((t) => ({
    ...t,
    allowedTransitions: [
      ...new Set([
        ...(t.allowedTransitions ?? []),
        ...MOVES.filter(([, to]) => to === t.name).map(([f]) => f),
      ]),
    ].filter((n) => n !== t.name),
  })),
});

const CODE: Record<string, string> = {
  basic: 'b',
  standard: 's',
  premium: 'p',
  enterprise: 'e',
  'enterprise-dedicated': 'd',
};
const code = (tier: string) => CODE[tier] ?? tier.replace(/[^a-z0-9]/g, '').slice(0, 6);

/** A same-model move rolls back when its API key cannot join the new plan: `keyId|usagePlanId` refused. */
const refused = new Set<string>();
const instrument = aroundCalls('tierMoveFaults', async (call, send) => {
  if (
    call.operation === 'CreateUsagePlanKey' &&
    refused.has(`${String(call.input.keyId)}|${String(call.input.usagePlanId)}`)
  )
    throw Object.assign(new Error('Invalid API key identifier specified (injected)'), {
      name: 'BadRequestException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  return send();
});

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane({ catalog, instrument });
}, 120_000);
afterAll(async () => cp?.close());

const samePlace = (from: Tier, to: Tier) =>
  from.isolation === to.isolation && from.dedicatedAccount === to.dedicatedAccount;

/** Every account ever vended for the tenant (closed ones included), found by its email. */
async function accountsOf(tenant: Tenant): Promise<string[]> {
  const email = accountEmail(cp.config.accountEmailPattern, tenant);
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await cp.aws.clients.organizations.send(new ListAccountsCommand({ NextToken: token }));
    for (const a of page.Accounts ?? []) if (a.Email === email && a.Id) found.push(a.Id);
    token = page.NextToken;
  } while (token);
  return found;
}

/** Live stacks of the tenant (not DELETE_COMPLETE), read from CloudFormation in its own and every vended account. */
async function liveStacksOf(tenant: Tenant) {
  const prefix = `${cp.config.resourcePrefix}-${tenant.slug}-`;
  const out: { account: string; arn: string; stackName: string }[] = [];
  for (const account of ['', ...(await accountsOf(tenant))]) {
    const clients = account
      ? await clientsFor(cp.workflows.deps, { tenantId: 'tier-moves-test', accountId: account })
      : cp.aws.clients;
    let token: string | undefined;
    do {
      const page = await clients.cloudformation.send(new ListStacksCommand({ NextToken: token }));
      for (const s of page.StackSummaries ?? [])
        if (s.StackName?.startsWith(prefix) && s.StackStatus !== 'DELETE_COMPLETE')
          out.push({ account, arn: s.StackId ?? '', stackName: s.StackName });
      token = page.NextToken;
    } while (token);
  }
  return out.sort((a, b) => a.arn.localeCompare(b.arn));
}

/** The final snapshot an operation took of a stack's database, in the stack's account. */
async function finalSnapshot(tenant: Tenant, stack: Tenant['stacks'][number], operationId: string) {
  const clients = await clientsFor(cp.workflows.deps, {
    tenantId: tenant.tenantId,
    accountId: stack.accountId,
  });
  const id = names.snapshot(stack.stackName, operationId);
  const out = await clients.rds
    .send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))
    .catch(() => ({ DBSnapshots: [] }));
  return out.DBSnapshots?.[0]?.DBSnapshotIdentifier;
}

/** The current stack's database identifier, from the stack itself. */
async function databaseOf(tenant: Tenant): Promise<string> {
  const current = tenant.stacks.find((s) => s.role === 'current')!;
  const clients = await clientsFor(cp.workflows.deps, {
    tenantId: tenant.tenantId,
    accountId: current.accountId,
  });
  const out = await clients.cloudformation.send(new DescribeStacksCommand({ StackName: current.arn }));
  const db = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'DbInstanceIdentifier')?.OutputValue;
  expect(db, `${tenant.slug} current stack's database`).toBeTruthy();
  return db!;
}

/** A database's status, in the account of the tenant's current stack. */
async function dbStatusIn(tenant: Tenant, id: string) {
  const current = tenant.stacks.find((s) => s.role === 'current')!;
  const clients = await clientsFor(cp.workflows.deps, {
    tenantId: tenant.tenantId,
    accountId: current.accountId,
  });
  return dbStatus(clients, id);
}

/** The registry's stacks of the tenant, in the same shape. */
const recordedStacks = (tenant: Tenant) =>
  tenant.stacks
    .map((s) => ({ account: s.accountId ?? '', arn: s.arn, stackName: s.stackName }))
    .sort((a, b) => a.arn.localeCompare(b.arn));

describe.concurrent('every tier move, each way, succeeded and rolled back', () => {
  it.each(MOVES)('%s → %s', { timeout: 240_000 }, async (fromName, toName) => {
    const from = catalog.get(fromName);
    const to = catalog.get(toName);
    const slug = `mv-${code(fromName)}-${code(toName)}`;

    /** CloudFormation holds exactly the registry's stacks; returns the tenant. */
    const matches = async (when: string) => {
      const tenant = await cp.aws.registry.requireTenant(slug);
      expect(await liveStacksOf(tenant), `${slug} ${when}`).toEqual(recordedStacks(tenant));
      return tenant;
    };

    const onboarded = await cp.workflows.lifecycle.onboard(
      { name: `Mover ${slug}`, slug, tier: fromName, adminEmail: `admin@${slug}.example.com` },
      actor,
    );
    const onboard = await cp.waitForOperation(onboarded.operation.operationId, 120_000);
    expect(onboard.status, JSON.stringify(onboard.error)).toBe('SUCCEEDED');
    const before = await matches('after onboarding');
    expect(before.stacks.map((s) => s.role)).toEqual(['current']);

    // Rolled back: the target stack (and account) made, then the move fails and is undone.
    if (samePlace(from, to)) refused.add(`${before.access.apiKeyId}|${cp.platform.usagePlanIds[toName]}`);
    const failing = await cp.workflows.lifecycle.changeTier(slug, toName, actor);
    if (!samePlace(from, to))
      await cp.answerMigration(failing.operation.operationId, 'failed', 'migration refused (injected)');
    const failed = await cp.waitForOperation(failing.operation.operationId, 120_000);
    expect(failed.status).toBe('FAILED');
    const rolledBack = await matches('after a rolled-back move');
    expect([rolledBack.tier, rolledBack.state], JSON.stringify(rolledBack.lastError)).toEqual([
      fromName,
      'ACTIVE',
    ]);
    expect(rolledBack.stacks.map((s) => [s.role, s.arn])).toEqual([['current', before.stacks[0]!.arn]]);
    refused.clear();
    if (from.database && from.dedicatedAccount !== to.dedicatedAccount) {
      // Between accounts (where the target once took the current stack's place in the record),
      // suspension finds the database of the stack still recorded as current, and stops it.
      const db = await databaseOf(rolledBack);
      const suspending = await cp.workflows.lifecycle.suspend(slug, 'after a rolled-back move', actor);
      expect((await cp.waitForOperation(suspending.operation.operationId, 120_000)).status).toBe('SUCCEEDED');
      expect(await dbStatusIn(rolledBack, db)).toBe('stopped');
      const resuming = await cp.workflows.lifecycle.resume(slug, actor);
      expect((await cp.waitForOperation(resuming.operation.operationId, 120_000)).status).toBe('SUCCEEDED');
      expect(await dbStatusIn(rolledBack, db)).toBe('available');
    }

    // Succeeded.
    const moving = await cp.workflows.lifecycle.changeTier(slug, toName, actor);
    if (!samePlace(from, to)) await cp.answerMigration(moving.operation.operationId);
    const moved = await cp.waitForOperation(moving.operation.operationId, 120_000);
    expect(moved.status, JSON.stringify(moved.error)).toBe('SUCCEEDED');
    const after = await matches('after the move');
    expect([after.tier, after.isolation, after.state]).toEqual([toName, to.isolation, 'ACTIVE']);
    expect(after.stacks.map((s) => s.role)).toEqual(['current']);
    expect(Boolean(after.stacks[0]!.accountId)).toBe(to.dedicatedAccount);
    if (!samePlace(from, to)) {
      expect(after.stacks[0]!.arn).not.toBe(before.stacks[0]!.arn);
      // The retired stack's database was snapshotted before it went.
      if (from.database)
        expect(await finalSnapshot(before, before.stacks[0]!, moved.operationId)).toBe(
          names.snapshot(before.stacks[0]!.stackName, moved.operationId),
        );
    }

    const leaving = await cp.workflows.lifecycle.offboard(slug, actor);
    const offboarded = await cp.waitForOperation(leaving.operation.operationId, 120_000);
    expect(offboarded.status, JSON.stringify(offboarded.error)).toBe('SUCCEEDED');
    const gone = await matches('after offboarding');
    expect(gone.stacks).toEqual([]);
    expect(await liveStacksOf(gone)).toEqual([]);
    if (to.database)
      expect(await finalSnapshot(after, after.stacks[0]!, offboarded.operationId)).toBe(
        names.snapshot(after.stacks[0]!.stackName, offboarded.operationId),
      );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ONBOARD_STEPS,
  startTestControlPlane,
  type TestControlPlane,
} from '../test/support/control-plane.js';
import { apiKeyOf, dbStatus, groupUsers, liveStacks, usagePlanHasKey } from '../test/support/moto-state.js';

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp?.close());

async function onboard(slug: string, tier: string) {
  const started = await cp.workflows.lifecycle.onboard(
    { name: `Tenant ${slug}`, slug, tier, adminEmail: `admin@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  return { op, tenant: await cp.aws.registry.requireTenant(started.tenant.tenantId) };
}

describe.each([
  ['pool', 'basic'],
  ['bridge', 'premium'],
  ['silo', 'enterprise'],
])('%s tenant lifecycle on moto', (isolation, tier) => {
  const slug = `e2e-${isolation}`;

  it('onboards to ACTIVE with a real stack, admin user in its group and API key in its plan', async () => {
    const { op, tenant } = await onboard(slug, tier);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(tenant.state).toBe('ACTIVE');
    expect(tenant.isolation).toBe(isolation);
    expect(op.steps.map((s) => s.name)).toEqual(ONBOARD_STEPS);
    expect(op.steps.every((s) => s.status === 'SUCCEEDED' && s.endedAt)).toBe(true);
    const stacks = await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-${slug}-`);
    expect(stacks.map((s) => [s.StackId, s.StackStatus])).toEqual([
      [tenant.stacks[0]!.arn, 'CREATE_COMPLETE'],
    ]);
    expect(tenant.outputs.TenantRoleArn).toMatch(/^arn:aws:iam::/);
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toEqual([
      { username: `${slug}-admin`, enabled: true },
    ]);
    const key = await apiKeyOf(cp.aws.clients, `${cp.config.resourcePrefix}-${tenant.tenantId}`);
    expect(key?.enabled).toBe(true);
    expect(await usagePlanHasKey(cp.aws.clients, cp.platform.usagePlanIds[tier]!, key!.id)).toBe(true);
    if (isolation !== 'pool')
      expect(await dbStatus(cp.aws.clients, tenant.outputs.DbInstanceIdentifier!)).toBe('available');
    expect(cp.events.filter((e) => e.tenantId === tenant.tenantId).map((e) => e.type)).toEqual([
      'tenant.onboarded',
    ]);
  });

  it('suspends (users and key disabled, database stopped) and resumes', async () => {
    const tenant = await cp.aws.registry.requireTenant(slug);
    const suspended = await cp.workflows.lifecycle.suspend(slug, 'unpaid invoice', actor);
    expect(suspended.tenant.state).toBe('SUSPENDING');
    expect((await cp.waitForOperation(suspended.operation.operationId)).status).toBe('SUCCEEDED');
    expect((await cp.aws.registry.requireTenant(slug)).state).toBe('SUSPENDED');
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toEqual([
      { username: `${slug}-admin`, enabled: false },
    ]);
    expect((await apiKeyOf(cp.aws.clients, `${cp.config.resourcePrefix}-${tenant.tenantId}`))?.enabled).toBe(
      false,
    );
    if (isolation !== 'pool')
      expect(await dbStatus(cp.aws.clients, tenant.outputs.DbInstanceIdentifier!)).toBe('stopped');

    const resumed = await cp.workflows.lifecycle.resume(slug, actor);
    expect((await cp.waitForOperation(resumed.operation.operationId)).status).toBe('SUCCEEDED');
    expect((await cp.aws.registry.requireTenant(slug)).state).toBe('ACTIVE');
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toEqual([
      { username: `${slug}-admin`, enabled: true },
    ]);
    expect((await apiKeyOf(cp.aws.clients, `${cp.config.resourcePrefix}-${tenant.tenantId}`))?.enabled).toBe(
      true,
    );
    if (isolation !== 'pool')
      expect(await dbStatus(cp.aws.clients, tenant.outputs.DbInstanceIdentifier!)).toBe('available');
  });

  it('offboards: stacks, users, group and key gone; record OFFBOARDED with its audit trail', async () => {
    const tenant = await cp.aws.registry.requireTenant(slug);
    const started = await cp.workflows.lifecycle.offboard(slug, actor);
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const after = await cp.aws.registry.requireTenant(slug);
    expect(after.state).toBe('OFFBOARDED');
    expect(after.offboardedAt).toBeDefined();
    expect(after.stacks).toEqual([]);
    expect(await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-${slug}-`)).toEqual([]);
    expect(await groupUsers(cp.aws.clients, cp.platform.userPoolId, tenant)).toBeUndefined();
    expect(await apiKeyOf(cp.aws.clients, `${cp.config.resourcePrefix}-${tenant.tenantId}`)).toBeUndefined();
    const trail = (await cp.aws.registry.listEvents(tenant.tenantId)).items;
    const states = trail.filter((e) => e.action === 'state.changed').map((e) => `${e.from}>${e.to}`);
    expect(states).toEqual([
      'PROVISIONING>ACTIVE',
      'ACTIVE>SUSPENDING',
      'SUSPENDING>SUSPENDED',
      'SUSPENDED>RESUMING',
      'RESUMING>ACTIVE',
      'ACTIVE>OFFBOARDING',
      'OFFBOARDING>OFFBOARDED',
    ]);
    expect(trail.filter((e) => e.action === 'operation.succeeded')).toHaveLength(4);
  });
});

describe('tier changes', () => {
  it('same model: updates the stack in place and moves the API key to the new plan', async () => {
    const { tenant } = await onboard('same-model', 'basic');
    const started = await cp.workflows.lifecycle.changeTier('same-model', 'standard', actor);
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(op.steps.map((s) => s.name)).toEqual([
      'Begin',
      'UpdateStack',
      'MoveApiKey',
      'MoveSubscription',
      'Finish',
    ]);
    const after = await cp.aws.registry.requireTenant('same-model');
    expect(after.tier).toBe('standard');
    expect(after.stacks.map((s) => s.arn)).toEqual(tenant.stacks.map((s) => s.arn));
    const keyId = after.access.apiKeyId!;
    expect(await usagePlanHasKey(cp.aws.clients, cp.platform.usagePlanIds.standard!, keyId)).toBe(true);
    expect(await usagePlanHasKey(cp.aws.clients, cp.platform.usagePlanIds.basic!, keyId)).toBe(false);
  });

  it('refuses a change the catalog does not allow, writing nothing', async () => {
    const before = await cp.aws.registry.requireTenant('same-model');
    await expect(cp.workflows.lifecycle.changeTier('same-model', 'standard', actor)).rejects.toMatchObject({
      code: 'TIER_CHANGE_NOT_ALLOWED',
    });
    await expect(cp.workflows.lifecycle.changeTier('same-model', 'nope', actor)).rejects.toMatchObject({
      code: 'UNKNOWN_TIER',
    });
    expect((await cp.aws.registry.requireTenant('same-model')).version).toBe(before.version);
  });

  it('pool → bridge → silo → bridge → pool through the migration hand-off', async () => {
    await onboard('mover', 'standard');
    let previousArn = (await cp.aws.registry.requireTenant('mover')).stacks[0]!.arn;
    for (const [tier, isolation] of [
      ['premium', 'bridge'],
      ['enterprise', 'silo'],
      ['premium', 'bridge'],
      ['standard', 'pool'],
    ] as const) {
      const started = await cp.workflows.lifecycle.changeTier('mover', tier, actor);
      await cp.answerMigration(started.operation.operationId);
      const op = await cp.waitForOperation(started.operation.operationId);
      expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
      const t = await cp.aws.registry.requireTenant('mover');
      expect([t.tier, t.isolation, t.state]).toEqual([tier, isolation, 'ACTIVE']);
      expect(t.stacks).toHaveLength(1);
      expect(t.stacks[0]!.arn).not.toBe(previousArn);
      const live = await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-mover-`);
      expect(live.map((s) => s.StackId)).toEqual([t.stacks[0]!.arn]);
      expect(await usagePlanHasKey(cp.aws.clients, cp.platform.usagePlanIds[tier]!, t.access.apiKeyId!)).toBe(
        true,
      );
      const requested = cp.events.find(
        (e) => e.operationId === op.operationId && e.type === 'tenant.migration_requested',
      );
      expect(requested?.data).toMatchObject({ to: { tier, isolation } });
      previousArn = t.stacks[0]!.arn;
    }
  });

  it('a migration the application plane rejects is undone: target stack gone, tenant ACTIVE on its old tier', async () => {
    await onboard('reject', 'standard');
    const started = await cp.workflows.lifecycle.changeTier('reject', 'premium', actor);
    await cp.answerMigration(started.operation.operationId, 'failed', 'schema migration failed');
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status).toBe('FAILED');
    const t = await cp.aws.registry.requireTenant('reject');
    expect([t.tier, t.state]).toEqual(['standard', 'ACTIVE']);
    expect(t.lastError?.code).toBe('MIGRATION_REJECTED');
    expect(t.lastError?.message).toContain('AwaitMigration');
    expect(t.lastError?.message).toContain('schema migration failed');
    const live = await liveStacks(cp.aws.clients, `${cp.config.resourcePrefix}-reject-`);
    expect(live.map((s) => s.StackName)).toEqual([`${cp.config.resourcePrefix}-reject-pool`]);
  });

  it('answers NOT_WAITING_FOR_CALLBACK when nothing waits', async () => {
    const t = await cp.aws.registry.requireTenant('reject');
    const op = (await cp.aws.registry.listEvents(t.tenantId)).items.find(
      (e) => e.action === 'operation.started',
    )!.operationId!;
    await expect(cp.workflows.lifecycle.callback(op, { status: 'succeeded' }, actor)).rejects.toMatchObject({
      code: 'NOT_WAITING_FOR_CALLBACK',
    });
  });
});

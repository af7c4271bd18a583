import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { codeOf, testClients, testRegistry } from '../../test/support/aws.js';
import { seedTenants } from '../../test/support/seed.js';
import type { Registry } from './registry.js';

const clients = testClients();
let registry: Registry;

beforeAll(async () => {
  registry = await testRegistry(clients);
});

const newTenant = (slug: string, tier = 'basic') => ({
  slug,
  name: `Tenant ${slug}`,
  tier,
  isolation: 'pool' as const,
  adminEmail: `admin@${slug}.example.com`,
  region: 'us-east-1',
});

async function countItems(): Promise<number> {
  const out = await clients.documents.send(
    new ScanCommand({ TableName: registry.tableName, Select: 'COUNT' }),
  );
  return out.Count ?? 0;
}

describe('registry on DynamoDB (moto)', () => {
  it('creates a tenant with its onboard operation and audit events', async () => {
    const { tenant, operation } = await registry.createTenant(newTenant('acme'), { actor: 'key:ops' });
    expect(tenant.tenantId).toMatch(/^t_[0-9A-Z]{26}$/);
    expect(tenant.state).toBe('PROVISIONING');
    expect(tenant.currentOperationId).toBe(operation.operationId);
    expect(await registry.getTenantBySlug('acme')).toEqual(tenant);
    expect(await registry.requireTenant(tenant.tenantId)).toEqual(tenant);
    const events = await registry.listEvents(tenant.tenantId);
    expect(events.items.map((e) => e.action)).toEqual(['tenant.created', 'operation.started']);
    expect(events.items[0]).toMatchObject({ actor: 'key:ops', to: 'PROVISIONING' });
  });

  it('lets exactly one of 20 concurrent creates with one slug win', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        codeOf(registry.createTenant({ ...newTenant('race'), name: `racer ${i}` }, { actor: 'test' })),
      ),
    );
    expect(results.filter((r) => r === 'resolved')).toHaveLength(1);
    expect(results.filter((r) => r === 'TENANT_EXISTS')).toHaveLength(19);
  });

  it('refuses a second operation while one is in flight, and a refused transition', async () => {
    const { tenant, operation } = await registry.createTenant(newTenant('busy'), { actor: 'test' });
    expect(await codeOf(registry.startOperation(tenant.tenantId, 'suspend', { actor: 'test' }))).toBe(
      'OPERATION_IN_PROGRESS',
    );
    await registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' });
    expect((await registry.requireTenant('busy')).state).toBe('ACTIVE');
    expect(await codeOf(registry.startOperation('busy', 'resume', { actor: 'test' }))).toBe(
      'INVALID_STATE_TRANSITION',
    );
    const started = await Promise.all(
      Array.from({ length: 5 }, () => codeOf(registry.startOperation('busy', 'suspend', { actor: 'test' }))),
    );
    expect(started.filter((r) => r === 'resolved')).toHaveLength(1);
    expect(started.filter((r) => r === 'OPERATION_IN_PROGRESS')).toHaveLength(4);
  });

  it('rejects a stale version with VERSION_CONFLICT', async () => {
    const { tenant, operation } = await registry.createTenant(newTenant('locked'), { actor: 'test' });
    await registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' });
    expect(
      await codeOf(
        registry.startOperation(tenant.tenantId, 'suspend', {
          actor: 'test',
          expectedVersion: tenant.version,
        }),
      ),
    ).toBe('VERSION_CONFLICT');
    const now = await registry.requireTenant(tenant.tenantId);
    expect(
      await codeOf(
        registry.startOperation(tenant.tenantId, 'suspend', { actor: 'test', expectedVersion: now.version }),
      ),
    ).toBe('resolved');
  });

  it("writes a caller's items in the start's transaction; their failed condition is the caller's error and writes nothing", async () => {
    const { tenant, operation } = await registry.createTenant(newTenant('along'), { actor: 'test' });
    await registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' });
    const known = await registry.requireTenant(tenant.tenantId);
    const mark = (sk: string, condition?: string) => ({
      items: (op: { operationId: string }) => [
        {
          Put: {
            TableName: registry.tableName,
            Item: { pk: 'ALONG', sk, operationId: op.operationId },
            ...(condition ? { ConditionExpression: condition } : {}),
          },
        },
      ],
      cancelled: (indexes: number[]) => new Error(`mine: ${indexes.join(',')}`),
    });
    const before = await countItems();
    await expect(
      registry.startOperation(tenant.tenantId, 'suspend', {
        actor: 'test',
        tenant: known,
        alongside: mark('refused', 'attribute_exists(pk)'),
      }),
    ).rejects.toThrow('mine: 0');
    expect(await countItems()).toBe(before);
    expect(await registry.requireTenant(tenant.tenantId)).toEqual(known);
    // Accepted: the caller's item names the operation it was written with.
    const { operation: started } = await registry.startOperation(tenant.tenantId, 'suspend', {
      actor: 'test',
      tenant: known,
      alongside: mark('taken'),
    });
    const out = await clients.documents.send(
      new ScanCommand({
        TableName: registry.tableName,
        FilterExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'ALONG' },
      }),
    );
    expect(out.Items).toEqual([{ pk: 'ALONG', sk: 'taken', operationId: started.operationId }]);
    // A stale known tenant is a lost race, told as such; the caller's item is not written again.
    expect(
      await codeOf(
        registry.startOperation(tenant.tenantId, 'suspend', {
          actor: 'test',
          tenant: known,
          alongside: mark('stale'),
        }),
      ),
    ).toBe('OPERATION_IN_PROGRESS');
    const after = await clients.documents.send(
      new ScanCommand({
        TableName: registry.tableName,
        FilterExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': 'ALONG' },
      }),
    );
    expect(after.Items?.map((i) => i.sk)).toEqual(['taken']);
  });

  it('writes state change and audit event atomically: a failed condition writes neither', async () => {
    const { tenant, operation } = await registry.createTenant(newTenant('atomic'), { actor: 'test' });
    await registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' });
    const before = await countItems();
    const eventsBefore = (await registry.listEvents(tenant.tenantId)).items.length;
    // Another writer bumps the version between our read and our write.
    const stale = await registry.requireTenant(tenant.tenantId);
    const { operation: op2 } = await registry.startOperation(tenant.tenantId, 'suspend', { actor: 'test' });
    await registry.finishOperation({
      operationId: op2.operationId,
      outcome: 'rolled-back',
      error: { code: 'AWS_ERROR', message: 'x' },
    });
    const mid = await countItems();
    expect(
      await codeOf(
        registry.startOperation(tenant.tenantId, 'suspend', {
          actor: 'test',
          expectedVersion: stale.version,
        }),
      ),
    ).toBe('VERSION_CONFLICT');
    expect(await countItems()).toBe(mid);
    expect(mid).toBeGreaterThan(before);
    const events = (await registry.listEvents(tenant.tenantId)).items;
    expect(events.length).toBe(eventsBefore + 4);
    expect((await registry.requireTenant(tenant.tenantId)).lastError).toEqual({
      code: 'AWS_ERROR',
      message: 'x',
    });
  });

  it('records steps and lists open operations until they finish', async () => {
    const { operation } = await registry.createTenant(newTenant('steps'), { actor: 'test' });
    await registry.stepStarted(operation.operationId, 'CreateStack');
    await registry.stepEnded(operation.operationId, 'CreateStack', 'SUCCEEDED');
    await registry.stepStarted(operation.operationId, 'WaitStack', 'waiting');
    const op = await registry.requireOperation(operation.operationId);
    expect(op.status).toBe('RUNNING');
    expect(op.steps.map((s) => [s.name, s.status])).toEqual([
      ['CreateStack', 'SUCCEEDED'],
      ['WaitStack', 'RUNNING'],
    ]);
    expect((await registry.listOpenOperations()).map((o) => o.operationId)).toContain(operation.operationId);
    await registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' });
    expect((await registry.listOpenOperations()).map((o) => o.operationId)).not.toContain(
      operation.operationId,
    );
  });

  it('idempotency keys: same request replays, different request is refused', async () => {
    expect(await registry.claimIdempotencyKey('tenants', 'k1', { a: 1 })).toEqual({ status: 'claimed' });
    expect(await registry.claimIdempotencyKey('tenants', 'k1', { a: 1 })).toEqual({ status: 'in-flight' });
    await registry.completeIdempotencyKey('tenants', 'k1', { ok: true });
    expect(await registry.claimIdempotencyKey('tenants', 'k1', { a: 1 })).toEqual({
      status: 'completed',
      response: { ok: true },
    });
    expect(await codeOf(registry.claimIdempotencyKey('tenants', 'k1', { a: 2 }))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
  });
});

describe('registry pagination over 1,000 tenants', () => {
  it('pages through every tenant once, filtered by tier and state, through the GSIs', async () => {
    const reg = await testRegistry(clients);
    const tiers = ['basic', 'standard'];
    const seeded = await seedTenants(clients.documents, reg.tableName, 1000, (n) => ({
      tier: tiers[n % 2]!,
      state: n % 3 === 0 ? 'ACTIVE' : 'PROVISIONING',
    }));
    const created = seeded.map((t) => ({ id: t.tenantId, tier: t.tier, active: t.state === 'ACTIVE' }));
    const collect = async (q: { tier?: string; state?: 'ACTIVE' | 'PROVISIONING' }, limit: number) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await reg.listTenants({ ...q, limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.items.map((t) => t.tenantId));
        for (const t of page.items) {
          if (q.tier) expect(t.tier).toBe(q.tier);
          if (q.state) expect(t.state).toBe(q.state);
        }
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      return { ids, pages };
    };
    const all = await collect({}, 250);
    expect(all.ids).toHaveLength(1000);
    expect(new Set(all.ids).size).toBe(1000);
    expect([...all.ids]).toEqual([...all.ids].sort().reverse());
    const basicActive = await collect({ tier: 'basic', state: 'ACTIVE' }, 90);
    expect(new Set(basicActive.ids)).toEqual(
      new Set(created.filter((c) => c.tier === 'basic' && c.active).map((c) => c.id)),
    );
    expect(basicActive.pages).toBeGreaterThan(1);
    const provisioning = await collect({ state: 'PROVISIONING' }, 200);
    expect(provisioning.ids.sort()).toEqual(
      created
        .filter((c) => !c.active)
        .map((c) => c.id)
        .sort(),
    );
  }, 180_000);

  it('rejects a forged cursor and a cursor from another filter', async () => {
    expect(await codeOf(registry.listTenants({ cursor: 'not-a-cursor' }))).toBe('VALIDATION_FAILED');
    const page = await registry.listTenants({ limit: 1 });
    expect(page.nextCursor).toBeDefined();
    expect(await codeOf(registry.listTenants({ tier: 'basic', cursor: page.nextCursor! }))).toBe(
      'VALIDATION_FAILED',
    );
  });
});

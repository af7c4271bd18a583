import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { codeOf, testClaims, testClients, testRegistry } from '../../test/support/aws.js';
import type { OperationClaimsOptions } from './claims.js';
import { expiryOnlyOwner } from './idempotency.js';
import { idempotencyKey } from './keys.js';
import type { Registry } from './registry.js';

const clients = testClients();
let now = new Date('2026-11-24T00:00:00Z');
const clock = () => now;
let registry: Registry;

beforeAll(async () => {
  registry = await testRegistry(clients, clock);
});

/** A process as claims.ts sees it: its heartbeat in the table, its pid alive or not. */
const process_ = (extra: Partial<OperationClaimsOptions> = {}) => testClaims(clients, registry, clock, extra);

const newTenant = (slug: string) => ({
  slug,
  name: `Tenant ${slug}`,
  tier: 'basic',
  isolation: 'pool' as const,
  adminEmail: `admin@${slug}.example.com`,
  region: 'us-east-1',
});

describe('idempotency store', () => {
  it('one conditional put: of 10 concurrent takes one wins; the rest see it in flight', async () => {
    const owner = process_();
    await owner.heartbeat();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => registry.idempotency.take('s', 'burst', { a: 1 }, owner)),
    );
    expect(results.filter((r) => r.status === 'taken')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'in-flight')).toHaveLength(9);
    expect(await codeOf(registry.idempotency.take('s', 'burst', { a: 2 }, owner))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('a key whose owner died before recording an operation is taken again; the dead request records nothing', async () => {
    const crashed = process_({ pid: 2001 });
    const survivor = process_({ host: 'host-a', pid: 2002 });
    await Promise.all([crashed.heartbeat(), survivor.heartbeat()]);
    const first = await registry.idempotency.take('s', 'crash', { a: 1 }, crashed);
    expect(first.status).toBe('taken');
    // While its process lives, the key is in flight for everyone else.
    expect(await registry.idempotency.take('s', 'crash', { a: 1 }, survivor)).toMatchObject({
      status: 'in-flight',
      owner: crashed.runnerId,
    });
    // The process is gone (claims' own rule: a dead pid on this host); its heartbeat has not lapsed.
    const sees = process_({ pid: 2002, isProcessAlive: (pid) => pid !== 2001 });
    const again = await registry.idempotency.take('s', 'crash', { a: 1 }, sees);
    expect(again.status).toBe('taken');
    // The crashed request, had it gone on, can no longer record its operation under the key.
    const link = { scope: 's', key: 'crash', token: (first as { token: string }).token };
    expect(
      await codeOf(registry.createTenant(newTenant('crash-late'), { actor: 'test', idempotency: link })),
    ).toBe('IDEMPOTENCY_IN_FLIGHT');
    expect(await registry.getTenantBySlug('crash-late')).toBeUndefined();
  });

  it('a retired owner (said so on close) loses its key at once', async () => {
    const closing = process_({ pid: 3001 });
    await closing.heartbeat();
    expect((await registry.idempotency.take('s', 'retired', { a: 1 }, closing)).status).toBe('taken');
    await closing.retire();
    const other = process_({ host: 'host-b', pid: 3002 });
    expect((await registry.idempotency.take('s', 'retired', { a: 1 }, other)).status).toBe('taken');
  });

  it('a key held by an owner nobody can check is reusable once its in-progress time passed', async () => {
    const lambda = expiryOnlyOwner();
    const other = expiryOnlyOwner();
    expect((await registry.idempotency.take('s', 'expiry', { a: 1 }, lambda)).status).toBe('taken');
    expect((await registry.idempotency.take('s', 'expiry', { a: 1 }, other)).status).toBe('in-flight');
    now = new Date(now.getTime() + (registry.idempotency.inProgressSeconds + 1) * 1000);
    // A different request may use the abandoned key: nothing was ever done under it.
    expect((await registry.idempotency.take('s', 'expiry', { b: 2 }, other)).status).toBe('taken');
  });

  it('a key whose operation was recorded (same transaction) replays it, even past its in-progress time', async () => {
    const owner = process_({ pid: 4001 });
    await owner.heartbeat();
    const taken = await registry.idempotency.take('s', 'recorded', { a: 1 }, owner);
    if (taken.status !== 'taken') throw new Error(`expected taken, got ${taken.status}`);
    const { tenant, operation } = await registry.createTenant(newTenant('idem-recorded'), {
      actor: 'test',
      idempotencyKey: 'recorded',
      idempotency: { scope: 's', key: 'recorded', token: taken.token },
    });
    const record = await clients.documents.send(
      new GetCommand({ TableName: registry.tableName, Key: idempotencyKey('s', 'recorded') }),
    );
    expect(record.Item).toMatchObject({ operationId: operation.operationId, tenantId: tenant.tenantId });
    // Its process died before storing the answer, and time passed: the operation is replayed.
    await owner.retire();
    now = new Date(now.getTime() + 3600_000);
    const other = process_({ host: 'host-b' });
    expect(await registry.idempotency.take('s', 'recorded', { a: 1 }, other)).toEqual({
      status: 'recorded',
      operationId: operation.operationId,
      tenantId: tenant.tenantId,
    });
    // A release never drops a key that points to an operation.
    await registry.idempotency.release('s', 'recorded');
    expect((await registry.idempotency.take('s', 'recorded', { a: 1 }, other)).status).toBe('recorded');
    expect(await codeOf(registry.idempotency.take('s', 'recorded', { a: 2 }, other))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('complete stores the answer for replays; release frees a key that recorded nothing', async () => {
    const owner = process_({ pid: 5001 });
    await owner.heartbeat();
    const taken = await registry.idempotency.take('s', 'done', { a: 1 }, owner);
    if (taken.status !== 'taken') throw new Error('expected taken');
    await registry.idempotency.complete('s', 'done', { statusCode: 202, body: 'x' }, taken.token);
    expect(await registry.idempotency.take('s', 'done', { a: 1 }, owner)).toEqual({
      status: 'completed',
      response: { statusCode: 202, body: 'x' },
    });
    const refused = await registry.idempotency.take('s', 'refused', { a: 1 }, owner);
    if (refused.status !== 'taken') throw new Error('expected taken');
    await registry.idempotency.release('s', 'refused', refused.token);
    expect((await registry.idempotency.take('s', 'refused', { a: 1 }, owner)).status).toBe('taken');
  });

  it('an in-flight record of the earlier format (no owner, 24 h expiry) no longer blocks its key', async () => {
    const seconds = Math.floor(now.getTime() / 1000);
    await clients.documents.send(
      new PutCommand({
        TableName: registry.tableName,
        Item: {
          ...idempotencyKey('s', 'legacy'),
          kind: 'idempotency',
          requestHash: 'whatever',
          status: 'in-flight',
          createdAt: now.toISOString(),
          expiresAt: seconds + 24 * 3600,
        },
      }),
    );
    expect((await registry.idempotency.take('s', 'legacy', { a: 1 }, process_())).status).toBe('taken');
  });
});

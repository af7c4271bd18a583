import { beforeAll, describe, expect, it } from 'vitest';
import { testClients, testRegistry } from '../../test/support/aws.js';
import { LeaseGate, type LeaseOptions } from './leases.js';
import type { Registry } from './registry.js';

const clients = testClients();
let now = new Date('2026-11-24T00:00:00Z');
const clock = () => now;
const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};
let registry: Registry;

beforeAll(async () => {
  registry = await testRegistry(clients, clock);
});

let gates = 0;
/** A fresh gate of one slot; operations named in `ended` count as ended. */
function gate(ended = new Set<string>(), extra: Partial<LeaseOptions> = {}): LeaseGate {
  gates++;
  return new LeaseGate(
    {
      documents: clients.documents,
      tableName: registry.tableName,
      clock,
      waiterTtlSeconds: 60,
      sweepEverySeconds: 0,
      operationEnded: async (id) => ended.has(id),
      ...extra,
    },
    `test-gate-${gates}`,
    1,
    3600,
  );
}

describe('lease gates: owners, expiries, sweeps', () => {
  it('a waiter that stopped polling loses its place once it expires: a later waiter takes the slot', async () => {
    const g = gate();
    expect(await g.acquire('op_A/stack', '2026-11-24T00:00:01Z')).toEqual({ acquired: true, slot: 0 });
    // B queues, then its process dies: it never polls again (its operation stays open).
    expect(await g.acquire('op_B/stack', '2026-11-24T00:00:02Z')).toEqual({ acquired: false, position: 1 });
    expect(await g.acquire('op_C/stack', '2026-11-24T00:00:03Z')).toEqual({ acquired: false, position: 2 });
    await g.release('op_A/stack');
    // B is still within its expiry: it keeps its place, C waits behind it.
    expect(await g.acquire('op_C/stack', '2026-11-24T00:00:03Z')).toEqual({ acquired: false, position: 1 });
    advance(45);
    // C keeps polling (renewing its own expiry); B does not.
    expect((await g.acquire('op_C/stack', '2026-11-24T00:00:03Z')).acquired).toBe(false);
    advance(20);
    expect(await g.acquire('op_C/stack', '2026-11-24T00:00:03Z')).toEqual({ acquired: true, slot: 0 });
    const view = await g.inspect();
    expect(view.slots.map((s) => s.owner)).toEqual(['op_C/stack']);
    // The expired waiter was swept by C's poll.
    expect(view.waiters).toEqual([]);
  });

  it('a waiter whose operation ended is swept at once and does not block a later waiter', async () => {
    const ended = new Set<string>();
    const g = gate(ended);
    await g.acquire('op_A', 't1');
    await g.acquire('op_B', 't2');
    await g.acquire('op_C', 't3');
    await g.release('op_A');
    ended.add('op_B');
    expect(await g.acquire('op_C', 't3')).toEqual({ acquired: true, slot: 0 });
    expect((await g.inspect()).waiters).toEqual([]);
  });

  it('a slot whose owner operation ended without releasing it is swept by the next waiter', async () => {
    const ended = new Set<string>();
    const g = gate(ended);
    expect((await g.acquire('op_A/stack', 't1')).acquired).toBe(true);
    expect((await g.acquire('op_B/stack', 't2')).acquired).toBe(false);
    ended.add('op_A');
    expect(await g.acquire('op_B/stack', 't2')).toEqual({ acquired: true, slot: 0 });
  });

  it('by default an owner operation is ended by the registry record (isOperationEnded)', async () => {
    const g = new LeaseGate(
      { documents: clients.documents, tableName: registry.tableName, clock, sweepEverySeconds: 0 },
      'test-gate-registry',
      1,
      3600,
    );
    const { operation } = await registry.createTenant(
      {
        slug: 'lease-owner',
        name: 'Lease owner',
        tier: 'basic',
        isolation: 'pool',
        adminEmail: 'a@lease-owner.example.com',
        region: 'us-east-1',
      },
      { actor: 'test' },
    );
    const holder = `${operation.operationId}/stack`;
    expect((await g.acquire(holder, operation.createdAt)).acquired).toBe(true);
    expect(await g.sweep()).toBe(0);
    await registry.finishOperation({ operationId: operation.operationId, outcome: 'failed' });
    expect(await g.sweep()).toBe(1);
    expect(await g.holders()).toEqual([]);
  });

  it('releaseOperation frees every slot and waiter of an operation; inspect shows owners and expiries', async () => {
    const g = gate();
    await g.acquire('op_A/one', 't1');
    await g.acquire('op_B/one', 't2');
    await g.acquire('op_A/two', 't3');
    const view = await g.inspect();
    expect(view).toMatchObject({
      capacity: 1,
      slots: [{ slot: 0, owner: 'op_A/one', operationId: 'op_A', expired: false }],
      waiters: [
        { position: 1, owner: 'op_B/one', operationId: 'op_B', expired: false },
        { position: 2, owner: 'op_A/two', operationId: 'op_A', expired: false },
      ],
    });
    expect(Date.parse(view.slots[0]!.expiresAt)).toBe(Math.floor(now.getTime() / 1000) * 1000 + 3600_000);
    await g.releaseOperation('op_A');
    expect(await g.acquire('op_B/one', 't2')).toEqual({ acquired: true, slot: 0 });
    expect((await g.inspect()).waiters).toEqual([]);
  });
});

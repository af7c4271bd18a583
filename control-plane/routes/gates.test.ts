import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseGate } from '../../core/registry/leases.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testClients } from '../../test/support/aws.js';
import { gateSpecs, STACK_GATE } from '../../workflows/gates.js';
import { PLATFORM_LEASE_SECONDS, platformGateName } from '../../workflows/platforms.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /v1/gates', () => {
  it('shows every gate with its slots and waiters, their owners, owner status and expiries', async () => {
    const onboarded = (
      await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('gate-owner') })
    ).json();
    const holder = `${onboarded.operation.operationId}/h-gate-owner-pool`;
    const spec = gateSpecs(t.config).stacks;
    const gate = new LeaseGate(
      { documents: testClients().documents, tableName: t.registry.tableName },
      STACK_GATE,
      1,
      spec.ttlSeconds,
    );
    expect((await gate.acquire(holder, onboarded.operation.createdAt)).acquired).toBe(true);
    expect((await gate.acquire('op_01ARZ3NDEKTSV4RRFFQ69G5FAV/other', '2026-11-24T00:00:00Z')).acquired).toBe(
      false,
    );

    const res = await t.call({ method: 'GET', url: '/v1/gates' });
    expect(res.statusCode, res.body).toBe(200);
    const gates = res.json().gates as {
      gate: string;
      capacity: number;
      slots: unknown[];
      waiters: unknown[];
    }[];
    expect(gates.map((g) => g.gate).sort()).toEqual(['account-vending', STACK_GATE]);
    const stacks = gates.find((g) => g.gate === STACK_GATE)!;
    expect(stacks.capacity).toBe(t.config.maxStackOperations);
    expect(stacks.slots).toEqual([
      expect.objectContaining({
        slot: 0,
        owner: holder,
        operationId: onboarded.operation.operationId,
        operationStatus: 'PENDING',
        expired: false,
      }),
    ]);
    expect(stacks.waiters).toEqual([
      expect.objectContaining({
        position: 1,
        owner: 'op_01ARZ3NDEKTSV4RRFFQ69G5FAV/other',
        operationStatus: 'MISSING',
        expired: false,
      }),
    ]);
    const slot = stacks.slots[0] as { expiresAt: string; takenAt: string };
    expect(Date.parse(slot.expiresAt) - Date.parse(slot.takenAt)).toBeGreaterThan(
      (spec.ttlSeconds - 2) * 1000,
    );
  });

  it("lists the platform lease of each allowed region but home, with its holder (a region's first deployment)", async () => {
    const multi = await startTestApp({ overrides: { allowedRegions: ['us-east-1', 'eu-west-1'] } });
    try {
      const onboarded = (
        await multi.call({
          method: 'POST',
          url: '/v1/tenants',
          payload: { ...tenantBody('gate-eu'), region: 'eu-west-1' },
        })
      ).json();
      const holder = `${onboarded.operation.operationId}/platform`;
      const lease = new LeaseGate(
        { documents: testClients().documents, tableName: multi.registry.tableName },
        platformGateName('eu-west-1'),
        1,
        PLATFORM_LEASE_SECONDS,
      );
      expect((await lease.acquire(holder, onboarded.operation.createdAt)).acquired).toBe(true);
      const gates = (await multi.call({ method: 'GET', url: '/v1/gates' })).json().gates as {
        gate: string;
        capacity: number;
        slots: { owner: string; operationStatus?: string }[];
      }[];
      expect(gates.map((g) => g.gate).sort()).toEqual(['account-vending', 'platform-eu-west-1', STACK_GATE]);
      const platform = gates.find((g) => g.gate === 'platform-eu-west-1')!;
      expect(platform.capacity).toBe(1);
      expect(platform.slots).toEqual([
        expect.objectContaining({ owner: holder, operationStatus: 'PENDING' }),
      ]);
    } finally {
      await multi.close();
    }
  });

  it('is for admins only, and refuses query parameters', async () => {
    const reader = await t.keyWith(['tenants:read']);
    const forbidden = await t.call({ method: 'GET', url: '/v1/gates', key: reader });
    expect([forbidden.statusCode, forbidden.json().error.code]).toEqual([403, 'FORBIDDEN']);
    const unknown = await t.call({ method: 'GET', url: '/v1/gates?gate=x' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([400, 'UNKNOWN_QUERY_PARAMETER']);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.call({ method: 'GET', url: '/openapi.json', key: null })).json();
    expect(doc.paths['/v1/gates'].get.operationId).toBe('listGates');
  });
});

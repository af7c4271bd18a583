import { describe, expect, it } from 'vitest';
import { renderGates } from './gates.js';

describe('tenantctl gates', () => {
  it('shows each gate, then its slots and waiters with owners and expiries, flagging stale ones', () => {
    const text = renderGates({
      gates: [
        {
          gate: 'stack-operations',
          capacity: 2,
          slots: [
            {
              slot: 0,
              owner: 'op_A/acme-pool',
              operationId: 'op_A',
              operationStatus: 'RUNNING',
              expiresAt: '2026-11-24T03:00:00.000Z',
              expired: false,
            },
            {
              slot: 1,
              owner: 'op_B/beta-pool',
              operationId: 'op_B',
              operationStatus: 'FAILED',
              expiresAt: '2026-11-24T03:00:00.000Z',
              expired: false,
            },
          ],
          waiters: [
            {
              position: 1,
              owner: 'op_C/gamma-pool',
              operationId: 'op_C',
              operationStatus: 'RUNNING',
              expiresAt: '2026-11-24T00:05:00.000Z',
              expired: false,
            },
            {
              position: null,
              owner: 'op_D/delta-pool',
              operationId: 'op_D',
              operationStatus: 'RUNNING',
              expiresAt: '2026-11-23T23:00:00.000Z',
              expired: true,
            },
          ],
        },
        { gate: 'account-vending', capacity: 5, slots: [], waiters: [] },
      ],
    });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('stack-operations: 2/2 slots held, 1 waiting');
    expect(lines[1]).toMatch(/^\s+HELD AS\s+OWNER\s+OPERATION\s+EXPIRES$/);
    expect(lines[2]).toMatch(/^\s+slot 0\s+op_A\/acme-pool\s+RUNNING\s+2026-11-24T03:00:00.000Z$/);
    expect(lines[3]).toMatch(/slot 1\s+op_B\/beta-pool\s+FAILED\s+\S+\s+stale$/);
    expect(lines[4]).toMatch(/wait 1\s+op_C\/gamma-pool\s+RUNNING/);
    expect(lines[5]).toMatch(/waiter\s+op_D\/delta-pool\s+RUNNING\s+\S+\s+expired$/);
    expect(lines[6]).toBe('account-vending: 0/5 slots held, 0 waiting');
    expect(lines).toHaveLength(7);
  });
});

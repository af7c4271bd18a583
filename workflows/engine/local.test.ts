import { describe, expect, it } from 'vitest';
import type { OperationClaims } from '../../core/registry/claims.js';
import type { Operation } from '../../core/registry/records.js';
import type { Registry } from '../../core/registry/registry.js';
import { LocalEngine } from './local.js';

const operation = {
  operationId: 'op_01M82Z0000000000000000000A',
  tenantId: 't_01M82Z0000000000000000000A',
  type: 'suspend',
  status: 'RUNNING',
  steps: [],
  actor: 'test',
  input: {},
  version: 0,
  createdAt: '2026-11-23T00:00:00.000Z',
  updatedAt: '2026-11-23T00:00:00.000Z',
} as Operation;

/** Claims whose heartbeat succeeds while `alive` holds; every claim is granted. */
function fakeClaims() {
  const fake = {
    runnerId: 'run_test',
    ttlSeconds: 3,
    alive: true,
    beats: 0,
    async heartbeat() {
      fake.beats++;
      if (!fake.alive) throw new Error('registry unreachable');
    },
    async claim() {
      return true;
    },
    async retire() {},
  };
  return fake;
}

const until = async (check: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return check();
};

describe('LocalEngine with operation claims', () => {
  it('keeps running while its heartbeat is recorded, and stops what it runs once it cannot be', async () => {
    const claims = fakeClaims();
    const registry = {
      listOpenOperations: async () => [],
      getOperation: async () => operation,
    } as unknown as Registry;
    const engine = new LocalEngine({
      registry,
      // A task that never ends: the execution runs until stopped.
      runTask: () => new Promise(() => undefined),
      pollMs: 10,
      claims: claims as unknown as OperationClaims,
    });
    try {
      expect(await engine.start(operation)).toBe(true);
      expect(await engine.start(operation)).toBe(false); // runs already
      expect(await until(() => claims.beats >= 3, 5000)).toBe(true);
      expect(engine.runsHere(operation.operationId)).toBe(true);
      claims.alive = false;
      expect(await until(() => !engine.runsHere(operation.operationId), 6000)).toBe(true);
    } finally {
      await engine.close();
    }
  });
});

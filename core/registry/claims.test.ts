import { beforeAll, describe, expect, it } from 'vitest';
import { testClaims, testClients, testRegistry } from '../../test/support/aws.js';
import type { OperationClaims, OperationClaimsOptions } from './claims.js';
import type { Registry } from './registry.js';

const clients = testClients();
let registry: Registry;
let now = new Date('2026-11-23T00:00:00Z');
const clock = () => now;

beforeAll(async () => {
  registry = await testRegistry(clients);
});

const runner = (extra: Partial<OperationClaimsOptions> = {}) => testClaims(clients, registry, clock, extra);

let n = 0;
async function openOperation(holder?: OperationClaims): Promise<string> {
  n++;
  const { operation } = await registry.createTenant(
    {
      slug: `claim-${n}`,
      name: `Claim ${n}`,
      tier: 'basic',
      isolation: 'pool',
      adminEmail: `a@claim-${n}.example.com`,
      region: 'us-east-1',
    },
    { actor: 'test', ...(holder ? { runner: holder.runnerId } : {}) },
  );
  return operation.operationId;
}
const holderOf = async (id: string) => (await registry.requireOperation(id)).runner;

describe('operation claims', () => {
  it('one of two runners takes an unclaimed operation; the other leaves it while the first lives', async () => {
    const a = runner();
    const b = runner({ host: 'host-b' });
    await Promise.all([a.heartbeat(), b.heartbeat()]);
    const id = await openOperation();
    const won = await Promise.all([a.claim(id, undefined), b.claim(id, undefined)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    const holder = won[0] ? a : b;
    const other = won[0] ? b : a;
    expect(await holderOf(id)).toBe(holder.runnerId);
    expect(await other.claim(id, holder.runnerId)).toBe(false);
    expect(await holder.claim(id, holder.runnerId)).toBe(true);
  });

  it('a runner whose heartbeat lapsed loses its operations to the next that asks', async () => {
    const a = runner();
    const b = runner({ host: 'host-b' });
    await a.heartbeat();
    const id = await openOperation(a);
    await b.heartbeat();
    expect(await b.claim(id, a.runnerId)).toBe(false);
    now = new Date(now.getTime() + 31_000);
    await b.heartbeat();
    expect(await b.claim(id, a.runnerId)).toBe(true);
    expect(await holderOf(id)).toBe(b.runnerId);
    // A takeover is conditioned on the holder read: a stale reader cannot take it back.
    const c = runner({ host: 'host-c' });
    expect(await c.claim(id, a.runnerId)).toBe(false);
  });

  it('a runner that retired, or a dead process on this host, is taken over at once', async () => {
    const retired = runner();
    await retired.heartbeat();
    const first = await openOperation(retired);
    await retired.retire();
    expect(await runner().claim(first, retired.runnerId)).toBe(true);

    const crashed = runner({ pid: 4242 });
    await crashed.heartbeat();
    const second = await openOperation(crashed);
    const sameHost = runner({ pid: 5000, isProcessAlive: (pid) => pid !== 4242 });
    const otherHost = runner({ host: 'host-b', isProcessAlive: (pid) => pid !== 4242 });
    expect(await otherHost.claim(second, crashed.runnerId)).toBe(false);
    expect(await sameHost.claim(second, crashed.runnerId)).toBe(true);
  });

  it('an ended operation cannot be claimed', async () => {
    const a = runner();
    const id = await openOperation();
    await registry.finishOperation({
      operationId: id,
      outcome: 'failed',
      error: { code: 'X', message: 'x' },
    });
    expect(await a.claim(id, undefined)).toBe(false);
  });
});

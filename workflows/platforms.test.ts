import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../core/aws/clients.js';
import { LeaseGate } from '../core/registry/leases.js';
import type { Registry } from '../core/registry/registry.js';
import type { PlatformOutputs } from '../templates/index.js';
import { testClients, testRegistry } from '../test/support/aws.js';
import { platformGateName, RegionalPlatforms } from './platforms.js';

/** The lease that makes a new region's platform deployed once, across processes and crashes. */

const homePlatform = { stackName: 'home' } as PlatformOutputs;

function platformsOn(
  registry: Registry,
  clients: AwsClients,
  ensure: (clients: AwsClients) => Promise<PlatformOutputs>,
  leaseSeconds = 900,
): RegionalPlatforms {
  return new RegionalPlatforms({
    home: { region: 'us-east-1', platform: () => homePlatform },
    clients,
    ensure,
    read: async () => ({ stackName: 'read' }) as PlatformOutputs,
    lease: { documents: clients.documents, tableName: registry.tableName },
    leaseSeconds,
    pollMs: 20,
  });
}

/** An open onboard operation's lease owner: a holder the lease's sweep must not take for ended. */
async function openOwner(registry: Registry, slug: string): Promise<string> {
  const { operation } = await registry.createTenant(
    {
      slug,
      name: slug,
      tier: 'basic',
      isolation: 'pool',
      adminEmail: `a@${slug}.example.com`,
      region: 'eu-west-1',
      allowedPrincipals: [],
    },
    { actor: 'test', input: { tier: 'basic' } },
  );
  return `${operation.operationId}/platform`;
}

describe('RegionalPlatforms', () => {
  it('home is the start-up platform; another region gets clients of that region', async () => {
    const clients = testClients();
    const registry = await testRegistry(clients);
    const platforms = platformsOn(registry, clients, async () => {
      throw new Error('not called');
    });
    expect(await platforms.ensure(undefined, 'op_a/platform')).toBe(homePlatform);
    expect(await platforms.ensure('us-east-1', 'op_a/platform')).toBe(homePlatform);
    expect(platforms.clients(undefined)).toBe(clients);
    expect(await platforms.clients('eu-west-1').cloudformation.config.region()).toBe('eu-west-1');
    expect(platforms.clients('eu-west-1')).toBe(platforms.clients('eu-west-1'));
  });

  it('two processes ensuring a new region at once deploy it once: the second waits, then finds it', async () => {
    const clients = testClients();
    const registry = await testRegistry(clients);
    let deployed = false;
    const calls: { region: string; deployedBefore: boolean }[] = [];
    let inFlight = 0;
    let most = 0;
    const ensure = async (c: AwsClients) => {
      inFlight++;
      most = Math.max(most, inFlight);
      calls.push({ region: await c.cloudformation.config.region(), deployedBefore: deployed });
      await new Promise((r) => setTimeout(r, 300));
      deployed = true;
      inFlight--;
      return { stackName: 'eu' } as PlatformOutputs;
    };
    const a = platformsOn(registry, clients, ensure);
    const b = platformsOn(registry, clients, ensure);
    const [first, second] = [await openOwner(registry, 'first'), await openOwner(registry, 'second')];
    const [pa, pb] = await Promise.all([a.ensure('eu-west-1', first), b.ensure('eu-west-1', second)]);
    expect([pa.stackName, pb.stackName]).toEqual(['eu', 'eu']);
    // Never two at once; the one that waited found the platform deployed (ensurePlatform is then a no-op).
    expect(most).toBe(1);
    expect(calls.map((c) => c.region)).toEqual(['eu-west-1', 'eu-west-1']);
    expect(calls.filter((c) => !c.deployedBefore)).toHaveLength(1);
    // The lease is released after each.
    const gate = new LeaseGate(
      { documents: clients.documents, tableName: registry.tableName },
      platformGateName('eu-west-1'),
      1,
      900,
    );
    expect(await gate.holders()).toEqual([]);
    // Kept for the process: no second call.
    await a.ensure('eu-west-1', 'op_03/platform');
    expect(calls).toHaveLength(2);
  });

  it('a holder killed mid-deployment leaves nothing stuck: the next one takes the lease once it expires', async () => {
    const clients = testClients();
    const registry = await testRegistry(clients);
    const lease = { documents: clients.documents, tableName: registry.tableName };
    // A process took the lease for an operation still open (to be resumed), then died (SIGKILL):
    // no release, no end of its operation. Its lease runs out after leaseSeconds.
    const gate = new LeaseGate(
      { ...lease, operationEnded: async () => false },
      platformGateName('eu-west-1'),
      1,
      2,
    );
    const dead = await openOwner(registry, 'crashed');
    expect((await gate.acquire(dead, new Date().toISOString())).acquired).toBe(true);
    let calls = 0;
    const platforms = platformsOn(
      registry,
      clients,
      async () => {
        calls++;
        return { stackName: 'eu' } as PlatformOutputs;
      },
      2,
    );
    const t0 = Date.now();
    expect((await platforms.ensure('eu-west-1', await openOwner(registry, 'next'))).stackName).toBe('eu');
    expect(calls).toBe(1);
    // It waited for the dead holder's lease to run out (about 2 s), not forever.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a region read first is still ensured by the first step there (a new template version reaches it)', async () => {
    const clients = testClients();
    const registry = await testRegistry(clients);
    let ensured = 0;
    const platforms = platformsOn(registry, clients, async () => {
      ensured++;
      return { stackName: 'eu' } as PlatformOutputs;
    });
    expect((await platforms.read('eu-west-1')).stackName).toBe('read');
    expect((await platforms.ensure('eu-west-1', await openOwner(registry, 'reader'))).stackName).toBe('eu');
    expect(ensured).toBe(1);
    // Once ensured, reads get the ensured platform.
    expect((await platforms.read('eu-west-1')).stackName).toBe('eu');
  });

  it('a failed deployment is not kept: the next caller tries again', async () => {
    const clients = testClients();
    const registry = await testRegistry(clients);
    let calls = 0;
    const platforms = platformsOn(registry, clients, async () => {
      calls++;
      if (calls === 1) throw new Error('CreateStack failed');
      return { stackName: 'eu' } as PlatformOutputs;
    });
    await expect(platforms.ensure('eu-west-1', 'op_a/platform')).rejects.toThrow('CreateStack failed');
    expect((await platforms.ensure('eu-west-1', 'op_b/platform')).stackName).toBe('eu');
    expect(calls).toBe(2);
  });
});

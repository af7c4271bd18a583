import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { readGate } from '../../core/registry/leases.js';
import type { Operation } from '../../core/registry/records.js';
import { platformStackName } from '../../templates/index.js';
import { platformGateName } from '../../workflows/platforms.js';
import { onboardBody, waitForOperation } from './support/control-plane.js';
import { crashSetup } from './support/crash.js';

/**
 * A control plane SIGKILLed while it deploys a new region's platform (the first onboarding into
 * eu-west-1) leaves nothing stuck: started again, it resumes the onboarding, which takes its own
 * lease back, finds or finishes the platform, and the tenant ends ACTIVE in eu-west-1 with the
 * lease free.
 */

const EU = 'eu-west-1';
const crash = crashSetup('region-crash', { ALLOWED_REGIONS: `us-east-1,${EU}` });
const { verify, registry, registryTable, prefix, api } = crash;
const eu = verify.forRegion(EU);
const gate = platformGateName(EU);

const leaseHolders = async (): Promise<string[]> =>
  (await readGate(verify.documents, registryTable, gate))
    .filter((i) => i.sk.startsWith('SLOT#') && i.owner)
    .map((i) => i.owner!);

async function platformStatus(): Promise<string | undefined> {
  try {
    const out = await eu.cloudformation.send(
      new DescribeStacksCommand({ StackName: platformStackName(prefix) }),
    );
    return out.Stacks?.[0]?.StackStatus;
  } catch {
    return undefined;
  }
}

describe('SIGKILL while a new region’s platform is being deployed', () => {
  it('the resumed onboarding takes its lease back and the tenant ends ACTIVE in eu-west-1', async () => {
    const child = await crash.start();
    const answer = await api('POST', '/v1/tenants', { ...onboardBody('crash-eu'), region: EU });
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    const operationId = (answer.json.operation as Operation).operationId;

    // Killed as soon as the lease is taken: the platform deployment is under way.
    const deadline = Date.now() + 60_000;
    let held = await leaseHolders();
    while (held.length === 0) {
      if (Date.now() > deadline) throw new Error(`no lease ${gate} taken:\n${child.output()}`);
      await new Promise((r) => setTimeout(r, 5));
      held = await leaseHolders();
    }
    await crash.stop('SIGKILL');
    expect(held).toEqual([`${operationId}/platform`]);
    const op = await registry.requireOperation(operationId);
    console.info(
      `region-crash: killed with the platform stack ${(await platformStatus()) ?? 'not yet asked for'}, operation ${op.status}`,
    );
    // The dead process's lease is still there, owned by the open operation: nothing released it.
    expect(op.status).not.toBe('SUCCEEDED');

    await crash.start();
    const done = await waitForOperation((id) => registry.requireOperation(id), operationId, 90_000, 100);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    const tenant = await registry.requireTenant('crash-eu');
    expect(tenant.state).toBe('ACTIVE');
    expect(tenant.region).toBe(EU);
    expect(tenant.stacks[0]?.arn.split(':')[3]).toBe(EU);
    expect(await platformStatus()).toBe('CREATE_COMPLETE');
    expect(await leaseHolders()).toEqual([]);

    // The next onboarding into the region finds the platform: no wait, no lease left behind.
    const next = await api('POST', '/v1/tenants', { ...onboardBody('after-eu'), region: EU });
    expect(next.status).toBe(202);
    const after = await waitForOperation(
      (id) => registry.requireOperation(id),
      (next.json.operation as Operation).operationId,
      60_000,
      100,
    );
    expect(after.status, JSON.stringify(after.error)).toBe('SUCCEEDED');
    expect(await leaseHolders()).toEqual([]);
    await crash.stop('SIGTERM');
  });
});

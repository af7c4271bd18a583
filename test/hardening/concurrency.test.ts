import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import {
  type HardenedControlPlane,
  onboardBody,
  startHardenedControlPlane,
} from './support/control-plane.js';
import { footprint } from './support/moto.js';

/**
 * Conflicting operations on one tenant sent at once over HTTP: exactly one is accepted (202), the
 * others are refused with 409 OPERATION_IN_PROGRESS or INVALID_STATE_TRANSITION, and the registry
 * stays consistent: one open operation, the tenant's state is that operation's, and the audit trail
 * records one operation.started for the race.
 */

let h: HardenedControlPlane;
let tenant: Tenant;
const REFUSALS = ['OPERATION_IN_PROGRESS', 'INVALID_STATE_TRANSITION'];
// A change-tier whose read is stale because the winner already finished is told VERSION_CONFLICT
// (read again); tolerated in the races, where the timing decides. The regression it was
// (docs/hardening.md: VERSION_CONFLICT while the winner was in flight) is pinned by the last test.
const TOLERATED = [...REFUSALS, 'VERSION_CONFLICT'];
const DURING: Record<string, string> = {
  suspend: 'SUSPENDING',
  'change-tier': 'UPDATING',
  offboard: 'OFFBOARDING',
};
const AFTER: Record<string, string> = {
  suspend: 'SUSPENDED',
  'change-tier': 'ACTIVE',
  offboard: 'OFFBOARDED',
};

beforeAll(async () => {
  h = await startHardenedControlPlane();
  const answers = await Promise.all(
    ['race', 'race-read'].map((slug) =>
      h.call({ method: 'POST', url: '/v1/tenants', payload: onboardBody(slug) }),
    ),
  );
  const ops = await Promise.all(answers.map((a) => h.waitForOperation(a.json().operation.operationId)));
  expect(ops.map((o) => o.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  tenant = await h.cp.aws.registry.requireTenant('race');
});
afterAll(async () => h?.close());

/** A request of the race; `tier` is the tenant's current tier, read before the race starts. */
type Request = (tier: string) => Promise<LightMyRequestResponse>;
const suspend: Request = () =>
  h.call({ method: 'POST', url: `/v1/tenants/${tenant.tenantId}/suspend`, payload: { reason: 'race' } });
const changeTier: Request = (tier) =>
  h.call({
    method: 'POST',
    url: `/v1/tenants/${tenant.slug}/tier`,
    payload: { tier: tier === 'basic' ? 'standard' : 'basic' },
  });
const offboard: Request = () => h.call({ method: 'DELETE', url: `/v1/tenants/${tenant.tenantId}` });

/** Sends the requests at once; checks one 202, the rest catalogued 409s, and the registry's state. */
async function race(requests: Request[]): Promise<Operation> {
  const eventsBefore = (await h.events(tenant.tenantId)).length;
  const { tier } = await h.cp.aws.registry.requireTenant(tenant.tenantId);
  const answers = await Promise.all(requests.map((r) => r(tier)));
  const accepted = answers.filter((a) => a.statusCode === 202);
  const refused = answers.filter((a) => a.statusCode !== 202);
  const summary = answers.map(
    (a) => `${a.statusCode} ${a.statusCode === 202 ? a.json().operation.type : a.json().error?.code}`,
  );
  console.info(`concurrency: ${summary.join(', ')}`);
  expect(accepted, summary.join(', ')).toHaveLength(1);
  for (const r of refused) {
    expect(r.statusCode, summary.join(', ')).toBe(409);
    expect(TOLERATED, summary.join(', ')).toContain(r.json().error.code);
  }
  const winner = accepted[0]!.json().operation as Operation;

  // Right after the race: the winner owns the tenant (or has finished), nothing else is open.
  const open = (await h.cp.aws.registry.listOpenOperations()).filter((o) => o.tenantId === tenant.tenantId);
  expect(open.map((o) => o.operationId).filter((id) => id !== winner.operationId)).toEqual([]);
  const now = await h.cp.aws.registry.requireTenant(tenant.tenantId);
  if (now.currentOperationId) {
    expect(now.currentOperationId).toBe(winner.operationId);
    expect(now.state).toBe(DURING[winner.type]);
  }
  const newEvents = (await h.events(tenant.tenantId)).slice(eventsBefore);
  expect(newEvents.filter((e) => e.action === 'operation.started').map((e) => e.operationId)).toEqual([
    winner.operationId,
  ]);

  const done = await h.waitForOperation(winner.operationId);
  expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
  const after = await h.cp.aws.registry.requireTenant(tenant.tenantId);
  expect(after.state).toBe(AFTER[winner.type]);
  expect(after.currentOperationId).toBeUndefined();
  return done;
}

/** Back to ACTIVE for the next race, whatever the last one left running. */
async function reset(): Promise<void> {
  const open = (await h.cp.aws.registry.listOpenOperations()).filter((o) => o.tenantId === tenant.tenantId);
  for (const o of open) await h.waitForOperation(o.operationId);
  if ((await h.cp.aws.registry.requireTenant(tenant.tenantId)).state !== 'SUSPENDED') return;
  const answer = await h.call({ method: 'POST', url: `/v1/tenants/${tenant.tenantId}/resume` });
  expect((await h.waitForOperation(answer.json().operation.operationId)).status).toBe('SUCCEEDED');
}

describe('conflicting operations on one tenant at once', () => {
  it.each([
    ['suspend, change-tier', [suspend, changeTier]],
    ['change-tier, suspend', [changeTier, suspend]],
  ] as const)('%s: one 202, one 409, registry consistent', async (_, requests) => {
    try {
      await race([...requests]);
    } finally {
      await reset();
    }
  });

  it('five suspends without an Idempotency-Key: one 202, four 409s', async () => {
    try {
      await race(Array.from({ length: 5 }, () => suspend));
    } finally {
      await reset();
    }
  });

  it('suspend, change-tier and offboard at once: one 202, two 409s; the resources match the winner', async () => {
    const done = await race([suspend, changeTier, offboard, changeTier, suspend]);
    const now = await h.cp.aws.registry.requireTenant(tenant.tenantId);
    const moto = await footprint(h.cp.aws.clients, h.config.resourcePrefix, h.cp.platform.userPoolId, now);
    if (done.type === 'offboard') expect(moto).toEqual({ stacks: [], users: undefined, apiKeys: 0 });
    else
      expect(moto).toEqual({
        stacks: [expect.stringMatching(/^(CREATE|UPDATE)_COMPLETE$/)],
        users: [`race-admin${done.type === 'suspend' ? ' (disabled)' : ''}`],
        apiKeys: 1,
      });
    // Every operation the tenant ever ran started once and ended once.
    const events = await h.events(tenant.tenantId);
    const startedIds = events.filter((e) => e.action === 'operation.started').map((e) => e.operationId);
    const endedIds = events
      .filter((e) => e.action === 'operation.succeeded' || e.action === 'operation.failed')
      .map((e) => e.operationId);
    expect(new Set(startedIds).size).toBe(startedIds.length);
    expect(endedIds).toEqual(startedIds);
  });
});

describe('regression (docs/hardening.md): the loser of a race learns why', () => {
  // lifecycle.changeTier reads the tenant, then registry.startOperation checks expectedVersion
  // before currentOperationId: when another operation started in between, the answer is
  // VERSION_CONFLICT ("read it again and retry") instead of OPERATION_IN_PROGRESS naming it.
  it('a change-tier that read the tenant just before a suspension started is refused with OPERATION_IN_PROGRESS', async () => {
    const registry = h.cp.aws.registry;
    const read = await registry.requireTenant('race-read'); // what lifecycle.changeTier read
    const suspension = await registry.startOperation(read.tenantId, 'suspend', {
      actor: 'test',
      input: { reason: 'race' },
    });
    await h.cp.workflows.engine.start(suspension.operation);
    try {
      await expect(
        registry.startOperation(read.tenantId, 'change-tier', {
          actor: 'test',
          expectedVersion: read.version,
          input: { tier: 'standard', fromTier: read.tier },
        }),
      ).rejects.toMatchObject({ code: 'OPERATION_IN_PROGRESS' });
    } finally {
      await h.waitForOperation(suspension.operation.operationId);
    }
  });
});

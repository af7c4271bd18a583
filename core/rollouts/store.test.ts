import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { testClients, testRegistry } from '../../test/support/aws.js';
import { newRolloutId, newTenantId } from '../ids.js';
import { rolloutKey, rolloutPlanKey } from '../registry/keys.js';
import { newRollout, type Rollout } from './records.js';
import { RolloutStore } from './store.js';

const clients = testClients();
let store: RolloutStore;
let tableName: string;

beforeAll(async () => {
  tableName = (await testRegistry(clients)).tableName;
  store = new RolloutStore({ db: clients.documents, tableName, clock: () => new Date() });
});

const rollout = (tenants: number, extra: Partial<Rollout> = {}): Rollout => {
  const ids = Array.from({ length: tenants }, () => newTenantId());
  return newRollout({
    rolloutId: newRolloutId(),
    request: {},
    targets: { pool: 'aaaaaaaaaaaa' },
    waves: [
      { name: 'canary', canary: true, tenantIds: ids.slice(0, 1) },
      { name: 'wave-1', canary: false, tenantIds: ids.slice(1) },
    ],
    onFailure: 'pause',
    maxConcurrency: 5,
    budget: 2,
    bakeSeconds: 0,
    canaryBakeSeconds: 0,
    actor: 'test',
    createdAt: new Date().toISOString(),
    ...extra,
  });
};

const raw = async (key: { pk: string; sk: string }) =>
  (await clients.documents.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true })))
    .Item;

describe('RolloutStore (moto)', () => {
  it('keeps what grows with the tenants in the plan item; the record every admission rewrites stays small', async () => {
    const r = rollout(500);
    const targets = Object.fromEntries(r.waves[1]!.tenantIds.map((id) => [id, 'bbbbbbbbbbbb']));
    const rollback = { ...r, tenantTargets: targets };
    await store.create(rollback, await store.guardRevision());
    const record = (await raw(rolloutKey(r.rolloutId)))!;
    expect(JSON.stringify(record).length).toBeLessThan(2_000);
    expect(record.waves).toEqual([
      { name: 'canary', canary: true },
      { name: 'wave-1', canary: false },
    ]);
    expect(record.tenantTargets).toBeUndefined();
    const plan = (await raw(rolloutPlanKey(r.rolloutId)))!;
    expect(plan.tenantIds).toEqual(r.waves.map((w) => w.tenantIds));
    expect(plan.tenantTargets).toEqual(targets);
    // Read back whole, and still whole after a change to the record.
    expect(await store.require(r.rolloutId)).toEqual(rollback);
    const changed = await store.update(r.rolloutId, () => ({ maxConcurrency: 9 }));
    expect(changed.waves).toEqual(r.waves);
    const again = await store.require(r.rolloutId);
    expect(again).toMatchObject({ maxConcurrency: 9, waves: r.waves, tenantTargets: targets, version: 2 });
    expect((await raw(rolloutKey(r.rolloutId)))!.waves).toEqual(record.waves);
  });

  it('reads a record written before plans (its lists on the record itself)', async () => {
    const r = rollout(3);
    const { counts, ...rest } = r;
    await clients.documents.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...rolloutKey(r.rolloutId),
          kind: 'rollout',
          ...rest,
          c_inflight: counts.inflight,
          c_succeeded: 0,
          c_failed: 0,
          c_exposure: 0,
        },
      }),
    );
    expect(await store.require(r.rolloutId)).toEqual(r);
    const view = await store.itemView(r.rolloutId, r.waves[0]!.tenantIds[0]!);
    expect(view.rollout).toEqual(r);
    // Its first change moves the lists to a plan item, losing none.
    await store.update(r.rolloutId, () => ({ maxConcurrency: 7 }));
    expect((await raw(rolloutKey(r.rolloutId)))!.waves).toEqual([
      { name: 'canary', canary: true },
      { name: 'wave-1', canary: false },
    ]);
    expect((await raw(rolloutPlanKey(r.rolloutId)))!.tenantIds).toEqual(r.waves.map((w) => w.tenantIds));
    expect(await store.require(r.rolloutId)).toMatchObject({ maxConcurrency: 7, waves: r.waves });
  });
});

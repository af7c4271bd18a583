import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cancelledItems, isConditionFailed } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import { fromTenantItem } from '../registry/codec.js';
import type { RegistryIo } from '../registry/io.js';
import { nowIso } from '../registry/io.js';
import type { ItemKey } from '../registry/keys.js';
import {
  ROLLOUT_GUARD,
  ROLLOUT_TENANT_PREFIX,
  ROLLOUTS_PK,
  rolloutEntryKey,
  rolloutKey,
  rolloutPlanKey,
  rolloutTenantKey,
  tenantKey,
} from '../registry/keys.js';
import type { Tenant } from '../registry/records.js';
import { type TransactItem, transact } from '../registry/transact-items.js';
import { assertRolloutTransition, isRolloutEnded, PROGRESS_COUNTS, type RolloutStatus } from './lifecycle.js';
import {
  type Rollout,
  type RolloutCounts,
  RolloutSchema,
  type RolloutTenant,
  RolloutTenantSchema,
} from './records.js';

/**
 * Rollouts in the registry table (item kinds rollout, rollout-tenant, rollout-entry,
 * rollout-guard; core/registry/keys.ts). The record holds the plan and the config; its counters
 * (`c_*` attributes) move with single conditional updates, so admission under the strict budget
 * is atomic however many updates run at once. A tenant's progress and the counters it moves are
 * written in one transaction: a crash never counts a tenant twice.
 */

const COUNTERS = ['inflight', 'succeeded', 'failed', 'exposure'] as const;

/**
 * The record without what grows with its tenants (the waves' lists, a rollback's per-tenant
 * versions): those are the plan item, written once, so the record every admission and end
 * rewrites stays small however many tenants the rollout holds.
 */
function toItem(r: Rollout): Record<string, unknown> {
  const { counts, ...rest } = recordFields(r);
  return {
    ...rolloutKey(r.rolloutId),
    kind: 'rollout',
    ...rest,
    ...Object.fromEntries(COUNTERS.map((c) => [`c_${c}`, counts[c]])),
  };
}

function recordFields(r: Rollout): Omit<Rollout, 'tenantTargets'> {
  const { tenantTargets: _targets, ...rest } = r;
  return { ...rest, waves: r.waves.map(({ tenantIds: _ids, ...w }) => w) as Rollout['waves'] };
}

const planOf = (r: Rollout) => ({
  ...rolloutPlanKey(r.rolloutId),
  kind: 'rollout-plan',
  tenantIds: r.waves.map((w) => w.tenantIds),
  ...(r.tenantTargets ? { tenantTargets: r.tenantTargets } : {}),
});

/** The rollout from its record and plan (a record written before plans kept its lists itself). */
function fromItem(item: Record<string, unknown>, plan?: Record<string, unknown>): Rollout {
  const { pk: _pk, sk: _sk, kind: _kind, ...rest } = item;
  const counts = Object.fromEntries(COUNTERS.map((c) => [c, Number(rest[`c_${c}`] ?? 0)])) as RolloutCounts;
  for (const c of COUNTERS) delete rest[`c_${c}`];
  const lists = plan?.tenantIds as string[][] | undefined;
  const waves = (rest.waves as Record<string, unknown>[] | undefined)?.map((w, i) => ({
    ...w,
    tenantIds: lists?.[i] ?? w.tenantIds,
  }));
  const tenantTargets = plan?.tenantTargets ?? rest.tenantTargets;
  return RolloutSchema.parse({
    ...rest,
    ...(waves ? { waves } : {}),
    ...(tenantTargets ? { tenantTargets } : {}),
    counts,
  });
}

const entryOf = (r: Rollout) => ({
  ...rolloutEntryKey(r.rolloutId),
  kind: 'rollout-entry',
  rolloutId: r.rolloutId,
  status: r.status,
  createdAt: r.createdAt,
});

export interface RolloutEntry {
  readonly rolloutId: string;
  readonly status: RolloutStatus;
  readonly createdAt: string;
}

export type AdmitResult = 'admitted' | 'refused' | 'already';

/** What the admission's failed conditions (indexes into `admission()`) mean; undefined for none. */
export function admissionResult(cancelled: readonly number[]): Exclude<AdmitResult, 'admitted'> | undefined {
  if (cancelled.includes(1)) return 'already';
  if (cancelled.includes(0)) return 'refused';
  return undefined;
}

/** What a rollout item reads when polled: its progress, its tenant and, when asked, the record. */
export interface ItemView {
  readonly rollout?: Rollout;
  readonly progress?: RolloutTenant;
  readonly tenant?: Tenant;
}

export class RolloutStore {
  constructor(private readonly io: RegistryIo) {}

  private now(): string {
    return nowIso(this.io);
  }

  /** The overlap guard's revision: a create is written only if no other create came in between. */
  async guardRevision(): Promise<number> {
    const out = await this.io.db.send(new GetCommand({ TableName: this.io.tableName, Key: ROLLOUT_GUARD }));
    return Number(out.Item?.rev ?? 0);
  }

  /** Writes a new rollout; ROLLOUT_CONFLICT when another was created since `guardRevision` was read. */
  async create(rollout: Rollout, guardRevision: number): Promise<void> {
    try {
      await transact(this.io, [
        {
          Update: {
            TableName: this.io.tableName,
            Key: ROLLOUT_GUARD,
            UpdateExpression: 'SET rev = :next, kind = :kind',
            ConditionExpression: 'attribute_not_exists(rev) OR rev = :rev',
            ExpressionAttributeValues: {
              ':next': guardRevision + 1,
              ':rev': guardRevision,
              ':kind': 'rollout-guard',
            },
          },
        },
        {
          Put: {
            TableName: this.io.tableName,
            Item: toItem(rollout),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        { Put: { TableName: this.io.tableName, Item: planOf(rollout) } },
        { Put: { TableName: this.io.tableName, Item: entryOf(rollout) } },
      ]);
    } catch (e) {
      if (cancelledItems(e).length > 0)
        throw new ControlPlaneError(
          'ROLLOUT_CONFLICT',
          'another rollout was created at the same time; retry (its tenants may overlap)',
          { cause: e },
        );
      throw e;
    }
  }

  /** The record and its plan, in one consistent read. */
  async get(rolloutId: string): Promise<Rollout | undefined> {
    return (await this.read(rolloutId))?.rollout;
  }

  private async read(rolloutId: string): Promise<{ rollout: Rollout; planned: boolean } | undefined> {
    const [record, plan] = await this.getItems([rolloutKey(rolloutId), rolloutPlanKey(rolloutId)]);
    return record ? { rollout: fromItem(record, plan), planned: plan !== undefined } : undefined;
  }

  /** Items by key in one consistent BatchGetItem (its unprocessed keys asked again), in key order. */
  private async getItems(wanted: readonly ItemKey[]): Promise<(Record<string, unknown> | undefined)[]> {
    const items: Record<string, unknown>[] = [];
    let keys: Record<string, unknown>[] = wanted.map((k) => ({ ...k }));
    for (let attempt = 0; keys.length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
      const out = await this.io.db.send(
        new BatchGetCommand({
          RequestItems: { [this.io.tableName]: { Keys: keys, ConsistentRead: true } },
        }),
      );
      items.push(...(out.Responses?.[this.io.tableName] ?? []));
      keys = (out.UnprocessedKeys?.[this.io.tableName]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
    return wanted.map((k) => items.find((i) => i.pk === k.pk && i.sk === k.sk));
  }

  async require(rolloutId: string): Promise<Rollout> {
    const r = await this.get(rolloutId);
    if (!r) throw new ControlPlaneError('ROLLOUT_NOT_FOUND', `no rollout ${rolloutId}`);
    return r;
  }

  /** Every rollout's list entry, newest first. */
  async entries(): Promise<RolloutEntry[]> {
    const entries: RolloutEntry[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.io.db.send(
        new QueryCommand({
          TableName: this.io.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ro)',
          ExpressionAttributeValues: { ':pk': ROLLOUTS_PK, ':ro': 'ro_' },
          ScanIndexForward: false,
          ExclusiveStartKey: start,
        }),
      );
      for (const i of out.Items ?? [])
        entries.push({
          rolloutId: String(i.rolloutId),
          status: i.status as RolloutStatus,
          createdAt: String(i.createdAt),
        });
      start = out.LastEvaluatedKey;
    } while (start);
    return entries;
  }

  /**
   * Changes the record's config or status (read-modify-write on its version; counters untouched).
   * A status change must be allowed by the lifecycle; ROLLOUT_CONFLICT after repeated lost races.
   */
  async update(
    rolloutId: string,
    change: (r: Rollout) => Partial<Omit<Rollout, 'rolloutId' | 'counts' | 'version'>> | undefined,
  ): Promise<Rollout> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const read = await this.read(rolloutId);
      if (!read) throw new ControlPlaneError('ROLLOUT_NOT_FOUND', `no rollout ${rolloutId}`);
      const current = read.rollout;
      const patch = change(current);
      if (!patch) return current;
      if (patch.status && patch.status !== current.status)
        assertRolloutTransition(current.status, patch.status, rolloutId);
      const at = this.now();
      const ending = patch.status && isRolloutEnded(patch.status);
      const next: Rollout = {
        ...current,
        ...patch,
        version: current.version + 1,
        updatedAt: at,
        ...(ending ? { endedAt: at } : {}),
      };
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':v': current.version };
      const sets: string[] = [];
      const removes: string[] = [];
      // The plan's fields are not the record's: written once, with the rollout.
      Object.entries(recordFields(next)).forEach(([k, v], i) => {
        if (k === 'rolloutId' || k === 'counts') return;
        names[`#a${i}`] = k;
        if (v === undefined) removes.push(`#a${i}`);
        else {
          sets.push(`#a${i} = :a${i}`);
          values[`:a${i}`] = v;
        }
      });
      try {
        await transact(this.io, [
          {
            Update: {
              TableName: this.io.tableName,
              Key: rolloutKey(rolloutId),
              UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { ...names, '#v': 'version' },
              ExpressionAttributeValues: values,
            },
          },
          { Put: { TableName: this.io.tableName, Item: entryOf(next) } },
          // A record written before plans gets its plan as its lists leave it.
          ...(read.planned
            ? []
            : [
                {
                  Put: {
                    TableName: this.io.tableName,
                    Item: planOf(next),
                    ConditionExpression: 'attribute_not_exists(pk)',
                  },
                },
              ]),
        ]);
        return { ...next, counts: current.counts };
      } catch (e) {
        if (cancelledItems(e).length === 0 && !isConditionFailed(e)) throw e;
      }
    }
    throw new ControlPlaneError(
      'ROLLOUT_CONFLICT',
      `rollout ${rolloutId} kept changing; read it again and retry`,
    );
  }

  /**
   * The rollout, the tenant's progress in it and the tenant, in one consistent BatchGetItem: what a
   * rollout item reads each time it is polled (three reads were three requests per poll). Without
   * `withRollout` the record, a rollout's largest item (its waves' tenant lists), is not read.
   */
  async itemView(rolloutId: string, tenantId: string): Promise<ItemView & { rollout: Rollout }>;
  async itemView(rolloutId: string, tenantId: string, withRollout: false): Promise<ItemView>;
  async itemView(rolloutId: string, tenantId: string, withRollout = true): Promise<ItemView> {
    const [progress, tenant, record, plan] = await this.getItems([
      rolloutTenantKey(rolloutId, tenantId),
      tenantKey(tenantId),
      ...(withRollout ? [rolloutKey(rolloutId), rolloutPlanKey(rolloutId)] : []),
    ]);
    if (withRollout && !record) throw new ControlPlaneError('ROLLOUT_NOT_FOUND', `no rollout ${rolloutId}`);
    return {
      ...(record ? { rollout: fromItem(record, plan) } : {}),
      ...(progress ? { progress: RolloutTenantSchema.parse(strip(progress)) } : {}),
      ...(tenant ? { tenant: fromTenantItem(tenant) } : {}),
    };
  }

  async tenant(rolloutId: string, tenantId: string): Promise<RolloutTenant | undefined> {
    const out = await this.io.db.send(
      new GetCommand({
        TableName: this.io.tableName,
        Key: rolloutTenantKey(rolloutId, tenantId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? RolloutTenantSchema.parse(strip(out.Item)) : undefined;
  }

  /** Every tenant with progress in the rollout. */
  async tenants(rolloutId: string): Promise<RolloutTenant[]> {
    const items: RolloutTenant[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.io.db.send(
        new QueryCommand({
          TableName: this.io.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :t)',
          ExpressionAttributeValues: { ':pk': rolloutKey(rolloutId).pk, ':t': ROLLOUT_TENANT_PREFIX },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const i of out.Items ?? []) items.push(RolloutTenantSchema.parse(strip(i)));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Admits a tenant's update under the strict budget, atomically: the rollout is RUNNING on this
   * wave, fewer than maxConcurrency updates run and inflight + failed stays under the cap. The
   * tenant's progress becomes `running` in the same transaction. `already`: it runs or ended.
   */
  async admit(progress: RolloutTenant, wave: number): Promise<AdmitResult> {
    try {
      await transact(this.io, this.admission(progress, wave));
      return 'admitted';
    } catch (e) {
      const result = admissionResult(cancelledItems(e));
      if (result) return result;
      throw e;
    }
  }

  /**
   * The two writes of an admission (the counters under their conditions, the progress `running`),
   * for a transaction of the caller's: an update admitted in the transaction that starts it, so
   * admission and start are one request and cannot come apart. Read a cancellation with
   * `admissionResult`.
   */
  admission(progress: RolloutTenant, wave: number): TransactItem[] {
    return [
      {
        Update: {
          TableName: this.io.tableName,
          Key: rolloutKey(progress.rolloutId),
          UpdateExpression: 'SET c_inflight = c_inflight + :one, c_exposure = c_exposure + :one',
          ConditionExpression:
            '#s = :running AND currentWave = :wave AND c_inflight < maxConcurrency AND c_exposure < cap',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':one': 1, ':running': 'RUNNING', ':wave': wave },
        },
      },
      {
        Put: {
          TableName: this.io.tableName,
          Item: {
            ...rolloutTenantKey(progress.rolloutId, progress.tenantId),
            kind: 'rollout-tenant',
            ...progress,
            status: 'running',
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #s = :busy',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':busy': 'busy' },
        },
      },
    ];
  }

  /**
   * A tenant found busy before it was admitted: `busy`, tried again in a later pass. It moves no
   * counter. False when its progress is no longer open to that (another execution admitted it).
   */
  async markBusy(progress: RolloutTenant, error: RolloutTenant['error']): Promise<boolean> {
    try {
      await this.io.db.send(
        new PutCommand({
          TableName: this.io.tableName,
          Item: {
            ...rolloutTenantKey(progress.rolloutId, progress.tenantId),
            kind: 'rollout-tenant',
            ...progress,
            status: 'busy',
            busyPasses: progress.busyPasses + 1,
            ...(error ? { error } : {}),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #s = :busy',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':busy': 'busy' },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Records a running tenant's operation id (before its update can have started twice). */
  async setOperation(rolloutId: string, tenantId: string, operationId: string): Promise<void> {
    await this.io.db.send(
      new UpdateCommand({
        TableName: this.io.tableName,
        Key: rolloutTenantKey(rolloutId, tenantId),
        UpdateExpression: 'SET operationId = :op',
        ConditionExpression: '#s = :running',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':op': operationId, ':running': 'running' },
      }),
    );
  }

  /**
   * Ends a running tenant: its progress and the counters it moves, in one transaction. False when
   * it had ended already (another execution recorded it first).
   */
  async finish(
    progress: RolloutTenant,
    outcome: 'succeeded' | 'failed' | 'busy',
    fields: Partial<RolloutTenant> = {},
  ): Promise<boolean> {
    const d = PROGRESS_COUNTS[outcome];
    const next = {
      ...progress,
      ...fields,
      status: outcome,
      ...(outcome === 'busy' ? {} : { endedAt: this.now() }),
    };
    try {
      await transact(this.io, [
        {
          Update: {
            TableName: this.io.tableName,
            Key: rolloutKey(progress.rolloutId),
            UpdateExpression:
              'SET c_inflight = c_inflight - :one, c_succeeded = c_succeeded + :s, c_failed = c_failed + :f, c_exposure = c_exposure + :e',
            ExpressionAttributeValues: { ':one': 1, ':s': d.succeeded, ':f': d.failed, ':e': d.exposure },
          },
        },
        {
          Put: {
            TableName: this.io.tableName,
            Item: {
              ...rolloutTenantKey(progress.rolloutId, progress.tenantId),
              kind: 'rollout-tenant',
              ...next,
            },
            ConditionExpression: '#s = :running',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':running': 'running' },
          },
        },
      ]);
      return true;
    } catch (e) {
      if (cancelledItems(e).includes(1)) return false;
      throw e;
    }
  }

  /** A busy tenant that stayed busy through every pass: `skipped` (it holds no count). */
  async skip(progress: RolloutTenant, reason: string): Promise<void> {
    try {
      await this.io.db.send(
        new UpdateCommand({
          TableName: this.io.tableName,
          Key: rolloutTenantKey(progress.rolloutId, progress.tenantId),
          UpdateExpression: 'SET #s = :skipped, endedAt = :at, #e = :err',
          ConditionExpression: '#s = :busy',
          ExpressionAttributeNames: { '#s': 'status', '#e': 'error' },
          ExpressionAttributeValues: {
            ':skipped': 'skipped',
            ':busy': 'busy',
            ':at': this.now(),
            ':err': { code: 'OPERATION_IN_PROGRESS', message: reason },
          },
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
    }
  }
}

function strip(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, kind: _kind, ...rest } = item;
  return rest;
}

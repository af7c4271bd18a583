import {
  LIST_INDEXES,
  LIST_SHARDS,
  type ListIndex,
  OPEN_OPERATIONS_INDEX,
  OPERATION_INDEXES,
  type OperationIndex,
} from './table.js';

/**
 * Every key of the registry's single table, in one place. Each item kind has one builder here; no
 * other module spells a key prefix.
 *
 * | kind (`kind` attr) | pk                        | sk                       | owner / expiry                        |
 * |--------------------|---------------------------|--------------------------|---------------------------------------|
 * | tenant             | TENANT#<tenantId>         | #TENANT                  | (currentOperationId while one runs)   |
 * | event              | TENANT#<tenantId>         | EVENT#<ulid>             | audit trail, kept                     |
 * | slug               | SLUG#<slug>               | #SLUG                    | the tenant that claimed it            |
 * | operation          | OP#<operationId>          | #OP                      | runner (claims.ts)                    |
 * | runner             | RUNNER#<runnerId>         | #RUNNER                  | host, pid, aliveUntil (heartbeat)     |
 * | idempotency        | IDEMP#<scope>#<key>       | #IDEMP                   | owner runner, inProgressUntil, expiresAt; operationId once recorded |
 * | slot               | LEASE#<gate>              | SLOT#<n>                 | owner (`<operationId>[/…]`), expiresAt |
 * | waiter             | LEASE#<gate>              | WAIT#<ticket>#<owner>    | owner, expiresAt (renewed while it polls) |
 * | apikey             | APIKEY#<sha256>           | #APIKEY                  | -                                     |
 * | apikey-name        | APIKEYS                   | NAME#<name>              | the key's hash (and a rotated-out one until previousUntil) |
 * | apikey-admin       | APIKEY-ADMIN              | #CURRENT                 | which hash is the current admin key   |
 * | tenant-config      | TENANT#<tenantId>         | #CONFIG                  | the tenant; `version` (optimistic lock), kept |
 * | usage-hour         | USAGE#<tenantId>          | HOUR#<meter>#<hour ISO>  | - (aggregates, kept for billing)      |
 * | usage-key          | USAGEKEY#<tenantId>#<key> | #USAGEKEY                | no owner; expiresAt (TTL) past the window an event is accepted in |
 * | billing            | BILLING#<tenantId>        | #ACCOUNT                 | the tenant's billing customer and subscription (core/billing) |
 * | billing-customer   | BILLCUST#<provider>#<id>  | #BILLCUST                | the tenant a provider's customer is   |
 * | usage-reported     | BILLING#<tenantId>        | USAGE#<meter>#<hour>     | an hour of usage reported to the provider, kept |
 * | apikey-event       | APIKEY-AUDIT              | EVENT#<ulid>             | audit trail of key changes, kept      |
 * | findings           | FINDINGS#<tenantId>       | #FINDINGS                | the reconcile run that wrote it; replaced by the next run |
 * | orphans            | RECONCILE#ORPHANS         | #ORPHANS                 | the last full reconcile run; replaced by the next |
 * | reconcile-run      | RECONCILE#<runId>         | #RUN                     | owner runner, expiresAt (renewed with its progress); kept, one small item per run |
 * | template-version   | TEMPLATE#<isolation>      | VERSION#<versionId>      | body kept for rollouts, never expires |
 * | template-latest    | TEMPLATE#<isolation>      | #LATEST                  | the code's current version            |
 * | rollout            | ROLLOUT#<rolloutId>       | #ROLLOUT                 | the workflow running it; kept         |
 * | rollout-plan       | ROLLOUT#<rolloutId>       | #PLAN                    | its waves' tenant lists, written once; kept |
 * | rollout-tenant     | ROLLOUT#<rolloutId>       | TENANT#<tenantId>        | the rollout; its update's operation   |
 * | rollout-entry      | ROLLOUTS                  | <rolloutId>              | list entry (status), kept             |
 * | rollout-guard      | ROLLOUTS                  | #GUARD                   | revision: serializes overlap checks   |
 *
 * Tenants also carry the four sharded list-index keys (`listKeys`); open operations carry the
 * sparse open-operations index keys (`openOperationKeys`); every operation carries the two
 * history index keys (`operationHistoryKeys`: all, by tenant).
 */

export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

export const ITEM_KINDS = [
  'tenant',
  'event',
  'slug',
  'operation',
  'runner',
  'idempotency',
  'slot',
  'waiter',
  'apikey',
  'apikey-name',
  'apikey-admin',
  'tenant-config',
  'usage-hour',
  'usage-key',
  'billing',
  'billing-customer',
  'usage-reported',
  'apikey-event',
  'findings',
  'orphans',
  'reconcile-run',
  'template-version',
  'template-latest',
  'rollout',
  'rollout-plan',
  'rollout-tenant',
  'rollout-entry',
  'rollout-guard',
] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

export const TENANT_SK = '#TENANT';
export const OPERATION_SK = '#OP';
export const EVENT_PREFIX = 'EVENT#';

export const tenantKey = (tenantId: string): ItemKey => ({ pk: `TENANT#${tenantId}`, sk: TENANT_SK });
export const eventKey = (tenantId: string, eventId: string): ItemKey => ({
  pk: tenantKey(tenantId).pk,
  sk: `${EVENT_PREFIX}${eventId}`,
});
/** An event sort key as a cursor may carry it (ULID event ids). */
export const EVENT_SK_PATTERN = /^EVENT#[0-9A-Z]{26}$/;
/** A tenant's configuration document (core/tenant-config): beside its record, in its partition. */
export const tenantConfigKey = (tenantId: string): ItemKey => ({ pk: tenantKey(tenantId).pk, sk: '#CONFIG' });
export const slugKey = (slug: string): ItemKey => ({ pk: `SLUG#${slug}`, sk: '#SLUG' });
export const operationKey = (operationId: string): ItemKey => ({
  pk: `OP#${operationId}`,
  sk: OPERATION_SK,
});
export const runnerKey = (runnerId: string): ItemKey => ({ pk: `RUNNER#${runnerId}`, sk: '#RUNNER' });
export const idempotencyKey = (scope: string, key: string): ItemKey => ({
  pk: `IDEMP#${scope}#${key}`,
  sk: '#IDEMP',
});

// ---------------------------------------------------------------- leases (slots and waiters)

export const SLOT_PREFIX = 'SLOT#';
export const WAIT_PREFIX = 'WAIT#';
export const leasePk = (gate: string): string => `LEASE#${gate}`;
export const slotKey = (gate: string, slot: number): ItemKey => ({
  pk: leasePk(gate),
  sk: `${SLOT_PREFIX}${slot}`,
});
/** Waiters sort by ticket (the operation's creation time), then owner: arrival order. */
export const waiterKey = (gate: string, ticket: string, owner: string): ItemKey => ({
  pk: leasePk(gate),
  sk: `${WAIT_PREFIX}${ticket}#${owner}`,
});
export const isSlotSk = (sk: string): boolean => sk.startsWith(SLOT_PREFIX);
export const isWaiterSk = (sk: string): boolean => sk.startsWith(WAIT_PREFIX);
export const slotNumber = (sk: string): number => Number(sk.slice(SLOT_PREFIX.length));
/** The gate a lease partition key names. */
export const gateOf = (pk: string): string => pk.slice('LEASE#'.length);
/** The operation that owns a slot or waiter: owners are `<operationId>` or `<operationId>/<what>`. */
export const ownerOperationId = (owner: string): string | undefined => {
  const id = owner.split('/')[0]!;
  return id.startsWith('op_') ? id : undefined;
};

// ---------------------------------------------------------------- API keys

export const apiKeyKey = (hash: string): ItemKey => ({ pk: `APIKEY#${hash}`, sk: '#APIKEY' });
/** Every name claim in one partition, so the key list is one Query (key changes are rare). */
export const API_KEY_NAMES_PK = 'APIKEYS';
export const API_KEY_NAME_PREFIX = 'NAME#';
export const apiKeyNameKey = (name: string): ItemKey => ({
  pk: API_KEY_NAMES_PK,
  sk: `${API_KEY_NAME_PREFIX}${name}`,
});
export const ADMIN_KEY_POINTER: ItemKey = { pk: 'APIKEY-ADMIN', sk: '#CURRENT' };
export const API_KEY_AUDIT_PK = 'APIKEY-AUDIT';
export const apiKeyEventKey = (eventId: string): ItemKey => ({
  pk: API_KEY_AUDIT_PK,
  sk: `${EVENT_PREFIX}${eventId}`,
});

// ---------------------------------------------------------------- usage (core/usage/)

export const USAGE_HOUR_PREFIX = 'HOUR#';
export const usagePk = (tenantId: string): string => `USAGE#${tenantId}`;
/** One meter's hours sort by time under `HOUR#<meter>#`, so a range is one Query. */
export const usageHourKey = (tenantId: string, meter: string, hour: string): ItemKey => ({
  pk: usagePk(tenantId),
  sk: `${USAGE_HOUR_PREFIX}${meter}#${hour}`,
});
/** The record that an event's idempotency key was counted once (dedupe). */
export const usageEventKey = (tenantId: string, idempotencyKey: string): ItemKey => ({
  pk: `USAGEKEY#${tenantId}#${idempotencyKey}`,
  sk: '#USAGEKEY',
});

// ---------------------------------------------------------------- billing (core/billing)

export const billingAccountKey = (tenantId: string): ItemKey => ({
  pk: `BILLING#${tenantId}`,
  sk: '#ACCOUNT',
});
export const billingCustomerKey = (provider: string, customerId: string): ItemKey => ({
  pk: `BILLCUST#${provider}#${customerId}`,
  sk: '#BILLCUST',
});
export const USAGE_REPORTED_PREFIX = 'USAGE#';
/** Sorted by meter then hour (ISO, so lexical order is time order). */
export const usageReportedKey = (tenantId: string, meter: string, hour: string): ItemKey => ({
  pk: billingAccountKey(tenantId).pk,
  sk: `${USAGE_REPORTED_PREFIX}${meter}#${hour}`,
});

// ---------------------------------------------------------------- template versions and rollouts

export const TEMPLATE_VERSION_PREFIX = 'VERSION#';
export const templateVersionKey = (isolation: string, versionId: string): ItemKey => ({
  pk: `TEMPLATE#${isolation}`,
  sk: `${TEMPLATE_VERSION_PREFIX}${versionId}`,
});
export const templateLatestKey = (isolation: string): ItemKey => ({
  pk: `TEMPLATE#${isolation}`,
  sk: '#LATEST',
});

export const ROLLOUT_TENANT_PREFIX = 'TENANT#';
export const rolloutKey = (rolloutId: string): ItemKey => ({ pk: `ROLLOUT#${rolloutId}`, sk: '#ROLLOUT' });
/** A rollout's waves' tenant lists, apart from the record its every admission and end rewrites. */
export const rolloutPlanKey = (rolloutId: string): ItemKey => ({ pk: rolloutKey(rolloutId).pk, sk: '#PLAN' });
export const rolloutTenantKey = (rolloutId: string, tenantId: string): ItemKey => ({
  pk: rolloutKey(rolloutId).pk,
  sk: `${ROLLOUT_TENANT_PREFIX}${tenantId}`,
});
export const ROLLOUTS_PK = 'ROLLOUTS';
export const rolloutEntryKey = (rolloutId: string): ItemKey => ({ pk: ROLLOUTS_PK, sk: rolloutId });
export const ROLLOUT_GUARD: ItemKey = { pk: ROLLOUTS_PK, sk: '#GUARD' };

// ---------------------------------------------------------------- indexes

/** Shard of a tenant in the list indexes: stable, spread by the ULID's random tail. */
export function listShard(tenantId: string): number {
  let h = 0;
  for (let i = tenantId.length - 6; i < tenantId.length; i++) h = (h * 31 + tenantId.charCodeAt(i)) >>> 0;
  return h % LIST_SHARDS;
}

/** The list-index partition of a tier/state filter, without its shard suffix. */
export function listPartitionBase(index: ListIndex, tier: string, state: string): string {
  const parts: Record<ListIndex, string> = {
    byTierState: `T#${tier}#S#${state}`,
    byState: `S#${state}`,
    byTier: `T#${tier}`,
    byAll: 'ALL',
  };
  return parts[index];
}

/** The four list-index keys of a tenant. */
export function listKeys(t: { tenantId: string; tier: string; state: string }): Record<string, string> {
  const shard = listShard(t.tenantId);
  const keys: Record<string, string> = {};
  for (const [index, { pk, sk }] of Object.entries(LIST_INDEXES)) {
    keys[pk] = `${listPartitionBase(index as ListIndex, t.tier, t.state)}#${shard}`;
    keys[sk] = t.tenantId;
  }
  return keys;
}

export const OPEN_PARTITION = 'OPEN';

/** The sparse open-operations index keys an operation carries until it ends. */
export const openOperationKeys = (operationId: string): Record<string, string> => ({
  [OPEN_OPERATIONS_INDEX.pk]: OPEN_PARTITION,
  [OPEN_OPERATIONS_INDEX.sk]: operationId,
});

/** The history-index partition of an operation query, with its shard (the tenant index has one). */
export function operationPartition(
  index: OperationIndex,
  filter: { tenantId?: string },
  shard: number,
): string {
  return index === 'operationsByTenant' ? `OPS#TENANT#${filter.tenantId}` : `OPS#${shard}`;
}

/** The two history-index keys every operation carries, written with it (codec.ts). */
export function operationHistoryKeys(op: { operationId: string; tenantId: string }): Record<string, string> {
  const shard = listShard(op.operationId);
  const keys: Record<string, string> = {};
  for (const [index, { pk, sk }] of Object.entries(OPERATION_INDEXES)) {
    keys[pk] = operationPartition(index as OperationIndex, op, shard);
    keys[sk] = op.operationId;
  }
  return keys;
}
// ---------------------------------------------------------------- reconcile (core/reconcile)

export const findingsKey = (tenantId: string): ItemKey => ({ pk: `FINDINGS#${tenantId}`, sk: '#FINDINGS' });
export const ORPHANS_KEY: ItemKey = { pk: 'RECONCILE#ORPHANS', sk: '#ORPHANS' };
export const reconcileRunKey = (runId: string): ItemKey => ({ pk: `RECONCILE#${runId}`, sk: '#RUN' });

import { BatchGetCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { backoffDelay, sleep } from '../backoff.js';
import { ControlPlaneError } from '../errors.js';
import type { TenantState } from '../lifecycle.js';
import { fromEventItem, fromOperationItem, fromTenantItem } from './codec.js';
import type { RegistryIo } from './io.js';
import {
  EVENT_PREFIX,
  EVENT_SK_PATTERN,
  listPartitionBase,
  OPEN_PARTITION,
  OPERATION_SK,
  operationKey,
  slugKey,
  TENANT_SK,
  tenantKey,
} from './keys.js';
import { type LeaseItem, readGate } from './leases.js';
import { decodeCursor, type Key, mergeShards } from './list-merge.js';
import { listOperations, type OperationListQuery } from './operation-history.js';
import type { AuditEvent, Operation, Page, Tenant } from './records.js';
import { LIST_INDEXES, LIST_SHARDS, type ListIndex, OPEN_OPERATIONS_INDEX } from './table.js';

export interface TenantListQuery {
  tier?: string;
  state?: TenantState;
  limit?: number;
  cursor?: string;
}

/** What routes and watchers read: every read of the registry, and no write. */
export interface RegistryReader {
  readonly tableName: string;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  getTenantBySlug(slug: string): Promise<Tenant | undefined>;
  requireTenant(idOrSlug: string): Promise<Tenant>;
  listTenants(query: TenantListQuery): Promise<Page<Tenant>>;
  getScope(tenantId: string, operationId: string): Promise<{ tenant: Tenant; operation: Operation }>;
  getOperation(operationId: string): Promise<Operation | undefined>;
  requireOperation(operationId: string): Promise<Operation>;
  listOpenOperations(): Promise<Operation[]>;
  /** Operation history, newest first (operation-history.ts). */
  listOperations(query: OperationListQuery): Promise<Page<Operation>>;
  listEvents(tenantId: string, query?: { limit?: number; cursor?: string }): Promise<Page<AuditEvent>>;
  /** Every slot and waiter of a lease gate (leases.ts). */
  listGateItems(gate: string): Promise<LeaseItem[]>;
}

/** Unprocessed BatchGet keys (throttling) are asked again after this backoff. */
const UNPROCESSED_BACKOFF = { baseMs: 20, maxMs: 1000 };

const cursorRefused = (message: string, accepted: string) =>
  new ControlPlaneError('VALIDATION_FAILED', message, { details: [{ path: 'cursor', message: accepted }] });

/** The registry's reads: single records by key, pages through GSIs (never a Scan). */
export class RegistryQueries implements RegistryReader {
  constructor(protected readonly io: RegistryIo) {}

  get tableName(): string {
    return this.io.tableName;
  }

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    const out = await this.io.db.send(
      new GetCommand({ TableName: this.tableName, Key: tenantKey(tenantId) }),
    );
    return out.Item ? fromTenantItem(out.Item) : undefined;
  }

  async getTenantBySlug(slug: string): Promise<Tenant | undefined> {
    const out = await this.io.db.send(new GetCommand({ TableName: this.tableName, Key: slugKey(slug) }));
    return out.Item ? this.getTenant(String(out.Item.tenantId)) : undefined;
  }

  /** By tenant id (`t_…`) or slug; TENANT_NOT_FOUND otherwise. */
  async requireTenant(idOrSlug: string): Promise<Tenant> {
    const tenant = idOrSlug.startsWith('t_')
      ? await this.getTenant(idOrSlug)
      : await this.getTenantBySlug(idOrSlug);
    if (!tenant) throw new ControlPlaneError('TENANT_NOT_FOUND', `no tenant with id or slug "${idOrSlug}"`);
    return tenant;
  }

  /** One page of tenants, newest first, filtered by tier and/or state through a GSI (never a Scan). */
  async listTenants(query: TenantListQuery): Promise<Page<Tenant>> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const index: ListIndex =
      query.tier && query.state ? 'byTierState' : query.state ? 'byState' : query.tier ? 'byTier' : 'byAll';
    const base = listPartitionBase(index, query.tier ?? '', query.state ?? 'ACTIVE');
    const { pk, sk } = LIST_INDEXES[index];
    // Every shard position is checked, finished shards included: a cursor from another query
    // (or a forged one) is refused whatever its shards say.
    if (query.cursor) {
      for (const [shard, position] of decodeCursor(query.cursor, LIST_SHARDS).entries()) {
        const after = position.after;
        if (
          after &&
          (after[pk] !== `${base}#${shard}` ||
            typeof after[sk] !== 'string' ||
            typeof after.pk !== 'string' ||
            typeof after.sk !== 'string')
        ) {
          throw cursorRefused(
            'cursor belongs to a different query; pass the same filters as the first page',
            'a nextCursor from a page with the same tier and state filters',
          );
        }
      }
    }
    return mergeShards<Tenant>(LIST_SHARDS, limit, query.cursor, async (shard, after, max) => {
      const out = await this.io.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': pk },
          ExpressionAttributeValues: { ':pk': `${base}#${shard}` },
          ScanIndexForward: false,
          Limit: max,
          ...(after ? { ExclusiveStartKey: after } : {}),
        }),
      );
      const items = (out.Items ?? []).map((item) => ({
        item: fromTenantItem(item),
        key: { pk: item.pk, sk: item.sk, [pk]: item[pk], [sk]: item[sk] } as Key,
        sortKey: String(item[sk]),
      }));
      return { items, exhausted: !out.LastEvaluatedKey };
    });
  }

  /** The tenant and one of its operations in one BatchGetItem (what every workflow step reads). */
  async getScope(tenantId: string, operationId: string): Promise<{ tenant: Tenant; operation: Operation }> {
    let keys: Record<string, unknown>[] = [{ ...tenantKey(tenantId) }, { ...operationKey(operationId) }];
    const items: Record<string, unknown>[] = [];
    for (let attempt = 0; keys.length > 0; attempt++) {
      const out = await this.io.db.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      items.push(...((out.Responses?.[this.tableName] ?? []) as Record<string, unknown>[]));
      keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      if (keys.length > 0) await sleep(backoffDelay(UNPROCESSED_BACKOFF, attempt));
    }
    const tenantItem = items.find((i) => i.sk === TENANT_SK);
    const opItem = items.find((i) => i.sk === OPERATION_SK);
    if (!tenantItem)
      throw new ControlPlaneError('TENANT_NOT_FOUND', `no tenant with id or slug "${tenantId}"`);
    if (!opItem) throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation with id "${operationId}"`);
    return { tenant: fromTenantItem(tenantItem), operation: fromOperationItem(opItem) };
  }

  async getOperation(operationId: string): Promise<Operation | undefined> {
    const out = await this.io.db.send(
      new GetCommand({ TableName: this.tableName, Key: operationKey(operationId) }),
    );
    return out.Item ? fromOperationItem(out.Item) : undefined;
  }

  async requireOperation(operationId: string): Promise<Operation> {
    const op = await this.getOperation(operationId);
    if (!op) throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation with id "${operationId}"`);
    return op;
  }

  /** Operations not yet finished (PENDING or RUNNING), oldest first: what a restart resumes. */
  async listOpenOperations(): Promise<Operation[]> {
    const items: Operation[] = [];
    let after: Record<string, unknown> | undefined;
    do {
      const out = await this.io.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: OPEN_OPERATIONS_INDEX.name,
          KeyConditionExpression: '#pk = :open',
          ExpressionAttributeNames: { '#pk': OPEN_OPERATIONS_INDEX.pk },
          ExpressionAttributeValues: { ':open': OPEN_PARTITION },
          ...(after ? { ExclusiveStartKey: after } : {}),
        }),
      );
      for (const item of out.Items ?? []) items.push(fromOperationItem(item));
      after = out.LastEvaluatedKey;
    } while (after);
    return items;
  }

  listOperations(query: OperationListQuery): Promise<Page<Operation>> {
    return listOperations(this.io, query);
  }

  /** A tenant's audit trail, oldest first, one page at a time. */
  async listEvents(
    tenantId: string,
    query: { limit?: number; cursor?: string } = {},
  ): Promise<Page<AuditEvent>> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 500);
    const { pk } = tenantKey(tenantId);
    let start: Record<string, unknown> | undefined;
    if (query.cursor) {
      const sk = Buffer.from(query.cursor, 'base64url').toString('utf8');
      if (!EVENT_SK_PATTERN.test(sk))
        throw cursorRefused('cursor is not one this API returned', 'an opaque cursor from nextCursor');
      start = { pk, sk };
    }
    const out = await this.io.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
        ExpressionAttributeValues: { ':pk': pk, ':e': EVENT_PREFIX },
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (out.Items ?? []).map(fromEventItem);
    const last = out.LastEvaluatedKey?.sk;
    return { items, nextCursor: last ? Buffer.from(String(last)).toString('base64url') : undefined };
  }

  listGateItems(gate: string): Promise<LeaseItem[]> {
    return readGate(this.io.db, this.tableName, gate);
  }
}

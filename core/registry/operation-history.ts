import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ControlPlaneError } from '../errors.js';
import type { OperationStatus, OperationType } from '../lifecycle.js';
import { fromOperationItem } from './codec.js';
import type { RegistryIo } from './io.js';
import { operationPartition } from './keys.js';
import { decodeCursor, type Key, mergeShards } from './list-merge.js';
import type { Operation, Page } from './records.js';
import { LIST_SHARDS, OPERATION_INDEXES, type OperationIndex } from './table.js';

/**
 * Operation history, newest first, through the history indexes (table.ts OPERATION_INDEXES) and
 * the registry's shard-merging cursors (list-merge.ts). A tenant's operations are one partition; all
 * operations are sharded like the tenant lists. Type and status filters apply to what each Query
 * reads: pages stay full, a rare value costs reading past the others.
 */

export interface OperationListQuery {
  readonly tenantId?: string;
  readonly type?: OperationType;
  readonly status?: OperationStatus;
  readonly limit?: number;
  readonly cursor?: string;
}

export async function listOperations(io: RegistryIo, query: OperationListQuery): Promise<Page<Operation>> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
  const index: OperationIndex = query.tenantId ? 'operationsByTenant' : 'operationsAll';
  const shards = index === 'operationsByTenant' ? 1 : LIST_SHARDS;
  const { pk, sk } = OPERATION_INDEXES[index];
  const partition = (shard: number) => operationPartition(index, query, shard);
  if (query.cursor) {
    for (const [shard, position] of decodeCursor(query.cursor, shards).entries()) {
      const after = position.after;
      if (after && (after[pk] !== partition(shard) || typeof after[sk] !== 'string')) {
        throw new ControlPlaneError(
          'VALIDATION_FAILED',
          'cursor belongs to a different query; pass the same filters as the first page',
          { details: [{ path: 'cursor', message: 'a nextCursor from a page with the same filters' }] },
        );
      }
    }
  }
  const filters: [string, string][] = [];
  if (query.status) filters.push(['status', query.status]);
  if (query.type) filters.push(['type', query.type]);
  const names: Record<string, string> = { '#pk': pk };
  const values: Record<string, unknown> = {};
  filters.forEach(([field, value], i) => {
    names[`#f${i}`] = field;
    values[`:f${i}`] = value;
  });
  const filterExpression = filters.map((_, i) => `#f${i} = :f${i}`).join(' AND ');

  return mergeShards<Operation>(shards, limit, query.cursor, async (shard, after, max) => {
    const out = await io.db.send(
      new QueryCommand({
        TableName: io.tableName,
        IndexName: index,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ':pk': partition(shard) },
        ...(filterExpression ? { FilterExpression: filterExpression } : {}),
        ScanIndexForward: false,
        Limit: max,
        ...(after ? { ExclusiveStartKey: after } : {}),
      }),
    );
    const items = (out.Items ?? []).map((item) => ({
      item: fromOperationItem(item),
      key: { pk: item.pk, sk: item.sk, [pk]: item[pk], [sk]: item[sk] } as Key,
      sortKey: String(item[sk]),
    }));
    return {
      items,
      exhausted: !out.LastEvaluatedKey,
      scannedTo: out.LastEvaluatedKey as Key | undefined,
    };
  });
}

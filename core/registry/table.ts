import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * The registry's single-table layout. Kept as data so the control-plane CDK stack and the local
 * `ensureRegistryTable` build the very same table.
 *
 * Every item kind and its keys: core/registry/keys.ts (the one table of them).
 *
 * List indexes hold tenants only, each partition split into LIST_SHARDS so no single key takes
 * every tenant's writes; a page merges the shards (see list-merge.ts).
 */

export const LIST_SHARDS = 4;

export const LIST_INDEXES = {
  byTierState: { pk: 'gsi1pk', sk: 'gsi1sk' },
  byState: { pk: 'gsi2pk', sk: 'gsi2sk' },
  byTier: { pk: 'gsi3pk', sk: 'gsi3sk' },
  byAll: { pk: 'gsi4pk', sk: 'gsi4sk' },
} as const;
export type ListIndex = keyof typeof LIST_INDEXES;

/** Sparse index of operations not yet finished, read at start-up to resume them. */
export const OPEN_OPERATIONS_INDEX = { name: 'openOperations', pk: 'openpk', sk: 'opensk' } as const;

/**
 * Operation history, newest first (operation ids are ULIDs): every operation (sharded like the
 * tenant lists) and one tenant's (its own partition). Type and status are filters: two indexes, not
 * more, since CloudFormation adds one index per table update (a deploy over an older table that
 * lacks both needs two updates; local mode adds them itself, ensureRegistryTable).
 */
export const OPERATION_INDEXES = {
  operationsAll: { pk: 'gsiopspk', sk: 'gsiopssk' },
  operationsByTenant: { pk: 'gsiotnpk', sk: 'gsiotnsk' },
} as const;
export type OperationIndex = keyof typeof OPERATION_INDEXES;

export function registryTableDefinition(tableName: string): CreateTableCommandInput {
  const indexes = [
    ...Object.entries(LIST_INDEXES).map(([name, k]) => ({ name, ...k })),
    OPEN_OPERATIONS_INDEX,
    ...Object.entries(OPERATION_INDEXES).map(([name, k]) => ({ name, ...k })),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      ...indexes.flatMap((i) => [
        { AttributeName: i.pk, AttributeType: 'S' as const },
        { AttributeName: i.sk, AttributeType: 'S' as const },
      ]),
    ],
    GlobalSecondaryIndexes: indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.pk, KeyType: 'HASH' as const },
        { AttributeName: i.sk, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    })),
  };
}

export async function describeRegistryTable(client: DynamoDBClient, tableName: string): Promise<string> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return out.Table?.TableStatus ?? 'UNKNOWN';
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return 'MISSING';
    throw e;
  }
}

/** Creates the table when missing (local mode) and waits until it is ACTIVE. */
export async function ensureRegistryTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<'created' | 'exists'> {
  let status = await describeRegistryTable(client, tableName);
  let created = false;
  if (status === 'MISSING') {
    try {
      await client.send(new CreateTableCommand(registryTableDefinition(tableName)));
      created = true;
    } catch (e) {
      // Another control plane sharing the endpoint created it first.
      if ((e as Error).name !== 'ResourceInUseException') throw e;
    }
  }
  for (let i = 0; i < 100 && status !== 'ACTIVE'; i++) {
    status = await describeRegistryTable(client, tableName);
    if (status !== 'ACTIVE') await new Promise((r) => setTimeout(r, 100));
  }
  if (!created) await addMissingIndexes(client, tableName);
  return created ? 'created' : 'exists';
}

/**
 * A table made by an older version lacks the indexes added since (operation history): they are
 * added one at a time, as DynamoDB requires, and waited for. Items written before keep no index keys.
 */
async function addMissingIndexes(client: DynamoDBClient, tableName: string): Promise<void> {
  const definition = registryTableDefinition(tableName);
  const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set(out.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName));
  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    if (present.has(index.IndexName)) continue;
    const attributes = new Set(index.KeySchema?.map((k) => k.AttributeName));
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: definition.AttributeDefinitions?.filter((a) => attributes.has(a.AttributeName)),
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    for (let i = 0; i < 100; i++) {
      const now = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const status = now.Table?.GlobalSecondaryIndexes?.find(
        (g) => g.IndexName === index.IndexName,
      )?.IndexStatus;
      if (status === 'ACTIVE' && now.Table?.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

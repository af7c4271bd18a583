import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClients, uniqueName } from '../../test/support/aws.js';
import { ensureRegistryTable, OPEN_OPERATIONS_INDEX } from '../registry/table.js';

/**
 * moto_launcher.py changes what moto's transactions and queries cost, never what they answer: a
 * cancelled transaction leaves every item as it was, a Query sees every write before it.
 */
const clients = testClients();
const db = clients.dynamodb;
const TableName = uniqueName('launcher-rollback');
const get = async (pk: string) =>
  (await db.send(new GetItemCommand({ TableName, Key: { pk: { S: pk }, sk: { S: 'x' } } }))).Item;

beforeAll(() => ensureRegistryTable(db, TableName));
afterAll(() => clients.destroy());

describe('moto launcher: transactions roll back item by item', () => {
  it('a cancelled transaction leaves new, updated and deleted items as they were', async () => {
    for (const pk of ['updated', 'deleted', 'guard'])
      await db.send(
        new PutItemCommand({ TableName, Item: { pk: { S: pk }, sk: { S: 'x' }, v: { N: '1' } } }),
      );

    const err = await db
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName, Item: { pk: { S: 'new' }, sk: { S: 'x' }, v: { N: '2' } } } },
            {
              Update: {
                TableName,
                Key: { pk: { S: 'updated' }, sk: { S: 'x' } },
                UpdateExpression: 'SET v = :v',
                ExpressionAttributeValues: { ':v': { N: '2' } },
              },
            },
            { Delete: { TableName, Key: { pk: { S: 'deleted' }, sk: { S: 'x' } } } },
            {
              ConditionCheck: {
                TableName,
                Key: { pk: { S: 'guard' }, sk: { S: 'x' } },
                ConditionExpression: 'v = :two',
                ExpressionAttributeValues: { ':two': { N: '2' } },
              },
            },
          ],
        }),
      )
      .catch((e: Error) => e);
    expect((err as Error).name).toBe('TransactionCanceledException');
    expect(await get('new')).toBeUndefined();
    expect((await get('updated'))?.v).toEqual({ N: '1' });
    expect((await get('deleted'))?.v).toEqual({ N: '1' });

    // And one that holds applies every item.
    await db.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName, Item: { pk: { S: 'new' }, sk: { S: 'x' }, v: { N: '2' } } } },
          { Delete: { TableName, Key: { pk: { S: 'deleted' }, sk: { S: 'x' } } } },
        ],
      }),
    );
    expect((await get('new'))?.v).toEqual({ N: '2' });
    expect(await get('deleted')).toBeUndefined();
  });
});

describe('moto launcher: a Query reads only the partition asked for', () => {
  const open = OPEN_OPERATIONS_INDEX;
  const onIndex = async (value: string) =>
    (
      await db.send(
        new QueryCommand({
          TableName,
          IndexName: open.name,
          KeyConditionExpression: '#p = :v',
          ExpressionAttributeNames: { '#p': open.pk },
          ExpressionAttributeValues: { ':v': { S: value } },
        }),
      )
    ).Items?.map((i) => i.pk?.S);
  const onTable = async (pk: string) =>
    (
      await db.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: pk } },
        }),
      )
    ).Items?.map((i) => i.sk?.S);
  const put = (pk: string, sk: string, partition?: string) =>
    db.send(
      new PutItemCommand({
        TableName,
        Item: {
          pk: { S: pk },
          sk: { S: sk },
          ...(partition ? { [open.pk]: { S: partition }, [open.sk]: { S: pk } } : {}),
        },
      }),
    );

  it('answers as moto does, and sees every write since the last Query', async () => {
    await put('q-a', '1', 'P');
    await put('q-b', '1', 'P');
    await put('q-c', '1', 'Q');
    await put('q-a', '2');
    expect(await onIndex('P')).toEqual(['q-a', 'q-b']);
    expect(await onTable('q-a')).toEqual(['1', '2']);

    await put('q-d', '1', 'P');
    expect(await onIndex('P')).toEqual(['q-a', 'q-b', 'q-d']);
    await db.send(
      new UpdateItemCommand({
        TableName,
        Key: { pk: { S: 'q-b' }, sk: { S: '1' } },
        UpdateExpression: 'SET #p = :q',
        ExpressionAttributeNames: { '#p': open.pk },
        ExpressionAttributeValues: { ':q': { S: 'Q' } },
      }),
    );
    expect(await onIndex('P')).toEqual(['q-a', 'q-d']);
    expect(await onIndex('Q')).toEqual(['q-b', 'q-c']);
    await db.send(new DeleteItemCommand({ TableName, Key: { pk: { S: 'q-a' }, sk: { S: '2' } } }));
    expect(await onTable('q-a')).toEqual(['1']);
    // Writes through a transaction and a batch are seen too.
    await db.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName,
              Item: { pk: { S: 'q-e' }, sk: { S: '1' }, [open.pk]: { S: 'P' }, [open.sk]: { S: 'q-e' } },
            },
          },
        ],
      }),
    );
    expect(await onIndex('P')).toEqual(['q-a', 'q-d', 'q-e']);
    await db.send(
      new BatchWriteItemCommand({
        RequestItems: { [TableName]: [{ DeleteRequest: { Key: { pk: { S: 'q-d' }, sk: { S: '1' } } } }] },
      }),
    );
    expect(await onIndex('P')).toEqual(['q-a', 'q-e']);
    expect(await onIndex('nothing')).toEqual([]);
    expect(await onTable('nothing')).toEqual([]);
  });

  it("on the table itself, key conditions, order and paging are moto's", async () => {
    for (const sk of ['EVENT#1', 'EVENT#2', 'EVENT#3', 'OTHER#1']) await put('q-pages', sk);
    const page = (start?: Record<string, { S: string }>) =>
      db.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
          ExpressionAttributeValues: { ':pk': { S: 'q-pages' }, ':e': { S: 'EVENT#' } },
          ScanIndexForward: false,
          Limit: 2,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
    const first = await page();
    expect(first.Items?.map((i) => i.sk?.S)).toEqual(['EVENT#3', 'EVENT#2']);
    const second = await page(first.LastEvaluatedKey as Record<string, { S: string }>);
    expect(second.Items?.map((i) => i.sk?.S)).toEqual(['EVENT#1']);
    expect(await onTable('q-pages')).toEqual(['EVENT#1', 'EVENT#2', 'EVENT#3', 'OTHER#1']);
  });
});

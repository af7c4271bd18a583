import { GetItemCommand, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { testClients, uniqueName } from '../../test/support/aws.js';
import { ensureRegistryTable } from '../registry/table.js';

/**
 * moto_launcher.py replaces moto's whole-table rollback copy with saved items: a cancelled
 * transaction must still leave every item as it was (DynamoDB's all-or-nothing).
 */
const clients = testClients();
const db = clients.dynamodb;
const TableName = uniqueName('launcher-rollback');
const get = async (pk: string) =>
  (await db.send(new GetItemCommand({ TableName, Key: { pk: { S: pk }, sk: { S: 'x' } } }))).Item;

afterAll(() => clients.destroy());

describe('moto launcher: transactions roll back item by item', () => {
  it('a cancelled transaction leaves new, updated and deleted items as they were', async () => {
    await ensureRegistryTable(db, TableName);
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

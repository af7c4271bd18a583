import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';

describe('the unit test project', () => {
  it('fails any AWS call at once, saying the test belongs in the aws project', async () => {
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    const started = Date.now();
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow(
      /unit tests make no AWS calls: DynamoDBClient ListTablesCommand .*vitest\.config\.ts/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

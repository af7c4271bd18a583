import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../core/aws/clients.js';
import { expiryDate, exportLayout, partTotals } from '../../core/tenant-data/layout.js';
import { batchWrite } from './tenant-data.js';

/** A DynamoDB client whose BatchWriteItem leaves the first `unprocessed` requests of each call unprocessed, `times` times. */
function fakeDynamo(table: string, leave: number[]) {
  const calls: WriteRequest[][] = [];
  const client = {
    dynamodb: {
      async send(command: { input: { RequestItems: Record<string, WriteRequest[]> } }) {
        const requests = command.input.RequestItems[table] ?? [];
        calls.push(requests);
        const n = leave.shift() ?? 0;
        return { UnprocessedItems: n > 0 ? { [table]: requests.slice(0, n) } : {} };
      },
    },
  } as unknown as AwsClients;
  return { client, calls };
}

const deletes = (n: number): WriteRequest[] =>
  Array.from({ length: n }, (_, i) => ({ DeleteRequest: { Key: { pk: { S: `t#${i}` }, sk: { S: 'x' } } } }));

describe('batchWrite', () => {
  it('sends at most 25 writes a call and retries exactly the unprocessed ones until none are left', async () => {
    const { client, calls } = fakeDynamo('pooled', [3, 1]);
    const waits: number[] = [];
    await batchWrite(client, 'pooled', deletes(30), async (ms) => {
      waits.push(ms);
    });
    // Backed off before each retry, by the one backoff (equal jitter: 25-50 ms, then 50-100 ms).
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(25);
    expect(waits[1]).toBeGreaterThanOrEqual(50);
    expect(calls.map((c) => c.length)).toEqual([25, 3, 1, 5]);
    // The retries carry the requests DynamoDB handed back, not new ones.
    expect(calls[1]).toEqual(calls[0]!.slice(0, 3));
    expect(calls[2]).toEqual(calls[0]!.slice(0, 1));
  });

  it('gives up with AWS_THROTTLED when writes stay unprocessed', async () => {
    const { client } = fakeDynamo('pooled', Array(20).fill(1));
    await expect(batchWrite(client, 'pooled', deletes(1), async () => {})).rejects.toMatchObject({
      code: 'AWS_THROTTLED',
    });
  });
});

describe('export layout', () => {
  it('names parts deterministically, numbered from 1', () => {
    expect(exportLayout.prefix('t_1', 'op_1')).toBe('exports/t_1/op_1/');
    expect(exportLayout.itemsPart(1)).toBe('items-0001.jsonl');
    expect(exportLayout.objectsPart(12)).toBe('objects-0012.jsonl');
    expect(exportLayout.pooledKeyPrefix('t_1')).toBe('t_1#');
    expect(exportLayout.pooledObjects('t_1')).toBe('tenants/t_1/');
  });

  it('dates the expiry retentionDays after creation and totals the parts by kind', () => {
    expect(expiryDate('2026-01-01T00:00:00.000Z', 90)).toBe('2026-04-01T00:00:00.000Z');
    const sha256 = 'a'.repeat(64);
    expect(
      partTotals([
        { name: 'items-0001.jsonl', kind: 'items', count: 3, bytes: 30, sha256 },
        { name: 'items-0002.jsonl', kind: 'items', count: 2, bytes: 20, sha256 },
        { name: 'objects-0001.jsonl', kind: 'objects', count: 4, bytes: 99, sha256, objectBytes: 400 },
      ]),
    ).toEqual({ items: 5, objects: 4, itemBytes: 50, objectBytes: 400 });
  });
});

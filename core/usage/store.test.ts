import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { UsageStore } from './store.js';

/** The store's retry and duplicate paths, against a scripted client (the e2e tests use moto). */

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

function scripted(answers: ((input: { constructor: { name: string } }) => unknown)[]) {
  const sent: string[] = [];
  const db = {
    send: async (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      const next = answers.shift();
      if (!next) throw new Error(`unexpected ${command.constructor.name}`);
      return next(command);
    },
  } as unknown as DynamoDBDocumentClient;
  const waits: number[] = [];
  const store = new UsageStore(
    { db, tableName: 't', clock: () => new Date('2026-12-04T10:00:00Z') },
    { sleep: async (ms) => void waits.push(ms), random: () => 0.5, conflictAttempts: 3 },
  );
  return { store, sent, waits };
}
const event = {
  tenantId: 't_01M82QPG5G662H5AZW1KHNV7FV',
  meter: 'storage-gb',
  aggregation: 'max' as const,
  quantity: 4,
  timestamp: new Date('2026-12-04T09:10:00Z'),
  idempotencyKey: 'k',
  expiresAt: 1,
};

describe('UsageStore.record', () => {
  it('runs a transaction again when another one conflicted, then moves max forward', async () => {
    const { store, sent, waits } = scripted([
      () => {
        throw cancelled('None', 'TransactionConflict');
      },
      () => ({}),
      () => ({}),
    ]);
    expect(await store.record(event)).toBe('accepted');
    expect(sent).toEqual(['TransactWriteCommand', 'TransactWriteCommand', 'UpdateCommand']);
    expect(waits).toHaveLength(1);
  });

  it('gives up after its attempts, and tells a duplicate from a reused key by the fingerprint', async () => {
    const conflict = () => {
      throw cancelled('TransactionConflict', 'None');
    };
    await expect(scripted([conflict, conflict, conflict]).store.record(event)).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    const taken = () => {
      throw cancelled('ConditionalCheckFailed', 'None');
    };
    const dup = scripted([
      taken,
      () => ({ Item: { fingerprint: 'storage-gb|4|2026-12-04T09:10:00.000Z' } }),
      () => ({}),
    ]);
    expect(await dup.store.record(event)).toBe('duplicate');
    // A duplicate repeats the monotone max update: a crash between the two writes heals.
    expect(dup.sent).toEqual(['TransactWriteCommand', 'GetCommand', 'UpdateCommand']);
    const reused = scripted([
      taken,
      () => ({ Item: { fingerprint: 'storage-gb|5|2026-12-04T09:10:00.000Z' } }),
    ]);
    expect(await reused.store.record(event)).toBe('conflict');
  });
});

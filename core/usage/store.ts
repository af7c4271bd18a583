import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cancelledItems, isConditionFailed, isTransactionConflict } from '../aws/errors.js';
import { backoffDelay, sleep as realSleep } from '../backoff.js';
import { ControlPlaneError } from '../errors.js';
import type { RegistryIo } from '../registry/io.js';
import { USAGE_HOUR_PREFIX, usageEventKey, usageHourKey, usagePk } from '../registry/keys.js';
import { transact } from '../registry/transact-items.js';
import { type Aggregation, type HourlyAggregate, hourOf } from './meters.js';

/**
 * The usage store: hourly aggregates per tenant and meter, in the registry table (item kinds
 * `usage-hour` and `usage-key`, core/registry/keys.ts).
 *
 * An event is counted by one transaction of two items: the dedupe record of its idempotency key
 * (a conditional put) and an `ADD` to its hour's sum and count. A redelivered event fails the put's
 * condition, so the whole transaction is cancelled and nothing is added: concurrent batches and
 * redeliveries count each key once. `max` and `last` cannot be an ADD (and a transaction cannot
 * touch the hour twice), so they follow as a conditional update that only ever moves forward
 * (`max < :q`, `lastAt < :at`); being monotone it is repeated harmlessly, and a duplicate repeats
 * it, so a crash between the two writes heals on redelivery.
 */

/** An event ready to store: validated, its tenant resolved, its meter's aggregation known. */
export interface MeteredEvent {
  readonly tenantId: string;
  readonly meter: string;
  readonly aggregation: Aggregation;
  readonly quantity: number;
  readonly timestamp: Date;
  readonly idempotencyKey: string;
  /** Unix seconds after which the dedupe record no longer counts (owner-free expiry). */
  readonly expiresAt: number;
}

/** `conflict`: the key was counted before for a different event (meter, quantity or timestamp). */
export type StoreOutcome = 'accepted' | 'duplicate' | 'conflict';

/**
 * What a billing provider reads to report usage (e.g. as Stripe meter events): the hours of one
 * tenant's meter in `[from, to)`, oldest first, each with its sum, count and, by the meter's
 * aggregation, max or last.
 */
export interface UsageReader {
  hourly(tenantId: string, meter: string, from: Date, to: Date): Promise<HourlyAggregate[]>;
}

export interface HourlyPage {
  readonly items: HourlyAggregate[];
  readonly nextCursor: string | undefined;
}

export interface UsageStoreOptions {
  /** Attempts of a transaction another one conflicted with (same hour, same moment). @default 8 */
  readonly conflictAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

const fingerprint = (e: MeteredEvent) => `${e.meter}|${e.quantity}|${e.timestamp.toISOString()}`;

const fromHourItem = (item: Record<string, unknown>): HourlyAggregate => ({
  meter: String(item.meter),
  hour: String(item.hour),
  sum: Number(item.sum ?? 0),
  count: Number(item.count ?? 0),
  ...(item.max !== undefined ? { max: Number(item.max) } : {}),
  ...(item.last !== undefined ? { last: Number(item.last), lastAt: String(item.lastAt) } : {}),
});

const cursorRefused = () =>
  new ControlPlaneError('VALIDATION_FAILED', 'cursor is not one this query returned', {
    details: [
      { in: 'query', path: 'cursor', message: 'a nextCursor from a page with the same meter and range' },
    ],
  });

export class UsageStore implements UsageReader {
  private readonly conflictAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly io: RegistryIo,
    options: UsageStoreOptions = {},
  ) {
    this.conflictAttempts = options.conflictAttempts ?? 8;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
  }

  /** Counts the event once per idempotency key. */
  async record(e: MeteredEvent): Promise<StoreOutcome> {
    const hour = hourOf(e.timestamp);
    const now = Math.floor(this.io.clock().getTime() / 1000);
    const items = [
      {
        Put: {
          TableName: this.io.tableName,
          Item: {
            ...usageEventKey(e.tenantId, e.idempotencyKey),
            kind: 'usage-key',
            tenantId: e.tenantId,
            meter: e.meter,
            hour,
            fingerprint: fingerprint(e),
            recordedAt: this.io.clock().toISOString(),
            expiresAt: e.expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': now },
        },
      },
      {
        Update: {
          TableName: this.io.tableName,
          Key: usageHourKey(e.tenantId, e.meter, hour),
          UpdateExpression: 'ADD #sum :q, #count :one SET #kind = :kind, meter = :meter, #hour = :hour',
          ExpressionAttributeNames: { '#sum': 'sum', '#count': 'count', '#kind': 'kind', '#hour': 'hour' },
          ExpressionAttributeValues: {
            ':q': e.quantity,
            ':one': 1,
            ':kind': 'usage-hour',
            ':meter': e.meter,
            ':hour': hour,
          },
        },
      },
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        await transact(this.io, items);
        await this.advance(e, hour);
        return 'accepted';
      } catch (err) {
        if (cancelledItems(err).includes(0)) return this.counted(e, hour);
        if (!isTransactionConflict(err) || attempt + 1 >= this.conflictAttempts) throw err;
        await this.sleep(backoffDelay({ baseMs: 20, maxMs: 500 }, attempt, this.random));
      }
    }
  }

  /** The key was counted before: the same event (a duplicate) or another one (a conflict). */
  private async counted(e: MeteredEvent, hour: string): Promise<StoreOutcome> {
    const out = await this.io.db.send(
      new GetCommand({
        TableName: this.io.tableName,
        Key: usageEventKey(e.tenantId, e.idempotencyKey),
        ConsistentRead: true,
      }),
    );
    if (out.Item?.fingerprint !== fingerprint(e)) return 'conflict';
    await this.advance(e, hour);
    return 'duplicate';
  }

  /** max / last: a conditional update that only moves forward, so repeating it changes nothing. */
  private async advance(e: MeteredEvent, hour: string): Promise<void> {
    if (e.aggregation === 'sum') return;
    const update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    } =
      e.aggregation === 'max'
        ? {
            UpdateExpression: 'SET #max = :q',
            ConditionExpression: 'attribute_not_exists(#max) OR #max < :q',
            ExpressionAttributeNames: { '#max': 'max' },
            ExpressionAttributeValues: { ':q': e.quantity },
          }
        : {
            // Ties on the timestamp break by idempotency key, so every order of delivery agrees.
            UpdateExpression: 'SET #last = :q, lastAt = :at, lastKey = :key',
            ConditionExpression:
              'attribute_not_exists(lastAt) OR lastAt < :at OR (lastAt = :at AND lastKey < :key)',
            ExpressionAttributeNames: { '#last': 'last' },
            ExpressionAttributeValues: {
              ':q': e.quantity,
              ':at': e.timestamp.toISOString(),
              ':key': e.idempotencyKey,
            },
          };
    try {
      await this.io.db.send(
        new UpdateCommand({
          TableName: this.io.tableName,
          Key: usageHourKey(e.tenantId, e.meter, hour),
          ...update,
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  /** One page of a meter's hours in `[from, to)`, oldest first. */
  async hourlyPage(
    tenantId: string,
    meter: string,
    from: Date,
    to: Date,
    page: { limit?: number; cursor?: string | undefined } = {},
  ): Promise<HourlyPage> {
    const prefix = `${USAGE_HOUR_PREFIX}${meter}#`;
    const low = `${prefix}${hourOf(from)}`;
    const high = `${prefix}${new Date(to.getTime() - 1).toISOString()}`;
    let start: Record<string, string> | undefined;
    if (page.cursor) {
      const sk = Buffer.from(page.cursor, 'base64url').toString('utf8');
      if (sk < low || sk > high) throw cursorRefused();
      start = { pk: usagePk(tenantId), sk };
    }
    const out = await this.io.db.send(
      new QueryCommand({
        TableName: this.io.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
        ExpressionAttributeValues: { ':pk': usagePk(tenantId), ':low': low, ':high': high },
        ConsistentRead: true,
        ...(page.limit ? { Limit: page.limit } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const last = out.LastEvaluatedKey?.sk;
    return {
      items: (out.Items ?? []).map(fromHourItem),
      nextCursor: last ? Buffer.from(String(last)).toString('base64url') : undefined,
    };
  }

  async hourly(tenantId: string, meter: string, from: Date, to: Date): Promise<HourlyAggregate[]> {
    const items: HourlyAggregate[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.hourlyPage(tenantId, meter, from, to, { cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  }
}

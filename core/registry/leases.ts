import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws/errors.js';
import { isOperationEnded, type OperationStatus } from '../lifecycle.js';
import {
  isSlotSk,
  isWaiterSk,
  leasePk,
  operationKey,
  ownerOperationId,
  slotKey,
  slotNumber,
  waiterKey,
} from './keys.js';

/**
 * Counted leases in the registry table: at most `capacity` holders of a named gate at once, across
 * processes and restarts. Waiters queue in arrival order: a slot is only taken by a waiter among
 * the first `free` in the queue. Keys: keys.ts (LEASE#<gate> / SLOT#<n>, WAIT#<ticket>#<owner>).
 *
 * Every slot and waiter has an owner (`<operationId>` or `<operationId>/<what>`) and an expiry:
 * - a slot expires after `ttlSeconds` unless its holder renews it (a poll past half the lease);
 * - a waiter expires after `waiterTtlSeconds` unless it polls again (each poll renews it), so a
 *   waiter whose process died stops holding its place ahead of later waiters once it expires;
 * - `release(owner)` and `releaseOperation(id)` free them on every exit (compensation, the end of
 *   the operation);
 * - `sweep()` deletes expired waiters and slots, and the slots and waiters whose owner operation
 *   has ended; a waiter that finds itself queued runs it (at most every `sweepEverySeconds`).
 */

export interface LeaseOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
  /** A waiter that has not polled for this long loses its place (default: min(ttl, 300 s)). */
  readonly waiterTtlSeconds?: number;
  /** How often a queued waiter looks for slots and waiters whose operation ended (default 30 s). */
  readonly sweepEverySeconds?: number;
  /** Whether an owner's operation has ended; default: reads the operation (missing counts as ended). */
  readonly operationEnded?: (operationId: string) => Promise<boolean>;
}

export type AcquireResult =
  | { readonly acquired: true; readonly slot: number }
  | { readonly acquired: false; readonly position: number };

/** A slot or waiter as stored. */
export interface LeaseItem {
  readonly sk: string;
  readonly owner?: string;
  readonly expiresAt?: number;
  readonly takenAt?: string;
  readonly queuedAt?: string;
}

/** What a gate holds right now: GET /v1/gates. */
export interface GateView {
  readonly gate: string;
  readonly capacity: number;
  readonly slots: {
    slot: number;
    owner: string;
    operationId?: string | undefined;
    takenAt?: string | undefined;
    expiresAt: string;
    expired: boolean;
  }[];
  readonly waiters: {
    position: number | null;
    owner: string;
    operationId?: string | undefined;
    queuedAt?: string | undefined;
    expiresAt: string;
    expired: boolean;
  }[];
}

const iso = (seconds: number | undefined) => new Date((seconds ?? 0) * 1000).toISOString();

/** The view of a gate's items at `now` (epoch seconds): live waiters numbered in queue order. */
export function describeGate(
  gate: string,
  capacity: number,
  items: readonly LeaseItem[],
  now: number,
): GateView {
  const live = (i: LeaseItem) => (i.expiresAt ?? 0) >= now;
  const slots = items
    .filter((i) => isSlotSk(i.sk) && i.owner)
    .map((i) => ({
      slot: slotNumber(i.sk),
      owner: i.owner!,
      operationId: ownerOperationId(i.owner!),
      takenAt: i.takenAt,
      expiresAt: iso(i.expiresAt),
      expired: !live(i),
    }))
    .sort((a, b) => a.slot - b.slot);
  let position = 0;
  const waiters = items
    .filter((i) => isWaiterSk(i.sk))
    .sort((a, b) => a.sk.localeCompare(b.sk))
    .map((i) => ({
      position: live(i) ? ++position : null,
      owner: i.owner ?? '',
      operationId: i.owner ? ownerOperationId(i.owner) : undefined,
      queuedAt: i.queuedAt,
      expiresAt: iso(i.expiresAt),
      expired: !live(i),
    }));
  return { gate, capacity, slots, waiters };
}

/** Reads every slot and waiter of a gate (one partition, consistent). */
export async function readGate(
  db: DynamoDBDocumentClient,
  tableName: string,
  gate: string,
): Promise<LeaseItem[]> {
  const items: LeaseItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': leasePk(gate) },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((out.Items ?? []) as LeaseItem[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

export class LeaseGate {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: () => Date;
  readonly waiterTtlSeconds: number;
  private readonly sweepEverySeconds: number;
  private readonly operationEnded: (operationId: string) => Promise<boolean>;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    options: LeaseOptions,
    readonly gate: string,
    readonly capacity: number,
    /** A holder that has not released after this long is presumed dead. */
    readonly ttlSeconds: number,
  ) {
    this.db = options.documents;
    this.table = options.tableName;
    this.clock = options.clock ?? (() => new Date());
    this.waiterTtlSeconds = options.waiterTtlSeconds ?? Math.min(ttlSeconds, 300);
    this.sweepEverySeconds = options.sweepEverySeconds ?? 30;
    this.operationEnded = options.operationEnded ?? ((id) => this.readOperationEnded(id));
  }

  private nowSeconds(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  private items(): Promise<LeaseItem[]> {
    return readGate(this.db, this.table, this.gate);
  }

  private async readOperationEnded(operationId: string): Promise<boolean> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: operationKey(operationId),
        ProjectionExpression: '#s',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    );
    return !out.Item || isOperationEnded({ status: out.Item.status as OperationStatus });
  }

  /** Holders right now (expired ones excluded). */
  async holders(): Promise<string[]> {
    const now = this.nowSeconds();
    return (await this.items())
      .filter((i) => isSlotSk(i.sk) && i.owner && (i.expiresAt ?? 0) >= now)
      .map((i) => i.owner!);
  }

  /** Slots, waiters, owners and expiries as they stand. */
  async inspect(): Promise<GateView> {
    return describeGate(this.gate, this.capacity, await this.items(), this.nowSeconds());
  }

  /**
   * Takes a slot for `owner`, or queues it. Idempotent: an owner that holds a slot gets it again
   * (with its expiry renewed), so a resumed workflow does not take a second one; a queued owner
   * keeps its place (and renews it) by calling again.
   */
  async acquire(owner: string, ticket: string): Promise<AcquireResult> {
    const now = this.nowSeconds();
    let items = await this.items();
    const mine = items.find((s) => isSlotSk(s.sk) && s.owner === owner && (s.expiresAt ?? 0) >= now);
    if (mine) {
      const slot = slotNumber(mine.sk);
      // Renew only past half the lease: a poll every few seconds must not write every time.
      if ((mine.expiresAt ?? 0) - now < this.ttlSeconds / 2) await this.takeSlot(slot, owner, now, true);
      this.known.set(owner, mine.sk);
      return { acquired: true, slot };
    }
    const waitSk = waiterKey(this.gate, ticket, owner).sk;
    // Expired waiters hold no place (queue() skips them); whoever sees one deletes it.
    for (const item of items)
      if (isWaiterSk(item.sk) && item.sk !== waitSk && (item.expiresAt ?? 0) < now) await this.remove(item);
    let queue = this.queue(items, now);
    // Fast path: nobody queued and a slot free: take it without queueing.
    if (queue.waiters.length === 0) {
      for (const slot of queue.free)
        if (await this.takeSlot(slot, owner, now, false)) return this.took(owner, slot);
    }
    const me = items.find((i) => i.sk === waitSk);
    if (!me || (me.expiresAt ?? 0) - now < this.waiterTtlSeconds / 2) {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...waiterKey(this.gate, ticket, owner),
            kind: 'waiter',
            owner,
            queuedAt: me?.queuedAt ?? this.clock().toISOString(),
            expiresAt: now + this.waiterTtlSeconds,
          },
        }),
      );
      if (!me || (me.expiresAt ?? 0) < now) queue = { ...queue, waiters: [...queue.waiters, waitSk].sort() };
    }
    let position = queue.waiters.indexOf(waitSk);
    if (position >= queue.free.length && now - this.lastSweep >= this.sweepEverySeconds) {
      // Queued behind someone: first drop the slots and waiters whose operation ended.
      this.lastSweep = now;
      if ((await this.sweepItems(items, now)) > 0) {
        items = await this.items();
        queue = this.queue(items, now);
        position = queue.waiters.indexOf(waitSk);
      }
    }
    if (position < 0 || position >= queue.free.length) {
      return { acquired: false, position: Math.max(1, position - queue.free.length + 1) };
    }
    for (const slot of queue.free) {
      if (await this.takeSlot(slot, owner, now, false)) {
        await this.db.send(
          new DeleteCommand({ TableName: this.table, Key: { pk: leasePk(this.gate), sk: waitSk } }),
        );
        return this.took(owner, slot);
      }
    }
    return { acquired: false, position: 1 };
  }

  /** Live waiters in queue order, and free slots from a random one on. */
  private queue(items: readonly LeaseItem[], now: number): { waiters: string[]; free: number[] } {
    const waiters = items
      .filter((i) => isWaiterSk(i.sk) && (i.expiresAt ?? 0) >= now)
      .map((i) => i.sk)
      .sort();
    const busy = new Set(
      items
        .filter((s) => isSlotSk(s.sk) && s.owner && (s.expiresAt ?? 0) >= now)
        .map((s) => slotNumber(s.sk)),
    );
    // Concurrent takers that all tried the lowest free slot first would collide on it, each losing
    // a conditional write per taker ahead of it.
    const offset = Math.floor(Math.random() * this.capacity);
    const free = Array.from({ length: this.capacity }, (_, i) => (i + offset) % this.capacity).filter(
      (i) => !busy.has(i),
    );
    return { waiters, free };
  }

  /** Slots this process took, so a release needs no query. */
  private readonly known = new Map<string, string>();

  private took(owner: string, slot: number): AcquireResult {
    this.known.set(owner, slotKey(this.gate, slot).sk);
    return { acquired: true, slot };
  }

  private async takeSlot(slot: number, owner: string, now: number, renew: boolean): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...slotKey(this.gate, slot),
            kind: 'slot',
            owner,
            expiresAt: now + this.ttlSeconds,
            takenAt: this.clock().toISOString(),
          },
          ConditionExpression: renew ? '#o = :o' : 'attribute_not_exists(#o) OR expiresAt < :now',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: renew ? { ':o': owner } : { ':now': now },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Deletes one item if it is still the one read (same owner and expiry). */
  private async remove(item: LeaseItem): Promise<boolean> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: leasePk(this.gate), sk: item.sk },
          ConditionExpression: '#o = :o AND expiresAt = :e',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': item.owner ?? '', ':e': item.expiresAt ?? 0 },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }

  /** Frees whatever `owner` holds or waits for. Safe to call twice. */
  async release(owner: string): Promise<void> {
    const knownSlot = this.known.get(owner);
    this.known.delete(owner);
    const targets = knownSlot
      ? [knownSlot]
      : (await this.items()).filter((i) => i.owner === owner).map((i) => i.sk);
    for (const sk of targets) await this.deleteOwned(sk, owner);
  }

  /** Frees every slot and waiter of an operation (its owners `<id>` and `<id>/…`): its end. */
  async releaseOperation(operationId: string): Promise<void> {
    for (const [owner] of this.known) if (ownerOperationId(owner) === operationId) this.known.delete(owner);
    for (const item of await this.items()) {
      if (item.owner && ownerOperationId(item.owner) === operationId)
        await this.deleteOwned(item.sk, item.owner);
    }
  }

  private async deleteOwned(sk: string, owner: string): Promise<void> {
    await this.db
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: leasePk(this.gate), sk },
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': owner },
        }),
      )
      .catch((e) => {
        if (!isConditionFailed(e)) throw e;
      });
  }

  /**
   * Deletes expired waiters and slots, and the slots and waiters whose owner operation has ended
   * (a crash before their release). Returns how many it deleted.
   */
  async sweep(): Promise<number> {
    this.lastSweep = this.nowSeconds();
    return this.sweepItems(await this.items(), this.lastSweep);
  }

  private async sweepItems(items: readonly LeaseItem[], now: number): Promise<number> {
    const ended = new Map<string, boolean>();
    let removed = 0;
    for (const item of items) {
      if (!item.owner) continue;
      let gone = (item.expiresAt ?? 0) < now;
      const operationId = ownerOperationId(item.owner);
      if (!gone && operationId) {
        if (!ended.has(operationId)) ended.set(operationId, await this.operationEnded(operationId));
        gone = ended.get(operationId)!;
      }
      if (gone && (await this.remove(item))) removed++;
    }
    return removed;
  }
}

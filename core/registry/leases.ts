import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';

/**
 * Counted leases in the registry table: at most `capacity` holders of a named gate at once, across
 * processes and restarts (conditional writes, expiry for holders that died). Waiters queue in
 * arrival order: a slot is only taken by a waiter among the first `free` in the queue.
 *
 *   LEASE#<gate> / SLOT#<n>              holder, expiresAt
 *   LEASE#<gate> / WAIT#<ticket>#<owner> queued waiter
 */

export interface LeaseOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
}

export type AcquireResult =
  | { readonly acquired: true; readonly slot: number }
  | { readonly acquired: false; readonly position: number };

interface SlotItem {
  sk: string;
  owner?: string;
  expiresAt?: number;
}

export class LeaseGate {
  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: () => Date;

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
  }

  private get pk(): string {
    return `LEASE#${this.gate}`;
  }

  private nowSeconds(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  private async items(): Promise<SlotItem[]> {
    const items: SlotItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': this.pk },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...((out.Items ?? []) as SlotItem[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** Holders right now (expired ones excluded). */
  async holders(): Promise<string[]> {
    const now = this.nowSeconds();
    return (await this.items())
      .filter((i) => i.sk.startsWith('SLOT#') && i.owner && (i.expiresAt ?? 0) >= now)
      .map((i) => i.owner!);
  }

  /**
   * Takes a slot for `owner`, or queues it. Idempotent: an owner that holds a slot gets it again
   * (with its expiry renewed), so a resumed workflow does not take a second one.
   */
  async acquire(owner: string, ticket: string): Promise<AcquireResult> {
    const now = this.nowSeconds();
    const items = await this.items();
    const slots = items.filter((i) => i.sk.startsWith('SLOT#'));
    const mine = slots.find((s) => s.owner === owner && (s.expiresAt ?? 0) >= now);
    if (mine) {
      const slot = Number(mine.sk.slice(5));
      // Renew only past half the lease: a poll every few seconds must not write every time.
      if ((mine.expiresAt ?? 0) - now < this.ttlSeconds / 2) await this.takeSlot(slot, owner, now, true);
      this.known.set(owner, mine.sk);
      return { acquired: true, slot };
    }
    const waitSk = `WAIT#${ticket}#${owner}`;
    const waiters = items.filter((i) => i.sk.startsWith('WAIT#')).map((i) => i.sk);
    const busy = new Set(
      slots.filter((s) => s.owner && (s.expiresAt ?? 0) >= now).map((s) => Number(s.sk.slice(5))),
    );
    // Free slots from a random one on: concurrent takers that all tried the lowest free slot first
    // would collide on it, each losing a conditional write per taker ahead of it.
    const offset = Math.floor(Math.random() * this.capacity);
    const free = Array.from({ length: this.capacity }, (_, i) => (i + offset) % this.capacity).filter(
      (i) => !busy.has(i),
    );
    // Fast path: nobody queued and a slot free: take it without queueing.
    if (waiters.length === 0) {
      for (const slot of free)
        if (await this.takeSlot(slot, owner, now, false)) return this.took(owner, slot);
    }
    if (!waiters.includes(waitSk)) {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: this.pk, sk: waitSk, owner, expiresAt: now + this.ttlSeconds },
        }),
      );
      waiters.push(waitSk);
    }
    waiters.sort();
    const position = waiters.indexOf(waitSk);
    if (position >= free.length) return { acquired: false, position: position - free.length + 1 };
    for (const slot of free) {
      if (await this.takeSlot(slot, owner, now, false)) {
        await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: this.pk, sk: waitSk } }));
        return this.took(owner, slot);
      }
    }
    return { acquired: false, position: 1 };
  }

  /** Slots this process took, so a release needs no query. */
  private readonly known = new Map<string, string>();

  private took(owner: string, slot: number): AcquireResult {
    this.known.set(owner, `SLOT#${slot}`);
    return { acquired: true, slot };
  }

  private async takeSlot(slot: number, owner: string, now: number, renew: boolean): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: this.pk,
            sk: `SLOT#${slot}`,
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
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
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
    for (const sk of targets) {
      await this.db
        .send(
          new DeleteCommand({
            TableName: this.table,
            Key: { pk: this.pk, sk },
            ConditionExpression: '#o = :o',
            ExpressionAttributeNames: { '#o': 'owner' },
            ExpressionAttributeValues: { ':o': owner },
          }),
        )
        .catch((e) => {
          if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
        });
    }
  }
}

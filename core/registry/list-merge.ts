import { ControlPlaneError } from '../errors.js';

/**
 * Cursor pagination over several sorted partitions (the shards of a list index). A page asks each
 * unfinished shard for its share of `limit` and half as much again, after its own position, merges them
 * newest first and keeps `limit`; a shard whose last fetched item is still newer than the page's
 * last is asked for more (its unseen items could belong on the page), with a doubling batch. Each
 * shard advances only past what it contributed. On evenly spread shards a page reads about
 * 1.7 × `limit` items, nearly always in one round, never more than shards × `limit`, whatever the
 * number of tenants.
 */

export type Key = Record<string, unknown>;

export interface ShardCursor {
  /** Last key consumed from this shard; undefined = from the start. */
  readonly after?: Key | undefined;
  readonly done: boolean;
}

export interface ShardPage<T> {
  readonly items: readonly { item: T; key: Key; sortKey: string }[];
  /** True when the shard has nothing after the returned items. */
  readonly exhausted: boolean;
  /**
   * A filtered query's LastEvaluatedKey: how far it read. When it returned no item, nothing up to
   * there matches, so the shard moves on past it (else a shard of non-matching items would stall).
   */
  readonly scannedTo?: Key | undefined;
}

export type QueryShard<T> = (shard: number, after: Key | undefined, limit: number) => Promise<ShardPage<T>>;

export function encodeCursor(shards: readonly ShardCursor[]): string {
  return Buffer.from(JSON.stringify(shards)).toString('base64url');
}

export function decodeCursor(cursor: string, shardCount: number): ShardCursor[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.length === shardCount &&
    parsed.every(
      (s) =>
        s &&
        typeof s === 'object' &&
        typeof s.done === 'boolean' &&
        (s.after === undefined ||
          (typeof s.after === 'object' && s.after !== null && !Array.isArray(s.after))),
    );
  if (!valid) {
    throw new ControlPlaneError(
      'VALIDATION_FAILED',
      'cursor is not one this API returned; pass nextCursor from a previous page as is',
      {
        details: [{ path: 'cursor', message: 'an opaque cursor from nextCursor' }],
      },
    );
  }
  return parsed as ShardCursor[];
}

export async function mergeShards<T>(
  shardCount: number,
  limit: number,
  cursor: string | undefined,
  query: QueryShard<T>,
): Promise<{ items: T[]; nextCursor: string | undefined }> {
  const state: ShardCursor[] = cursor
    ? decodeCursor(cursor, shardCount)
    : Array.from({ length: shardCount }, () => ({ done: false }));
  type Entry = ShardPage<T>['items'][number] & { shard: number };
  const fetched: Entry[][] = state.map(() => []);
  const exhausted = state.map((s) => s.done);
  const position = state.map((s) => s.after);
  // Where a filtered shard skipped to before it returned anything: its cursor if it contributes nothing.
  const skipped: (Key | undefined)[] = state.map(() => undefined);
  const open = state.filter((s) => !s.done).length;
  // Half as much again as an even share: with just the share plus two, 78% of pages on even shards
  // needed a second round (another Query per shard, another round trip); with this, 2%, and fewer
  // items read overall (85 against 89 for 50-item pages, simulated).
  let batch = Math.min(limit, Math.ceil((limit / Math.max(open, 1)) * 1.5) + 2);
  let wanted = state.flatMap((s, shard) => (s.done ? [] : [shard]));
  let candidates: Entry[] = [];
  while (wanted.length > 0) {
    const pages = await Promise.all(wanted.map((shard) => query(shard, position[shard], batch)));
    const stalled = new Set<number>();
    pages.forEach((page, i) => {
      const shard = wanted[i]!;
      fetched[shard]!.push(...page.items.map((entry) => ({ ...entry, shard })));
      exhausted[shard] = page.exhausted;
      if (page.items.length > 0) position[shard] = page.items[page.items.length - 1]!.key;
      else if (page.scannedTo && !page.exhausted) {
        position[shard] = page.scannedTo;
        if (fetched[shard]!.length === 0) skipped[shard] = page.scannedTo;
      }
      // An empty answer that is not the end: ask again on the next page, not in a loop here.
      else stalled.add(shard);
    });
    candidates = fetched.flat();
    // Newest first; ties (impossible with ULIDs, but cheap to make deterministic) by shard.
    candidates.sort((a, b) => (a.sortKey < b.sortKey ? 1 : a.sortKey > b.sortKey ? -1 : a.shard - b.shard));
    const boundary = candidates.length >= limit ? candidates[limit - 1]!.sortKey : undefined;
    // A shard's unseen items are older than its last fetched one: only a shard whose last fetched
    // item is newer than the page's last (or any, while the page is short) can change the page.
    wanted = fetched.flatMap((items, shard) => {
      // A finished shard starts out exhausted.
      if (exhausted[shard] || stalled.has(shard)) return [];
      const last = items[items.length - 1]?.sortKey;
      return boundary === undefined || last === undefined || last > boundary ? [shard] : [];
    });
    batch = Math.min(limit, batch * 2);
  }
  const taken = candidates.slice(0, limit);
  const next: ShardCursor[] = state.map((s, shard) => {
    if (s.done) return s;
    const mine = taken.filter((c) => c.shard === shard);
    const consumedAll = mine.length === fetched[shard]!.length;
    const after = mine.length > 0 ? mine[mine.length - 1]!.key : (skipped[shard] ?? s.after);
    return { after, done: consumedAll && exhausted[shard]! };
  });
  const more = next.some((s) => !s.done);
  return { items: taken.map((c) => c.item), nextCursor: more ? encodeCursor(next) : undefined };
}

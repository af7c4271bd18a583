import { ControlPlaneError } from '../errors.js';

/**
 * Cursor pagination over several sorted partitions (the shards of a list index). Each page asks
 * every unfinished shard for at most `limit` items after its own position, merges them newest
 * first, keeps `limit`, and advances each shard only past what it contributed. The cost of a page
 * is bounded by shards × limit, whatever the number of tenants.
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
  const pages = await Promise.all(
    state.map((s, shard) => (s.done ? Promise.resolve(undefined) : query(shard, s.after, limit))),
  );
  const candidates = pages.flatMap((page, shard) =>
    page ? page.items.map((entry, index) => ({ ...entry, shard, index })) : [],
  );
  // Newest first; ties (impossible with ULIDs, but cheap to make deterministic) by shard.
  candidates.sort((a, b) => (a.sortKey < b.sortKey ? 1 : a.sortKey > b.sortKey ? -1 : a.shard - b.shard));
  const taken = candidates.slice(0, limit);
  const next: ShardCursor[] = state.map((s, shard) => {
    const page = pages[shard];
    if (!page) return s;
    const mine = taken.filter((c) => c.shard === shard);
    const consumedAll = mine.length === page.items.length;
    const after = mine.length > 0 ? mine[mine.length - 1]!.key : s.after;
    return { after, done: consumedAll && page.exhausted };
  });
  const more = next.some((s) => !s.done);
  return { items: taken.map((c) => c.item), nextCursor: more ? encodeCursor(next) : undefined };
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Key, mergeShards, type QueryShard } from './list-merge.js';

/** In-memory shards, each sorted newest first, answering like a DynamoDB Query with Limit. */
function shards(sortKeys: string[], shardOf: (i: number) => number, count: number) {
  const parts: string[][] = Array.from({ length: count }, () => []);
  sortKeys.forEach((k, i) => {
    parts[shardOf(i)]!.push(k);
  });
  for (const p of parts) p.sort().reverse();
  let read = 0;
  const query: QueryShard<string> = async (shard, after, limit) => {
    const part = parts[shard]!;
    const start = after ? part.indexOf(after.sk as string) + 1 : 0;
    const items = part.slice(start, start + limit);
    read += items.length;
    return {
      items: items.map((k) => ({ item: k, key: { sk: k } as Key, sortKey: k })),
      exhausted: start + items.length >= part.length,
    };
  };
  return { query, reads: () => read };
}

async function pageThrough(query: QueryShard<string>, count: number, limit: number) {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await mergeShards(count, limit, cursor, query);
    pages.push(page.items);
    cursor = page.nextCursor;
  } while (cursor && pages.length < 10_000);
  return pages;
}

const keys = (n: number) => Array.from({ length: n }, (_, i) => `k${String(i).padStart(6, '0')}`);

describe('mergeShards', () => {
  it('pages through any spread of items over the shards: every item once, newest first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 60 }),
        async (spread, limit) => {
          const all = keys(spread.length);
          const { query } = shards(all, (i) => spread[i]!, 4);
          const pages = await pageThrough(query, 4, limit);
          expect(pages.flat()).toEqual([...all].reverse());
          expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads about a page of items per page when the shards are even, and at most shards × limit', async () => {
    const all = keys(10_000);
    const even = shards(all, (i) => (i * 7919) % 4, 4);
    await mergeShards(4, 50, undefined, even.query);
    expect(even.reads()).toBeLessThanOrEqual(4 * 21); // one round of 21 per shard; it was 4 × 50
    expect(even.reads()).toBeGreaterThanOrEqual(50);

    const skewed = shards(all, () => 2, 4);
    await mergeShards(4, 50, undefined, skewed.query);
    expect(skewed.reads()).toBeLessThanOrEqual(4 * 50);
  });

  it('pages through filtered shards (a FilterExpression after Limit): every match once, none stalls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()), { maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        async (spec, limit) => {
          const all = keys(spec.length);
          const matches = new Set(all.filter((_, i) => spec[i]![1]));
          const parts: string[][] = [[], [], [], []];
          all.forEach((k, i) => {
            parts[spec[i]![0]]!.push(k);
          });
          for (const p of parts) p.sort().reverse();
          // Like DynamoDB: Limit items are read, the filter drops some, LastEvaluatedKey says how far.
          const query: QueryShard<string> = async (shard, after, max) => {
            const part = parts[shard]!;
            const start = after ? part.indexOf(after.sk as string) + 1 : 0;
            const read = part.slice(start, start + max);
            const exhausted = start + read.length >= part.length;
            return {
              items: read.filter((k) => matches.has(k)).map((k) => ({ item: k, key: { sk: k }, sortKey: k })),
              exhausted,
              scannedTo: exhausted || read.length === 0 ? undefined : { sk: read[read.length - 1]! },
            };
          };
          const pages = await pageThrough(query, 4, limit);
          expect(pages.flat()).toEqual([...all].reverse().filter((k) => matches.has(k)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { expect } from 'vitest';
import { ERROR_CATALOGUE } from '../../../core/errors.js';
import type { TestApp } from '../../api/harness.js';

/**
 * The two checks of the bad-input suites: an answer is a 4xx carrying a catalogue code with that
 * code's status (never a 5xx), and a property leaves the registry table holding the items it held.
 */

/** Sends a request; the answer must be a catalogued 4xx. */
export async function expectCatalogued4xx(
  h: TestApp,
  label: string,
  request: InjectOptions & { key?: string | null },
): Promise<void> {
  const res = await h.call(request);
  const body = res.headers['content-type']?.toString().includes('json') ? res.json() : undefined;
  const code = body?.error?.code as keyof typeof ERROR_CATALOGUE | undefined;
  const where = `${label}: ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, where).toBeLessThan(500);
  expect(code && code in ERROR_CATALOGUE, where).toBe(true);
  expect(ERROR_CATALOGUE[code!].status, where).toBe(res.statusCode);
}

/** Runs a property and checks the registry holds the same items afterwards. */
export async function unchanged(h: TestApp, property: () => Promise<void>): Promise<void> {
  const before = await h.countItems();
  await property();
  expect(await h.countItems()).toBe(before);
}

/** A value of a JSON type no field of the API takes where a string (or an object) is expected. */
export const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

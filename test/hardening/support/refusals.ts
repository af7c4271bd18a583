import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { ERROR_CATALOGUE } from '../../../core/errors.js';
import type { TestApp } from '../../api/harness.js';

/** A refusal as the hardening suite requires it: a 4xx carrying a catalogue code with that code's status. */
export function expectCataloguedRefusal(res: LightMyRequestResponse, label: string): void {
  const body = res.headers['content-type']?.toString().includes('json') ? res.json() : undefined;
  const code = body?.error?.code as keyof typeof ERROR_CATALOGUE | undefined;
  const where = `${label}: ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, where).toBeLessThan(500);
  expect(code && code in ERROR_CATALOGUE, where).toBe(true);
  expect(ERROR_CATALOGUE[code!].status, where).toBe(res.statusCode);
}

/** Runs `property` and checks the registry table holds the same items afterwards. */
export async function writesNothing(app: TestApp, property: () => Promise<void>): Promise<void> {
  const before = await app.countItems();
  await property();
  expect(await app.countItems()).toBe(before);
}

/** Path segments that are neither a tenant id nor a slug (traversal, case, length, encodings). */
export const BAD_TENANT_REFS: readonly string[] = [
  '..',
  '..%2F..%2Fetc',
  '%2e%2e%2f',
  'ACME',
  'a',
  'ab',
  '1abc',
  'abc-',
  't_123',
  `t_${'0'.repeat(26)}I`,
  't_0000000000000000000000000L',
  'a%00b',
  '%F0%9F%99%82',
  'x'.repeat(70),
];

/** Sends a request; the answer must be a catalogued 4xx. */
export async function expectCatalogued4xx(
  h: TestApp,
  label: string,
  request: InjectOptions & { key?: string | null },
): Promise<void> {
  expectCataloguedRefusal(await h.call(request), label);
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

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../core/errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

/** `code → status` from the tables of docs/errors.md. */
function documented(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) rows.set(m[1]!, Number(m[2]));
  return rows;
}

describe('docs/errors.md', () => {
  it('documents every catalogue code with its HTTP status', () => {
    const rows = documented();
    const missing = Object.keys(ERROR_CATALOGUE).filter((code) => !rows.has(code));
    expect(missing, 'codes missing from docs/errors.md').toEqual([]);
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE))
      expect(rows.get(code), code).toBe(spec.status);
  });

  it('documents no code the catalogue does not have', () => {
    const extra = [...documented().keys()].filter((code) => !(code in ERROR_CATALOGUE));
    expect(extra).toEqual([]);
  });
});

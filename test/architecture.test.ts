import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Imports flow one way: control-plane → workflows → templates → tiers → core. */
const LAYERS = ['core', 'tiers', 'templates', 'workflows', 'control-plane'];
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [path] : [];
  });
}

describe('architecture', () => {
  it('no shipped module imports a layer above its own, nor test code', () => {
    const violations: string[] = [];
    for (const [rank, layer] of LAYERS.entries()) {
      for (const file of sourceFiles(join(root, layer))) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
          const target = relative(root, resolve(dirname(file), m[1]!)).split('/')[0]!;
          const targetRank = LAYERS.indexOf(target);
          if (target === 'test' || targetRank > rank)
            violations.push(`${relative(root, file)} imports ${m[1]}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});

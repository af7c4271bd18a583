import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Imports flow one way: control-plane → tenant-access → workflows → templates → tiers → core.
 * examples/ (applications) sit above them all and enter only through tenant-access/index.js.
 */
const LAYERS = ['core', 'tiers', 'templates', 'workflows', 'tenant-access', 'control-plane', 'examples'];
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [path] : [];
  });
}

/** Every relative import of every shipped module: the importing file, the specifier, its target. */
function imports(): { file: string; layer: string; specifier: string; target: string }[] {
  return LAYERS.flatMap((layer) =>
    sourceFiles(join(root, layer)).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map(
        (m) => ({
          file: relative(root, file),
          layer,
          specifier: m[1]!,
          target: relative(root, resolve(dirname(file), m[1]!)),
        }),
      ),
    ),
  );
}

describe('architecture', () => {
  it('no shipped module imports a layer above its own, nor test code', () => {
    const violations = imports()
      .filter(({ layer, target }) => {
        const targetLayer = target.split('/')[0]!;
        return targetLayer === 'test' || LAYERS.indexOf(targetLayer) > LAYERS.indexOf(layer);
      })
      .map(({ file, specifier }) => `${file} imports ${specifier}`);
    expect(violations).toEqual([]);
  });

  it("a layer with an index.ts is entered only through it: another layer's modules import its index.js", () => {
    // templates/, workflows/ and tenant-access/ have one; core/ and tiers/ are libraries of independent modules.
    const gated = LAYERS.filter((layer) => existsSync(join(root, layer, 'index.ts')));
    expect(gated).toEqual(['templates', 'workflows', 'tenant-access']);
    const violations = imports()
      .filter(({ layer, target }) => {
        const targetLayer = target.split('/')[0]!;
        return targetLayer !== layer && gated.includes(targetLayer) && target !== `${targetLayer}/index.js`;
      })
      .map(({ file, specifier }) => `${file} imports ${specifier}`);
    expect(violations).toEqual([]);
  });

  it('the tenant access kit is for applications: it never imports the workflows or the control plane', () => {
    const violations = imports()
      .filter(({ layer, target }) => layer === 'tenant-access' && /^(workflows|control-plane)\//.test(target))
      .map(({ file, specifier }) => `${file} imports ${specifier}`);
    expect(violations).toEqual([]);
  });

  it('an example application imports the repository only through tenant-access/index.js', () => {
    const violations = imports()
      .filter(({ layer, target }) => {
        const targetLayer = target.split('/')[0]!;
        return layer === 'examples' && targetLayer !== 'examples' && target !== 'tenant-access/index.js';
      })
      .map(({ file, specifier }) => `${file} imports ${specifier}`);
    expect(violations).toEqual([]);
  });
});

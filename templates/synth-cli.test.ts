import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynthCommand, type SynthCommandIo } from './synth-cli.js';
import { templateVersionId } from './synthesis.js';

const root = mkdtempSync(join(tmpdir(), 'tcp-synth-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function io(): SynthCommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env: { CONTROL_PLANE_DATA_DIR: join(root, 'data') },
  };
}

describe('synth command', () => {
  it('writes the template and prints its version id', async () => {
    const term = io();
    const outDir = join(root, 'out');
    expect(
      await runSynthCommand(['synth', '--isolation', 'pool', '--target', 'moto', '--out', outDir], term),
    ).toBe(0);
    const [versionId] = term.out;
    expect(versionId).toMatch(/^[0-9a-f]{12}$/);
    const files = readdirSync(outDir);
    expect(files).toEqual([`pool.moto.${versionId}.template.json`]);
    const body = readFileSync(join(outDir, files[0] as string), 'utf8');
    expect(templateVersionId(body)).toBe(versionId);
    expect(JSON.parse(body).Resources).toBeDefined();
    // The template cache lives under the data directory.
    expect(readdirSync(join(root, 'data', 'templates'))).toHaveLength(1);
  });

  it.each([
    [['synth'], '--isolation must be one of'],
    [['synth', '--isolation', 'hybrid'], 'got hybrid'],
    [['synth', '--isolation', 'pool', '--target', 'gcp'], '--target must be one of'],
    [['synth', '--isolation', 'pool', '--colour', 'blue'], 'Unknown option'],
  ])('exits 2 with usage for %j', async (argv, message) => {
    const term = io();
    expect(await runSynthCommand(argv, term)).toBe(2);
    expect(term.err.join('\n')).toContain(message);
    expect(term.err.join('\n')).toContain('Usage: tenantctl synth');
    expect(term.out).toEqual([]);
  });

  it('prints usage for --help', async () => {
    const term = io();
    expect(await runSynthCommand(['--help'], term)).toBe(0);
    expect(term.out[0]).toContain('--isolation pool|bridge|silo|platform');
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.js';
import { SynthesisService } from './synthesis.js';
import { TEMPLATE_KINDS, TEMPLATE_TARGETS, type TemplateKind, type TemplateTarget } from './types.js';

export const SYNTH_USAGE = `Usage: tenantctl synth --isolation pool|bridge|silo|platform [--target aws|moto] [--out DIR]

Synthesizes the CloudFormation template of an isolation model (or the platform), writes it to
DIR/<kind>.<target>.<version>.template.json (DIR defaults to cdk.out) and prints its version id.
Templates are cached under $CONTROL_PLANE_DATA_DIR/templates (default .data/templates).`;

export interface SynthCommandIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const defaultIo: SynthCommandIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

/**
 * `synth --isolation … [--target …] [--out …]`. `argv` is what follows the program name, with or
 * without the leading `synth`. Returns the exit code: 0 done, 1 synthesis failed, 2 bad usage.
 */
export async function runSynthCommand(
  argv: readonly string[],
  io: SynthCommandIo = defaultIo,
): Promise<number> {
  const args = argv[0] === 'synth' ? argv.slice(1) : [...argv];
  let values: { isolation?: string; target?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        isolation: { type: 'string' },
        target: { type: 'string', default: 'aws' },
        out: { type: 'string', default: 'cdk.out' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr(`${describeError(e)}\n\n${SYNTH_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(SYNTH_USAGE);
    return 0;
  }
  const kind = values.isolation as TemplateKind;
  const target = values.target as TemplateTarget;
  if (!TEMPLATE_KINDS.includes(kind)) {
    io.stderr(
      `--isolation must be one of ${TEMPLATE_KINDS.join(', ')}; got ${values.isolation ?? 'nothing'}\n\n${SYNTH_USAGE}`,
    );
    return 2;
  }
  if (!TEMPLATE_TARGETS.includes(target)) {
    io.stderr(
      `--target must be one of ${TEMPLATE_TARGETS.join(', ')}; got ${values.target}\n\n${SYNTH_USAGE}`,
    );
    return 2;
  }
  try {
    const cacheDir = join(io.env.CONTROL_PLANE_DATA_DIR || '.data', 'templates');
    const template = await new SynthesisService({ cacheDir }).resolve(kind, target);
    const outDir = resolve(values.out ?? 'cdk.out');
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, `${kind}.${target}.${template.versionId}.template.json`);
    // The exact body that is deployed, so its sha256 matches the version id.
    await writeFile(file, template.body);
    io.stderr(`wrote ${file} (${template.bytes} bytes)`);
    io.stdout(template.versionId);
    return 0;
  } catch (e) {
    io.stderr(`synth failed: ${describeError(e)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runSynthCommand(process.argv.slice(2));
}

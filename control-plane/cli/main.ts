import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { intOption, parseCommandLine, str, UsageError, usage } from './args.js';
import { ApiClient, ApiError } from './client.js';
import { COMMAND_HANDLERS, type CommandEnv } from './commands.js';
import type { Output } from './render.js';

/**
 * tenantctl: `runCli(argv, io)` runs one command and resolves to its exit status. The bin
 * (bin/tenantctl.mjs) calls it with the process's streams; tests call it with captured ones.
 */

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where a relative data directory is resolved (default process.cwd()). */
  readonly cwd?: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';
const DEFAULT_POLL_MS = 500;

/** --key, TENANTCTL_KEY, CONTROL_PLANE_ADMIN_KEY, then the local admin key file (a convenience). */
async function resolveKey(
  flag: string | undefined,
  io: CliIo,
  dataDir: string | undefined,
): Promise<string | undefined> {
  const given = flag ?? io.env.TENANTCTL_KEY ?? io.env.CONTROL_PLANE_ADMIN_KEY;
  if (given) return given;
  const dir = resolve(io.cwd ?? process.cwd(), dataDir ?? io.env.CONTROL_PLANE_DATA_DIR ?? '.data');
  try {
    return (await readFile(resolve(dir, 'admin-key'), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

type SynthModule = { runSynthCommand?: (argv: string[]) => unknown };

async function runSynth(argv: readonly string[], io: CliIo): Promise<number> {
  // Loaded on demand: the templates layer is heavy (CDK) and every other command does without it.
  const specifier = '../../templates/synth-cli.js';
  let mod: SynthModule;
  try {
    mod = (await import(specifier)) as SynthModule;
  } catch (e) {
    io.stderr.write(`synth is not available: ${(e as Error).message}\n`);
    return 1;
  }
  if (typeof mod.runSynthCommand !== 'function') {
    io.stderr.write('synth is not available: templates/synth-cli.ts exports no runSynthCommand\n');
    return 1;
  }
  const code = await mod.runSynthCommand([...argv]);
  return typeof code === 'number' ? code : 0;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let json = false;
  try {
    const cmd = parseCommandLine(argv);
    json = cmd.options.json === true;
    if (cmd.command === 'help') {
      io.stdout.write(usage(cmd.positionals[0]));
      return 0;
    }
    if (cmd.command === 'synth') return await runSynth(cmd.rest, io);
    const baseUrl = str(cmd.options.url) ?? io.env.TENANTCTL_URL ?? DEFAULT_URL;
    const client = new ApiClient({
      baseUrl,
      key: await resolveKey(str(cmd.options.key), io, str(cmd.options['data-dir'])),
      ...(io.fetch ? { fetch: io.fetch } : {}),
    });
    const env: CommandEnv = {
      client,
      stdout: io.stdout,
      stderr: io.stderr,
      json,
      pollMs: intOption(cmd.options.interval, 'interval') ?? DEFAULT_POLL_MS,
      now: io.now ?? Date.now,
      sleep: io.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      local: {
        dataDir: resolve(
          io.cwd ?? process.cwd(),
          str(cmd.options['data-dir']) ?? io.env.CONTROL_PLANE_DATA_DIR ?? '.data',
        ),
        registryTable: io.env.REGISTRY_TABLE ?? 'tenant-control-plane-registry',
        url: baseUrl,
      },
    };
    return await COMMAND_HANDLERS[cmd.command](env, cmd);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`tenantctl: ${e.message}\nrun tenantctl --help for usage\n`);
      return 1;
    }
    if (e instanceof ApiError) {
      if (json)
        io.stderr.write(
          `${JSON.stringify({ error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } })}\n`,
        );
      else io.stderr.write(`error: ${e.code}: ${e.message}\n${renderDetails(e.details)}`);
      return 1;
    }
    throw e;
  }
}

function renderDetails(details: unknown): string {
  if (!Array.isArray(details)) return '';
  return details
    .map((d) =>
      d && typeof d === 'object' && 'path' in d
        ? `  - ${(d as { in?: string }).in ? `${(d as { in: string }).in} ` : ''}${(d as { path: string }).path}: ${(d as { message?: string }).message ?? ''}\n`
        : '',
    )
    .join('');
}

// `tsx control-plane/cli/main.ts …` works too, besides the bin.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}

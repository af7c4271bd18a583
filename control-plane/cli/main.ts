import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
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

/**
 * The data directory: --data-dir or CONTROL_PLANE_DATA_DIR (relative to the working directory), else
 * the nearest `.data` holding an admin key here or in a parent, so tenantctl works from a
 * subdirectory of the project; `<cwd>/.data` when there is none.
 */
export function findDataDir(cwd: string, given: string | undefined): string {
  if (given) return resolve(cwd, given);
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.data', 'admin-key'))) return join(dir, '.data');
    if (dirname(dir) === dir) return resolve(cwd, '.data');
  }
}

/** --key, TENANTCTL_KEY, CONTROL_PLANE_ADMIN_KEY, then the local admin key file (a convenience). */
async function resolveKey(flag: string | undefined, io: CliIo, dataDir: string): Promise<string | undefined> {
  const given = flag ?? io.env.TENANTCTL_KEY ?? io.env.CONTROL_PLANE_ADMIN_KEY;
  if (given) return given;
  try {
    return (await readFile(resolve(dataDir, 'admin-key'), 'utf8')).trim() || undefined;
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
  let keyless: string | undefined;
  try {
    const cmd = parseCommandLine(argv);
    json = cmd.options.json === true;
    if (cmd.command === 'help') {
      io.stdout.write(usage(cmd.positionals[0]));
      return 0;
    }
    if (cmd.command === 'synth') return await runSynth(cmd.rest, io);
    const baseUrl = str(cmd.options.url) ?? io.env.TENANTCTL_URL ?? DEFAULT_URL;
    const dataDir = findDataDir(
      io.cwd ?? process.cwd(),
      str(cmd.options['data-dir']) ?? io.env.CONTROL_PLANE_DATA_DIR,
    );
    const key = await resolveKey(str(cmd.options.key), io, dataDir);
    if (!key) keyless = dataDir;
    const client = new ApiClient({
      baseUrl,
      key,
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
        dataDir,
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
      else {
        const lines = renderDetails(e.details);
        // The message restates the first fields ("invalid request: body x: …"); with the list below it, once is enough.
        const message = lines ? e.message.replace(/^(invalid request):.*$/s, '$1') : e.message;
        io.stderr.write(`error: ${e.code}: ${message}\n${lines}`);
        if (e.code === 'UNAUTHENTICATED' && keyless)
          io.stderr.write(
            `hint: no API key was given and none was found in ${join(keyless, 'admin-key')} (nor in a .data of a parent directory); pass --key, set TENANTCTL_KEY, or run from the project directory\n`,
          );
      }
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

import { parseArgs } from 'node:util';

/**
 * tenantctl's command line: one table of commands (their options and positionals) that drives
 * parsing, validation and the help text, so the three cannot disagree.
 */

type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  readonly help: string;
};

export const GLOBAL_OPTIONS = {
  url: { type: 'string', help: 'control plane URL (TENANTCTL_URL; default http://127.0.0.1:3000)' },
  key: {
    type: 'string',
    help: 'API key or JWT (TENANTCTL_KEY, CONTROL_PLANE_ADMIN_KEY, or <data-dir>/admin-key)',
  },
  'data-dir': {
    type: 'string',
    help: 'local data directory holding admin-key (CONTROL_PLANE_DATA_DIR; default .data)',
  },
  json: { type: 'boolean', help: 'print JSON (for scripts) instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
} as const satisfies Record<string, OptionSpec>;

const COMMAND_OPTIONS = {
  name: { type: 'string', help: 'tenant display name' },
  tier: { type: 'string', help: 'tier name (see `tenantctl tiers`)' },
  email: { type: 'string', help: "tenant admin's email" },
  slug: { type: 'string', help: 'DNS-safe tenant slug (derived from the name when absent)' },
  region: { type: 'string', help: 'AWS region of the tenant' },
  reason: { type: 'string', help: 'why the tenant is suspended (audit trail)' },
  state: { type: 'string', help: 'filter by lifecycle state, e.g. ACTIVE' },
  limit: { type: 'string', help: 'page size' },
  cursor: { type: 'string', help: 'nextCursor of the previous page' },
  wait: { type: 'boolean', help: 'follow the operation until it ends (exit 2 if it fails)' },
  interval: { type: 'string', help: 'poll interval in ms while waiting (default 500)' },
  'idempotency-key': {
    type: 'string',
    help: 'send this Idempotency-Key: a retry with it never repeats the change',
  },
  out: { type: 'string', help: 'write the export (manifest, parts, objects) into this directory' },
  user: { type: 'string', help: 'the username (the email it was added with)' },
} as const satisfies Record<string, OptionSpec>;

type CommandOption = keyof typeof COMMAND_OPTIONS;

export interface CommandSpec {
  readonly summary: string;
  readonly positionals: readonly string[];
  readonly options: readonly CommandOption[];
  readonly required?: readonly CommandOption[];
}

const MUTATING: CommandOption[] = ['wait', 'interval', 'idempotency-key'];

export const COMMANDS = {
  onboard: {
    summary: 'onboard a tenant',
    positionals: [],
    options: ['name', 'tier', 'email', 'slug', 'region', ...MUTATING],
    required: ['name', 'tier', 'email'],
  },
  get: { summary: 'show a tenant (by id or slug)', positionals: ['tenant'], options: [] },
  list: {
    summary: 'list tenants, newest first',
    positionals: [],
    options: ['tier', 'state', 'limit', 'cursor'],
  },
  'change-tier': { summary: "change a tenant's tier", positionals: ['tenant', 'tier'], options: MUTATING },
  suspend: {
    summary: 'suspend a tenant',
    positionals: ['tenant'],
    options: ['reason', ...MUTATING],
    required: ['reason'],
  },
  resume: { summary: 'resume a suspended tenant', positionals: ['tenant'], options: MUTATING },
  offboard: {
    summary: 'offboard a tenant (its record and audit trail are kept)',
    positionals: ['tenant'],
    options: MUTATING,
  },
  events: { summary: "show a tenant's audit trail", positionals: ['tenant'], options: ['limit', 'cursor'] },
  export: {
    summary: "show a tenant's data export (written by offboarding); --out DIR downloads it",
    positionals: ['tenant'],
    options: ['out'],
  },
  watch: {
    summary: 'follow an operation until it ends',
    positionals: ['operationId'],
    options: ['interval'],
  },
  users: {
    summary: "add (--email), list or disable (--user) a tenant's users",
    positionals: ['add|list|disable', 'tenant'],
    options: ['email', 'user', 'idempotency-key'],
  },
  credentials: {
    summary: 'short-lived AWS credentials scoped to a tenant (shell exports; --json for all fields)',
    positionals: ['tenant'],
    options: [],
  },
  tiers: { summary: 'show the tier catalog', positionals: [], options: [] },
  gates: {
    summary: 'show stack and account gates: slots, waiters, owners (admin)',
    positionals: [],
    options: [],
  },
  doctor: {
    summary: 'check the local AWS of the data directory (works while the API is down)',
    positionals: [],
    options: [],
  },
  synth: {
    summary: 'synthesize tenant templates (see `tenantctl synth --help`)',
    positionals: [],
    options: [],
  },
  help: { summary: 'show this help', positionals: [], options: [] },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export interface ParsedCommand {
  readonly command: CommandName;
  readonly positionals: readonly string[];
  readonly options: { readonly [K in CommandOption | keyof typeof GLOBAL_OPTIONS]?: string | boolean };
  /** For `synth`: everything after the word synth, untouched. */
  readonly rest: readonly string[];
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const ALL_OPTIONS = { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS };
const parseOptions = Object.fromEntries(
  Object.entries(ALL_OPTIONS).map(([k, v]) => [
    k,
    { type: v.type, ...('short' in v ? { short: v.short } : {}) },
  ]),
) as Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  // `synth` takes options of its own: hand everything after it over untouched.
  const { tokens } = parseArgs({
    args: [...argv],
    options: parseOptions,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const first = tokens.find((t) => t.kind === 'positional');
  if (first?.kind === 'positional' && first.value === 'synth') {
    const before = parseLoose(argv.slice(0, first.index));
    return { command: 'synth', positionals: [], options: before, rest: argv.slice(first.index + 1) };
  }

  let parsed: ReturnType<typeof parseArgs<{ options: typeof parseOptions; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: parseOptions, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!);
  }
  const [name, ...positionals] = parsed.positionals;
  const values = parsed.values as ParsedCommand['options'];
  if (!name) return { command: 'help', positionals: [], options: values, rest: [] };
  if (!(name in COMMANDS))
    throw new UsageError(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
  const command = name as CommandName;
  const spec: CommandSpec = COMMANDS[command];
  if (values.help) return { command: 'help', positionals: [command], options: values, rest: [] };
  for (const option of Object.keys(values)) {
    if (!(option in GLOBAL_OPTIONS) && !spec.options.includes(option as CommandOption)) {
      throw new UsageError(`${command} does not take --${option}; see tenantctl ${command} --help`);
    }
  }
  const missing = (spec.required ?? []).filter((o) => values[o] === undefined || values[o] === '');
  if (missing.length) throw new UsageError(`${command} needs ${missing.map((o) => `--${o}`).join(', ')}`);
  if (positionals.length !== spec.positionals.length) {
    const expected = spec.positionals.map((p) => `<${p}>`).join(' ') || 'no arguments';
    throw new UsageError(
      `${command} takes ${expected}; got ${positionals.length ? positionals.join(' ') : 'none'}`,
    );
  }
  return { command, positionals, options: values, rest: [] };
}

function parseLoose(argv: readonly string[]): ParsedCommand['options'] {
  return parseArgs({ args: [...argv], options: parseOptions, allowPositionals: true, strict: false })
    .values as ParsedCommand['options'];
}

/** A positive integer option, or a usage error naming it. */
export function intOption(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

export function usage(command?: string): string {
  const optionLines = (names: readonly string[]) =>
    names
      .map((n) => {
        const spec = (ALL_OPTIONS as Record<string, OptionSpec>)[n]!;
        return `  --${n}${spec.type === 'string' ? ` <${n}>` : ''}`.padEnd(30) + spec.help;
      })
      .join('\n');
  if (command && command in COMMANDS && command !== 'help') {
    const spec: CommandSpec = COMMANDS[command as CommandName];
    const args = spec.positionals.map((p) => ` <${p}>`).join('');
    return [
      `tenantctl ${command}${args}${spec.options.length ? ' [options]' : ''}`,
      '',
      spec.summary,
      ...(spec.options.length ? ['', 'options:', optionLines(spec.options)] : []),
      '',
      'global options:',
      optionLines(Object.keys(GLOBAL_OPTIONS)),
      '',
    ].join('\n');
  }
  const commands = Object.entries(COMMANDS)
    .map(
      ([name, spec]) =>
        `  ${`${name}${(spec as CommandSpec).positionals.map((p) => ` <${p}>`).join('')}`.padEnd(30)}${spec.summary}`,
    )
    .join('\n');
  return [
    'tenantctl: manage tenants through the control-plane API',
    '',
    'usage: tenantctl <command> [arguments] [options]',
    '',
    'commands:',
    commands,
    '',
    'global options:',
    optionLines(Object.keys(GLOBAL_OPTIONS)),
    '',
    'exit status: 0 done, 1 error (usage, connection or API error), 2 the operation FAILED',
    '',
  ].join('\n');
}

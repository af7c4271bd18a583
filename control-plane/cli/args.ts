import { parseArgs } from 'node:util';
import { OPERATOR_COMMANDS } from './operator-commands.js';
import { ROLLOUT_COMMAND, ROLLOUT_OPTIONS } from './rollout-args.js';

/**
 * tenantctl's command line: one table of commands (their options and positionals) that drives
 * parsing, validation and the help text, so the three cannot disagree.
 */

type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  readonly help: string;
  /** What the value is, as help shows it: `--tier <name>`. */
  readonly value?: string;
};

export const GLOBAL_OPTIONS = {
  url: {
    type: 'string',
    value: 'url',
    help: 'control plane URL (TENANTCTL_URL; default http://127.0.0.1:3000)',
  },
  key: {
    type: 'string',
    value: 'key',
    help: 'API key or JWT (TENANTCTL_KEY, CONTROL_PLANE_ADMIN_KEY, or <data-dir>/admin-key)',
  },
  'data-dir': {
    type: 'string',
    value: 'dir',
    help: 'local data directory holding admin-key (CONTROL_PLANE_DATA_DIR; default: .data here or in a parent)',
  },
  json: { type: 'boolean', help: 'print JSON (for scripts) instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
} as const satisfies Record<string, OptionSpec>;

const COMMAND_OPTIONS = {
  name: { type: 'string', value: 'name', help: 'tenant display name' },
  tier: { type: 'string', value: 'tier', help: 'tier name (see `tenantctl tiers`)' },
  email: { type: 'string', value: 'email', help: "tenant admin's email" },
  slug: { type: 'string', value: 'slug', help: 'DNS-safe tenant slug (derived from the name when absent)' },
  region: { type: 'string', value: 'region', help: 'AWS region of the tenant' },
  'allowed-principal': {
    type: 'string',
    multiple: true,
    value: 'arn',
    help: 'an IAM principal ARN allowed to reach a silo tenant',
  },
  reason: { type: 'string', value: 'text', help: 'why (kept in the audit trail)' },
  state: { type: 'string', value: 'state', help: 'filter by lifecycle state, e.g. ACTIVE' },
  tenant: { type: 'string', value: 'tenant', help: 'only this tenant (id or slug)' },
  status: { type: 'string', value: 'status', help: 'filter by status: PENDING, RUNNING, SUCCEEDED, FAILED' },
  type: { type: 'string', value: 'type', help: 'filter by operation type, e.g. onboard' },
  scope: { type: 'string', multiple: true, value: 'scope', help: 'a scope of the key' },
  overlap: {
    type: 'string',
    value: 'seconds',
    help: 'how long the previous secret keeps working (default: the server setting)',
  },
  limit: { type: 'string', value: 'n', help: 'page size' },
  cursor: { type: 'string', value: 'cursor', help: 'nextCursor of the previous page' },
  wait: { type: 'boolean', help: 'follow the operation until it ends (exit 2 if it fails)' },
  interval: { type: 'string', value: 'ms', help: 'poll interval in ms while waiting (default 500)' },
  'idempotency-key': {
    type: 'string',
    value: 'key',
    help: 'send this Idempotency-Key: a retry with it never repeats the change',
  },
  out: {
    type: 'string',
    value: 'dir',
    help: 'write the export (manifest, parts, objects) into this directory',
  },
  flags: {
    type: 'string',
    help: 'config set: name=value,… (true/false/numbers as JSON; null = tier default)',
  },
  domain: { type: 'string', help: 'config set: custom domain hostname ("none" removes it)' },
  patch: { type: 'string', help: 'config set: a JSON merge patch, e.g. {"branding":{"name":"Acme"}}' },
  'if-match': { type: 'string', help: 'config set: apply only to the config with this ETag' },
  follow: {
    type: 'boolean',
    help: 'print lifecycle events as they happen (the event stream), until interrupted or --limit',
  },
  meter: { type: 'string', help: 'one meter of the tier catalog (default: every meter of the tier)' },
  from: { type: 'string', help: 'start of the range (usage: ISO time; cost: YYYY-MM-DD)' },
  to: { type: 'string', help: 'end of the range, exclusive (usage: ISO time; cost: YYYY-MM-DD)' },
  granularity: { type: 'string', help: 'DAILY (default) or MONTHLY' },
  health: { type: 'string', help: 'filter by health: healthy, drifted, degraded or unknown' },
  fix: { type: 'boolean', help: 'start a repair of each tenant with repairable findings, and wait for them' },
  delete: { type: 'boolean', help: 'delete the listed orphans (each is checked again first)' },
  ...ROLLOUT_OPTIONS,
  user: { type: 'string', help: 'the username (the email it was added with)' },
} as const satisfies Record<string, OptionSpec>;

export type CommandOption = keyof typeof COMMAND_OPTIONS;

export interface CommandSpec {
  readonly summary: string;
  /** Names; `[name]` is optional (only last ones may be). */
  readonly positionals: readonly string[];
  readonly options: readonly CommandOption[];
  readonly required?: readonly CommandOption[];
  /** How many trailing positionals may be left out. */
  readonly optionalPositionals?: number;
}

export const MUTATING = ['wait', 'interval', 'idempotency-key'] as const satisfies CommandOption[];

/** Retry, cancel, reconcile (control-plane/cli/reconcile.ts; docs/reconcile.md). */
const RECONCILE_COMMANDS = {
  retry: {
    summary: 'run a FAILED operation again from its failed step',
    positionals: ['operationId'],
    options: MUTATING,
  },
  cancel: {
    summary: 'stop a running operation and run its compensation',
    positionals: ['operationId'],
    options: ['wait', 'interval'],
  },
  reconcile: {
    summary: 'compare the registry with AWS (every tenant, or --tenant); --fix repairs',
    positionals: [],
    options: ['tenant', 'fix', 'interval'],
  },
  health: {
    summary: "show a tenant's health: what the last reconcile found",
    positionals: ['tenant'],
    options: [],
  },
  repair: {
    summary: "run an ACTIVE tenant's ensure steps again",
    positionals: ['tenant'],
    options: MUTATING,
  },
  orphans: {
    summary: 'list the orphan stacks the last reconcile found; --delete deletes them',
    positionals: [],
    options: ['delete'],
  },
} as const satisfies Record<string, CommandSpec>;

export const COMMANDS = {
  onboard: {
    summary: 'onboard a tenant',
    positionals: [],
    options: ['name', 'tier', 'email', 'slug', 'region', 'allowed-principal', ...MUTATING],
    required: ['name', 'tier', 'email'],
  },
  get: { summary: 'show a tenant (by id or slug)', positionals: ['tenant'], options: [] },
  list: {
    summary: 'list tenants, newest first',
    positionals: [],
    options: ['tier', 'state', 'health', 'limit', 'cursor'],
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
  events: {
    summary: "show a tenant's audit trail; --follow prints live events (of one tenant, or all)",
    positionals: ['tenant'],
    optionalPositionals: 1,
    options: ['limit', 'cursor', 'follow'],
  },
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
  config: {
    summary: "show (get) or change (set) a tenant's config: flags, branding, custom domain",
    positionals: ['get|set', 'tenant'],
    options: ['flags', 'domain', 'patch', 'if-match'],
  },
  quotas: {
    summary: 'show the AWS quotas onboarding takes of, with their headroom (--region: of an allowed region)',
    positionals: [],
    options: ['region'],
  },
  usage: {
    summary: "show a tenant's metered usage: per meter, included, overage, an hourly sparkline",
    positionals: ['tenant'],
    options: ['meter', 'from', 'to'],
  },
  cost: {
    summary:
      'show cost per tenant (direct + apportioned share) with a sparkline; all tenants without <tenant>',
    positionals: ['tenant'],
    optionalPositionals: 1,
    options: ['from', 'to', 'granularity'],
  },
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
  ...RECONCILE_COMMANDS,
  ...OPERATOR_COMMANDS,
  rollout: ROLLOUT_COMMAND,
  help: { summary: 'show this help', positionals: [], options: [] },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export interface ParsedCommand {
  readonly command: CommandName;
  readonly positionals: readonly string[];
  readonly options: {
    readonly [K in CommandOption | keyof typeof GLOBAL_OPTIONS]?: string | boolean | string[];
  };
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
    {
      type: v.type,
      ...('short' in v ? { short: v.short } : {}),
      ...('multiple' in v ? { multiple: v.multiple } : {}),
    },
  ]),
) as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

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
  const [first0, ...others] = parsed.positionals;
  const values = parsed.values as ParsedCommand['options'];
  if (!first0) return { command: 'help', positionals: [], options: values, rest: [] };
  // Command groups: `keys list`, `migration complete`.
  const group = groupOf(first0);
  const twoWords = others[0] !== undefined ? `${first0} ${others[0]}` : undefined;
  const name = group && twoWords && twoWords in COMMANDS ? twoWords : first0;
  const positionals = name === first0 ? others : others.slice(1);
  if (group.length > 0 && name === first0) {
    if (values.help) return { command: 'help', positionals: [first0], options: values, rest: [] };
    throw new UsageError(
      `${first0} needs a subcommand: ${group.map((c) => c.slice(first0.length + 1)).join(', ')}`,
    );
  }
  if (!(name in COMMANDS))
    throw new UsageError(`unknown command "${name}"; commands: ${topLevelNames().join(', ')}`);
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
  const fewest = spec.positionals.length - (spec.optionalPositionals ?? 0);
  if (positionals.length < fewest || positionals.length > spec.positionals.length) {
    const expected = positionalsText(spec).trim() || 'no arguments';
    throw new UsageError(
      `${command} takes ${expected}; got ${positionals.length ? positionals.join(' ') : 'none'}`,
    );
  }
  return { command, positionals, options: values, rest: [] };
}

/** ` <a> [<b>]`: the optional ones in brackets. */
function positionalsText(spec: CommandSpec): string {
  const fewest = spec.positionals.length - (spec.optionalPositionals ?? 0);
  return spec.positionals.map((p, i) => (i < fewest ? ` <${p}>` : ` [<${p}>]`)).join('');
}

/** The commands of a group (`keys` → `keys list`, …), none for a plain command. */
function groupOf(word: string): string[] {
  return Object.keys(COMMANDS).filter((c) => c.startsWith(`${word} `));
}

const topLevelNames = () => [...new Set(Object.keys(COMMANDS).map((c) => c.split(' ')[0]!))];

function parseLoose(argv: readonly string[]): ParsedCommand['options'] {
  return parseArgs({ args: [...argv], options: parseOptions, allowPositionals: true, strict: false })
    .values as ParsedCommand['options'];
}

/** A positive integer option, or a usage error naming it. */
export function intOption(value: string | boolean | string[] | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive integer`);
  return n;
}

/** Help lines in the conventional layout: `  --flag <value>  description`, one aligned column. */
function columns(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`.trimEnd()).join('\n');
}

function optionRows(names: readonly string[], required: readonly string[] = []): [string, string][] {
  return names.map((n) => {
    const spec = (ALL_OPTIONS as Record<string, OptionSpec>)[n]!;
    const value = spec.type === 'string' ? ` <${spec.value ?? n}>` : '';
    const short = spec.short ? `-${spec.short}, ` : '';
    const marks = [required.includes(n) ? 'required' : '', spec.multiple ? 'repeatable' : '']
      .filter(Boolean)
      .join(', ');
    return [`${short}--${n}${value}`, `${spec.help}${marks ? ` (${marks})` : ''}`];
  });
}

const synopsis = (name: string, spec: CommandSpec): string => {
  const required = (spec.required ?? []).map((o) => {
    const opt = (ALL_OPTIONS as Record<string, OptionSpec>)[o]!;
    return ` --${o}${opt.type === 'string' ? ` <${opt.value ?? o}>` : ''}`;
  });
  const optional = spec.options.length > (spec.required?.length ?? 0) ? ' [options]' : '';
  return `${name}${positionalsText(spec)}${required.join('')}${optional}`;
};

export function usage(command?: string): string {
  const globals = optionRows(Object.keys(GLOBAL_OPTIONS));
  if (command && command in COMMANDS && command !== 'help') {
    const spec: CommandSpec = COMMANDS[command as CommandName];
    const own = optionRows(spec.options, spec.required);
    // One column for the command's options and the global ones, so both line up.
    const all = columns([...own, ...globals]).split('\n');
    return [
      `usage: tenantctl ${synopsis(command, spec)}`,
      '',
      spec.summary,
      ...(own.length ? ['', 'options:', ...all.slice(0, own.length)] : []),
      '',
      'global options:',
      ...all.slice(own.length),
      '',
    ].join('\n');
  }
  const names = Object.keys(COMMANDS).filter((n) => !command || n.startsWith(`${command} `));
  const commands = columns(
    names.map((name) => {
      const spec: CommandSpec = COMMANDS[name as CommandName];
      return [`${name}${positionalsText(spec)}`, spec.summary];
    }),
  );
  return [
    command
      ? `tenantctl ${command}: its commands`
      : 'tenantctl: manage tenants through the control-plane API',
    '',
    `usage: tenantctl ${command ?? '<command>'}${command ? ' <subcommand>' : ''} [arguments] [options]`,
    '',
    'commands:',
    commands,
    '',
    'global options:',
    columns(globals),
    '',
    'run tenantctl <command> --help for its options',
    'exit status: 0 done, 1 error (usage, connection or API error), 2 the operation FAILED',
    '',
  ].join('\n');
}

/** A string option's value (the last one given), or undefined. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** A repeatable option's values ([] when absent). */
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];

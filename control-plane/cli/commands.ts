import type { AuditEvent, Operation, Tenant } from '../../core/registry/records.js';
import type { Tier } from '../../tiers/catalog.js';
import { type CommandName, intOption, type ParsedCommand, str, strings, UsageError } from './args.js';
import type { ApiClient } from './client.js';
import { configCommand, quotasCommand } from './config.js';
import { doctorCommand } from './doctor.js';
import { followEvents } from './events-follow.js';
import { exportCommand } from './export.js';
import { gatesCommand } from './gates.js';
import { OPERATOR_HANDLERS } from './operator.js';
import { RECONCILE_HANDLERS } from './reconcile.js';
import {
  type Output,
  renderAccepted,
  renderEvents,
  renderTenant,
  renderTenantList,
  renderTiers,
} from './render.js';
import { rolloutCommand } from './rollout.js';
import { costCommand, usageCommand } from './usage.js';
import { credentialsCommand, usersCommand } from './users.js';
import { watchOperation } from './watch.js';

/** What each tenantctl command does against the API. Each returns the exit status. */

export interface CommandEnv {
  readonly client: ApiClient;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly json: boolean;
  readonly pollMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** What `doctor` reads locally: the data directory (absolute), the registry table, the API URL. */
  readonly local?: { readonly dataDir: string; readonly registryTable: string; readonly url: string };
}

export interface Started {
  readonly tenant: Tenant;
  readonly operation: Operation;
}

type Page<T> = { items: T[]; nextCursor: string | null };

const EXIT_OK = 0;
const EXIT_OPERATION_FAILED = 2;

const printJson = (out: Output, value: unknown) => out.write(`${JSON.stringify(value, null, 2)}\n`);
const path = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}`;

function finalStatus(env: CommandEnv, op: Operation): number {
  if (op.status === 'SUCCEEDED') return EXIT_OK;
  if (!env.json)
    env.stderr.write(
      `operation ${op.operationId} FAILED${op.error ? `: ${op.error.code}: ${op.error.message}` : ''}\n`,
    );
  return EXIT_OPERATION_FAILED;
}

/** Shared tail of every mutating command: print the acceptance, or follow the operation with --wait. */
export async function accepted(env: CommandEnv, started: Started, wait: boolean): Promise<number> {
  if (!wait) {
    // A replayed request (same Idempotency-Key) answers the first acceptance: show where it is now.
    const operation = await env.client
      .request<Operation>('GET', `/v1/operations/${encodeURIComponent(started.operation.operationId)}`)
      .catch(() => started.operation);
    if (env.json) printJson(env.stdout, { ...started, operation });
    else env.stdout.write(renderAccepted(started.tenant, operation));
    return EXIT_OK;
  }
  if (!env.json)
    env.stdout.write(
      `${started.operation.type} of ${started.tenant.slug} (${started.tenant.tenantId}) accepted\n`,
    );
  const op = await watchOperation(env, started.operation.operationId);
  if (env.json) {
    const tenant = await env.client.request<Tenant>('GET', path(started.tenant.tenantId));
    printJson(env.stdout, { tenant, operation: op });
  }
  return finalStatus(env, op);
}

type Handler = (env: CommandEnv, cmd: ParsedCommand) => Promise<number>;

export const COMMAND_HANDLERS: Record<Exclude<CommandName, 'help' | 'synth'>, Handler> = {
  ...OPERATOR_HANDLERS,
  async onboard(env, { options: o }) {
    const body = {
      name: str(o.name),
      tier: str(o.tier)?.toLowerCase(),
      adminEmail: str(o.email),
      slug: str(o.slug),
      region: str(o.region),
      ...(strings(o['allowed-principal']).length
        ? { allowedPrincipals: strings(o['allowed-principal']) }
        : {}),
    };
    const started = await env.client.request<Started>('POST', '/v1/tenants', {
      body,
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async get(env, { positionals: [tenant] }) {
    const t = await env.client.request<Tenant>('GET', path(tenant!));
    if (env.json) printJson(env.stdout, t);
    else {
      // The suspension's reason is its operation's input (also in the audit trail).
      const suspended = t.state === 'SUSPENDED' || t.state === 'SUSPENDING';
      const last = suspended
        ? await env.client
            .request<Page<Operation>>('GET', `${path(t.tenantId)}/operations`, {
              query: { type: 'suspend', limit: 1 },
            })
            .catch(() => undefined)
        : undefined;
      const reason = last?.items[0]?.input.reason;
      env.stdout.write(
        renderTenant(t, { suspensionReason: typeof reason === 'string' ? reason : undefined }),
      );
    }
    return EXIT_OK;
  },

  async list(env, { options: o }) {
    const query = {
      // Enums are case-insensitive here: `--state active`, `--tier Basic`.
      tier: str(o.tier)?.toLowerCase(),
      state: str(o.state)?.toUpperCase(),
      health: str(o.health),
      limit: intOption(o.limit, 'limit'),
      cursor: str(o.cursor),
    };
    const page = await env.client.request<Page<Tenant>>('GET', '/v1/tenants', { query });
    if (env.json) printJson(env.stdout, page);
    else env.stdout.write(renderTenantList(page.items, page.nextCursor));
    return EXIT_OK;
  },

  async 'change-tier'(env, { positionals: [tenant, tier], options: o }) {
    const started = await env.client.request<Started>('POST', `${path(tenant!)}/tier`, {
      body: { tier: tier?.toLowerCase() },
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async suspend(env, { positionals: [tenant], options: o }) {
    const started = await env.client.request<Started>('POST', `${path(tenant!)}/suspend`, {
      body: { reason: str(o.reason) },
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async resume(env, { positionals: [tenant], options: o }) {
    const started = await env.client.request<Started>('POST', `${path(tenant!)}/resume`, {
      body: {},
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async offboard(env, { positionals: [tenant], options: o }) {
    const started = await env.client.request<Started>('DELETE', path(tenant!), {
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async events(env, cmd) {
    const {
      positionals: [tenant],
      options: o,
    } = cmd;
    if (o.follow === true) return followEvents(env, cmd);
    if (!tenant) throw new UsageError('events takes <tenant> (or --follow for live events of every tenant)');
    const page = await env.client.request<Page<AuditEvent>>('GET', `${path(tenant!)}/events`, {
      query: { limit: intOption(o.limit, 'limit'), cursor: str(o.cursor) },
    });
    if (env.json) printJson(env.stdout, page);
    else env.stdout.write(renderEvents(page.items, page.nextCursor));
    return EXIT_OK;
  },

  export: exportCommand,

  gates: gatesCommand,
  usage: usageCommand,
  cost: costCommand,
  doctor: doctorCommand,
  config: configCommand,
  quotas: quotasCommand,
  ...RECONCILE_HANDLERS,
  rollout: rolloutCommand,
  users: usersCommand,
  credentials: credentialsCommand,

  async watch(env, { positionals: [operationId] }) {
    const op = await watchOperation(env, operationId!);
    if (env.json) printJson(env.stdout, op);
    return finalStatus(env, op);
  },

  async tiers(env) {
    const { tiers } = await env.client.request<{ tiers: Tier[] }>('GET', '/v1/tiers');
    if (env.json) printJson(env.stdout, tiers);
    else env.stdout.write(renderTiers(tiers));
    return EXIT_OK;
  },
};

import type { AuditEvent, Operation, Tenant } from '../../core/registry/records.js';
import type { Tier } from '../../tiers/catalog.js';
import { type CommandName, intOption, type ParsedCommand } from './args.js';
import type { ApiClient } from './client.js';
import { doctorCommand } from './doctor.js';
import { exportCommand } from './export.js';
import { gatesCommand } from './gates.js';
import {
  type Output,
  ProgressView,
  renderAccepted,
  renderEvents,
  renderTenant,
  renderTenantList,
  renderTiers,
} from './render.js';
import { credentialsCommand, usersCommand } from './users.js';

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

interface Started {
  readonly tenant: Tenant;
  readonly operation: Operation;
}

type Page<T> = { items: T[]; nextCursor: string | null };

const EXIT_OK = 0;
const EXIT_OPERATION_FAILED = 2;

const printJson = (out: Output, value: unknown) => out.write(`${JSON.stringify(value, null, 2)}\n`);
const path = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}`;
const isDone = (op: Operation) => op.status === 'SUCCEEDED' || op.status === 'FAILED';

/**
 * Follows the operation until it ends, drawing its steps (text mode). Each request is a long poll
 * (`waitSeconds`): it answers at the end at once, or after the poll interval with progress to draw.
 */
export async function watchOperation(env: CommandEnv, operationId: string): Promise<Operation> {
  const view = env.json ? undefined : new ProgressView(env.stdout, env.now);
  const waitSeconds = Math.min(20, Math.max(1, Math.round(env.pollMs / 1000)));
  for (;;) {
    const sent = env.now();
    const op = await env.client.request<Operation>(
      'GET',
      `/v1/operations/${encodeURIComponent(operationId)}?waitSeconds=${waitSeconds}`,
    );
    view?.update(op);
    if (isDone(op)) return op;
    // A server that answers at once (an older one, a proxy) must not turn this into a busy loop.
    await env.sleep(Math.max(0, env.pollMs - (env.now() - sent)));
  }
}

function finalStatus(env: CommandEnv, op: Operation): number {
  if (op.status === 'SUCCEEDED') return EXIT_OK;
  if (!env.json)
    env.stderr.write(
      `operation ${op.operationId} FAILED${op.error ? `: ${op.error.code}: ${op.error.message}` : ''}\n`,
    );
  return EXIT_OPERATION_FAILED;
}

/** Shared tail of every mutating command: print the acceptance, or follow the operation with --wait. */
async function accepted(env: CommandEnv, started: Started, wait: boolean): Promise<number> {
  if (!wait) {
    if (env.json) printJson(env.stdout, started);
    else env.stdout.write(renderAccepted(started.tenant, started.operation));
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

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

export const COMMAND_HANDLERS: Record<Exclude<CommandName, 'help' | 'synth'>, Handler> = {
  async onboard(env, { options: o }) {
    const body = {
      name: str(o.name),
      tier: str(o.tier),
      adminEmail: str(o.email),
      slug: str(o.slug),
      region: str(o.region),
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
    else env.stdout.write(renderTenant(t));
    return EXIT_OK;
  },

  async list(env, { options: o }) {
    const query = {
      tier: str(o.tier),
      state: str(o.state),
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
      body: { tier },
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

  async events(env, { positionals: [tenant], options: o }) {
    const page = await env.client.request<Page<AuditEvent>>('GET', `${path(tenant!)}/events`, {
      query: { limit: intOption(o.limit, 'limit'), cursor: str(o.cursor) },
    });
    if (env.json) printJson(env.stdout, page);
    else env.stdout.write(renderEvents(page.items, page.nextCursor));
    return EXIT_OK;
  },

  export: exportCommand,

  gates: gatesCommand,
  doctor: doctorCommand,
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

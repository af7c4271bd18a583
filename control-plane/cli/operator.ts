import type { Operation } from '../../core/registry/records.js';
import { intOption, type ParsedCommand, str, strings, UsageError } from './args.js';
import type { CommandEnv, Started } from './commands.js';
import { table } from './render.js';

/**
 * The operator's commands (operator-commands.ts): API keys, operation history, tenant updates and
 * the answer to a migration hand-off. Text by default, the API's JSON with --json.
 */

type Page<T> = { items: T[]; nextCursor: string | null };
type Handler = (env: CommandEnv, cmd: ParsedCommand) => Promise<number>;

interface ApiKey {
  name: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt?: string;
  rotatedAt?: string;
  previousKeyValidUntil?: string;
}
interface ApiKeyEvent {
  at: string;
  action: string;
  name: string;
  actor: string;
  detail?: string;
}

const printJson = (env: CommandEnv, value: unknown) =>
  env.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

const more = (nextCursor: string | null) => (nextCursor ? `more: --cursor ${nextCursor}\n` : '');

export function renderOperations(page: Page<Operation>): string {
  if (page.items.length === 0) return 'no operations\n';
  return (
    table(
      ['OPERATION', 'TYPE', 'STATUS', 'TENANT', 'CREATED', 'ENDED'],
      page.items.map((o) => [o.operationId, o.type, o.status, o.tenantId, o.createdAt, o.endedAt ?? '-']),
    ) + more(page.nextCursor)
  );
}

export function renderApiKeys(items: readonly ApiKey[]): string {
  if (items.length === 0) return 'no API keys\n';
  return table(
    ['NAME', 'SCOPES', 'CREATED', 'LAST USED', 'PREVIOUS SECRET UNTIL'],
    items.map((k) => [
      k.name,
      k.scopes.join(','),
      k.createdAt,
      k.lastUsedAt ?? 'never',
      k.previousKeyValidUntil ?? '-',
    ]),
  );
}

/** A filter value the API takes in one case only: `--status running` is `RUNNING`. */
const upper = (v: string | undefined) => v?.toUpperCase();
const lower = (v: string | undefined) => v?.toLowerCase();

const tenantPath = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}`;
const keyPath = (name: string) => `/v1/api-keys/${encodeURIComponent(name)}`;

function printSecret(env: CommandEnv, what: string, key: string, after: string[] = []): void {
  env.stdout.write(
    [what, '', `    ${key}`, '', 'shown once: only its SHA-256 is kept', ...after, ''].join('\n'),
  );
}

async function answerMigration(
  env: CommandEnv,
  operationId: string,
  status: 'succeeded' | 'failed',
  reason: string | undefined,
): Promise<number> {
  const op = await env.client.request<Operation>(
    'POST',
    `/v1/operations/${encodeURIComponent(operationId)}/callback`,
    { body: { status, ...(reason ? { reason } : {}) } },
  );
  if (env.json) printJson(env, op);
  else
    env.stdout.write(
      `answered ${op.type} ${op.operationId}: migration ${status}; the operation is ${op.status}\nfollow it: tenantctl watch ${op.operationId}\n`,
    );
  return 0;
}

export const OPERATOR_HANDLERS = {
  async update(env, { positionals: [tenant], options: o }) {
    const principals = strings(o['allowed-principal']);
    const body = {
      ...(str(o.name) !== undefined ? { name: str(o.name) } : {}),
      ...(str(o.email) !== undefined ? { adminEmail: str(o.email) } : {}),
      ...(principals.length > 0 ? { allowedPrincipals: principals } : {}),
    };
    if (Object.keys(body).length === 0)
      throw new UsageError('update needs at least one of --name, --email, --allowed-principal');
    // commands.ts spreads these handlers into its table: imported when run, not at load (no cycle).
    const { accepted } = await import('./commands.js');
    const started = await env.client.request<Started>('PATCH', tenantPath(tenant!), {
      body,
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async ops(env, { options: o }) {
    const tenant = str(o.tenant);
    const query = {
      status: upper(str(o.status)),
      type: lower(str(o.type)),
      limit: intOption(o.limit, 'limit'),
      cursor: str(o.cursor),
    };
    const page = await env.client.request<Page<Operation>>(
      'GET',
      tenant ? `${tenantPath(tenant)}/operations` : '/v1/operations',
      { query },
    );
    if (env.json) printJson(env, page);
    else env.stdout.write(renderOperations(page));
    return 0;
  },

  'migration complete': (env, { positionals: [id], options: o }) =>
    answerMigration(env, id!, 'succeeded', str(o.reason)),
  'migration fail': (env, { positionals: [id], options: o }) =>
    answerMigration(env, id!, 'failed', str(o.reason)),

  async 'keys list'(env) {
    const { items } = await env.client.request<{ items: ApiKey[] }>('GET', '/v1/api-keys');
    if (env.json) printJson(env, items);
    else env.stdout.write(renderApiKeys(items));
    return 0;
  },

  async 'keys create'(env, { positionals: [name], options: o }) {
    const created = await env.client.request<ApiKey & { key: string }>('POST', '/v1/api-keys', {
      body: { name, scopes: strings(o.scope) },
    });
    if (env.json) printJson(env, created);
    else printSecret(env, `created API key ${created.name} (${created.scopes.join(', ')}):`, created.key);
    return 0;
  },

  async 'keys revoke'(env, { positionals: [name] }) {
    const revoked = await env.client.request<ApiKey>('DELETE', keyPath(name!));
    if (env.json) printJson(env, revoked);
    else env.stdout.write(`revoked API key ${revoked.name}: it gets 401 from now on\n`);
    return 0;
  },

  async 'keys rotate'(env, { positionals: [name], options: o }) {
    const overlap = str(o.overlap);
    if (overlap !== undefined && !/^\d+$/.test(overlap))
      throw new UsageError('--overlap must be a number of seconds (0 or more)');
    const rotated = await env.client.request<ApiKey & { key: string }>('POST', `${keyPath(name!)}/rotate`, {
      body: overlap === undefined ? {} : { overlapSeconds: Number(overlap) },
    });
    if (env.json) printJson(env, rotated);
    else
      printSecret(env, `new secret for API key ${rotated.name}:`, rotated.key, [
        rotated.previousKeyValidUntil
          ? `the previous secret keeps working until ${rotated.previousKeyValidUntil}`
          : 'the previous secret no longer works',
      ]);
    return 0;
  },

  async 'keys events'(env, { options: o }) {
    const page = await env.client.request<Page<ApiKeyEvent>>('GET', '/v1/api-keys/events', {
      query: { limit: intOption(o.limit, 'limit'), cursor: str(o.cursor) },
    });
    if (env.json) printJson(env, page);
    else if (page.items.length === 0) env.stdout.write('no API key changes\n');
    else
      env.stdout.write(
        table(
          ['AT', 'ACTOR', 'ACTION', 'KEY', 'DETAIL'],
          page.items.map((e) => [e.at, e.actor, e.action, e.name, e.detail ?? '']),
        ) + more(page.nextCursor),
      );
    return 0;
  },
} satisfies Record<string, Handler>;

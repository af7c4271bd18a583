import type { QuotaView } from '../../core/quotas/rules.js';
import type { ConfigPatch, ResolvedConfig } from '../../core/tenant-config/schema.js';
import { MERGE_PATCH_TYPE } from '../routes/tenant-config.js';
import { type ParsedCommand, str, UsageError } from './args.js';
import type { CommandEnv } from './commands.js';
import { table } from './render.js';

/**
 * `tenantctl config get|set <tenant>` (GET/PATCH /v1/tenants/:id/config) and `tenantctl quotas`
 * (GET /v1/quotas).
 */

/** `--flags a=true,b=3,c=dark,d=null`: JSON where a value parses as JSON (true, 3, null), else a string. */
export function parseFlags(text: string): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--flags takes name=value pairs separated by commas; got "${pair}"`);
    const raw = pair.slice(at + 1);
    let value: unknown = raw;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed === null || ['boolean', 'number', 'string'].includes(typeof parsed)) value = parsed;
    } catch {
      value = raw;
    }
    flags[pair.slice(0, at).trim()] = value;
  }
  return flags;
}

/** The merge patch `config set` sends: --patch, with --flags and --domain merged over it. */
export function configPatch(o: ParsedCommand['options']): Record<string, unknown> {
  let patch: Record<string, unknown> = {};
  const given = str(o.patch);
  if (given !== undefined) {
    try {
      patch = JSON.parse(given) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`--patch is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw new UsageError('--patch must be a JSON object, e.g. {"branding":{"name":"Acme"}}');
  }
  const flags = str(o.flags);
  if (flags !== undefined)
    patch.flags = { ...((patch.flags as Record<string, unknown> | undefined) ?? {}), ...parseFlags(flags) };
  const domain = str(o.domain);
  if (domain !== undefined) patch.domain = domain === 'none' ? null : { hostname: domain };
  if (Object.keys(patch).length === 0) throw new UsageError('config set needs --flags, --domain or --patch');
  return patch;
}

export function renderConfig(c: ResolvedConfig, etag: string | null): string {
  const lines = [
    `tenant   ${c.tenantId} (tier ${c.tier})`,
    `version  ${c.version}${etag ? `  etag ${etag}` : ''}${c.updatedBy ? `  by ${c.updatedBy} at ${c.updatedAt}` : ''}`,
    'flags:',
    ...Object.entries(c.flags).map(
      ([name, value]) => `  ${name.padEnd(24)} ${JSON.stringify(value).padEnd(10)} ${c.flagSources[name]}`,
    ),
  ];
  const b = c.branding;
  if (b.name || b.logoUrl || b.colours) {
    lines.push('branding:');
    if (b.name) lines.push(`  name      ${b.name}`);
    if (b.logoUrl) lines.push(`  logo      ${b.logoUrl}`);
    for (const [role, colour] of Object.entries(b.colours ?? {})) lines.push(`  ${role.padEnd(9)} ${colour}`);
  }
  if (c.domain) {
    lines.push(`domain:   ${c.domain.hostname}  ${c.domain.status}  ${c.domain.certificateArn}`);
    for (const r of c.domain.validationRecords) lines.push(`  add DNS: ${r.name} ${r.type} ${r.value}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function configCommand(
  env: CommandEnv,
  { positionals: [action, tenant], options: o }: ParsedCommand,
): Promise<number> {
  if (action !== 'get' && action !== 'set') throw new UsageError(`config takes get or set; got "${action}"`);
  if (action === 'get' && (o.flags !== undefined || o.domain !== undefined || o.patch !== undefined))
    throw new UsageError('config get takes no --flags, --domain or --patch (did you mean config set?)');
  let etag: string | null = null;
  const path = `/v1/tenants/${encodeURIComponent(tenant!)}/config`;
  const onHeaders = (h: Headers) => {
    etag = h.get('etag');
  };
  const config =
    action === 'get'
      ? await env.client.request<ResolvedConfig>('GET', path, { onHeaders })
      : await env.client.request<ResolvedConfig>('PATCH', path, {
          body: configPatch(o) as ConfigPatch,
          headers: {
            'content-type': MERGE_PATCH_TYPE,
            ...(str(o['if-match']) ? { 'if-match': str(o['if-match'])! } : {}),
          },
          onHeaders,
        });
  env.stdout.write(
    env.json ? `${JSON.stringify({ ...config, etag }, null, 2)}\n` : renderConfig(config, etag),
  );
  return 0;
}

export function renderQuotas(precheck: boolean, quotas: readonly QuotaView[]): string {
  const rows = table(
    ['QUOTA', 'USAGE', 'LIMIT', 'HEADROOM', 'STATUS', 'NOTE'],
    quotas.map((q) => [
      q.quota,
      q.usage === null ? '-' : String(q.usage),
      q.limit === null ? '-' : `${q.limit}${q.limitSource === 'configured' ? ' (configured)' : ''}`,
      q.headroom === null ? '-' : String(q.headroom),
      q.status,
      q.reason ?? '',
    ]),
  );
  return `${rows}${precheck ? '' : 'quota pre-checks are off (QUOTA_PRECHECK=false): onboardings are not checked\n'}`;
}

export async function quotasCommand(env: CommandEnv, { options: o }: ParsedCommand): Promise<number> {
  const region = str(o.region);
  const answer = await env.client.request<{ precheck: boolean; region: string; quotas: QuotaView[] }>(
    'GET',
    '/v1/quotas',
    { query: { region } },
  );
  env.stdout.write(
    env.json
      ? `${JSON.stringify(answer, null, 2)}\n`
      : `quotas of ${answer.region}\n${renderQuotas(answer.precheck, answer.quotas)}`,
  );
  return 0;
}

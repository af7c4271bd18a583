import type { Finding, TenantHealth } from '../../core/reconcile/findings.js';
import type { Orphan, ReconcileRun } from '../../core/reconcile/store.js';
import type { Operation } from '../../core/registry/records.js';
import { type ParsedCommand, str } from './args.js';
import { accepted, type CommandEnv, type Started } from './commands.js';
import { watchOperation } from './watch.js';

/**
 * tenantctl retry | cancel | reconcile | health | repair | orphans (docs/reconcile.md): handlers
 * over /v1/operations/{id}/retry|cancel, /v1/reconcile, /v1/tenants/{id}/health|repair, /v1/orphans.
 */

const opPath = (operationId: string) => `/v1/operations/${encodeURIComponent(operationId)}`;
const json = (env: CommandEnv, value: unknown) => env.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

type Handler = (env: CommandEnv, cmd: ParsedCommand) => Promise<number>;

export function renderHealth(health: TenantHealth): string {
  const lines = [
    `${health.tenantId}: ${health.status}${health.checkedAt ? ` (checked ${health.checkedAt}, run ${health.runId})` : ' (never reconciled)'}`,
  ];
  for (const f of health.findings)
    lines.push(
      `  ${f.severity.padEnd(7)} ${f.class.padEnd(14)} ${f.resource.padEnd(15)} ${f.message}${f.repairable ? ' [repairable]' : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

const progressLine = (run: ReconcileRun) =>
  `${run.status === 'RUNNING' ? 'reconciling' : run.status}: ${run.done}/${run.total ?? '?'} tenants — ${run.counts.healthy} healthy, ${run.counts.drifted} drifted, ${run.counts.degraded} degraded, ${run.counts.skipped} not compared; ${run.newFindings} new finding(s)${run.orphans !== undefined ? `, ${run.orphans} orphan(s)` : ''}`;

/** Follows repairs started by --fix; exit 2 when one failed. */
async function followRepairs(env: CommandEnv, repairs: ReconcileRun['repairs']): Promise<number> {
  let failed = 0;
  for (const r of repairs) {
    const op = await watchOperation(env, r.operationId);
    if (op.status !== 'SUCCEEDED') failed++;
    if (!env.json)
      env.stdout.write(
        `repair ${r.operationId} of ${r.tenantId}: ${op.status}${op.error ? ` (${op.error.message})` : ''}\n`,
      );
  }
  return failed ? 2 : 0;
}

export const RECONCILE_HANDLERS = {
  async retry(env, { positionals: [operationId], options: o }) {
    const started = await env.client.request<Started>('POST', `${opPath(operationId!)}/retry`, {
      body: {},
      idempotencyKey: str(o['idempotency-key']),
    });
    return accepted(env, started, o.wait === true);
  },

  async cancel(env, { positionals: [operationId], options: o }) {
    const op = await env.client.request<Operation>('POST', `${opPath(operationId!)}/cancel`, { body: {} });
    if (!env.json)
      env.stdout.write(`cancel of ${op.type} ${op.operationId} requested; its compensation runs next\n`);
    if (o.wait !== true) {
      if (env.json) json(env, op);
      return 0;
    }
    const ended = await watchOperation(env, op.operationId);
    if (env.json) json(env, ended);
    else if (ended.error) env.stdout.write(`${ended.status}: ${ended.error.code}: ${ended.error.message}\n`);
    // A cancelled operation ends FAILED by design: exit 0 once it was rolled back.
    return ended.status === 'FAILED' && ended.error?.code !== 'OPERATION_CANCELLED' ? 2 : 0;
  },

  async reconcile(env, { options: o }) {
    const fix = o.fix === true;
    const tenant = str(o.tenant);
    if (tenant) {
      const answer = await env.client.request<{ run: ReconcileRun; health: TenantHealth }>(
        'POST',
        '/v1/reconcile',
        {
          body: { tenant, fix },
        },
      );
      if (env.json) json(env, answer);
      else env.stdout.write(renderHealth(answer.health));
      return fix ? followRepairs(env, answer.run.repairs) : 0;
    }
    let { run } = await env.client.request<{ run: ReconcileRun }>('POST', '/v1/reconcile', { body: { fix } });
    let last = '';
    for (;;) {
      const line = progressLine(run);
      if (!env.json && line !== last) env.stdout.write(`${line}\n`);
      last = line;
      if (run.status !== 'RUNNING') break;
      await env.sleep(env.pollMs);
      run = await env.client.request<ReconcileRun>('GET', `/v1/reconcile/${encodeURIComponent(run.runId)}`);
    }
    if (env.json) json(env, run);
    if (run.status !== 'SUCCEEDED') {
      env.stderr.write(
        `reconcile run ${run.runId} ${run.status}${run.error ? `: ${run.error.message}` : ''}\n`,
      );
      return 1;
    }
    return fix ? followRepairs(env, run.repairs) : 0;
  },

  async health(env, { positionals: [tenant] }) {
    const health = await env.client.request<TenantHealth>(
      'GET',
      `/v1/tenants/${encodeURIComponent(tenant!)}/health`,
    );
    if (env.json) json(env, health);
    else env.stdout.write(renderHealth(health));
    return 0;
  },

  async repair(env, { positionals: [tenant], options: o }) {
    const started = await env.client.request<Started>(
      'POST',
      `/v1/tenants/${encodeURIComponent(tenant!)}/repair`,
      {
        body: {},
        idempotencyKey: str(o['idempotency-key']),
      },
    );
    return accepted(env, started, o.wait === true);
  },

  async orphans(env, { options: o }) {
    const listed = await env.client.request<{ checkedAt?: string; orphans: Orphan[] }>('GET', '/v1/orphans');
    if (o.delete !== true) {
      if (env.json) json(env, listed);
      else {
        env.stdout.write(
          `${listed.orphans.length} orphan(s)${listed.checkedAt ? ` found by the run of ${listed.checkedAt}` : ' (no full reconcile yet)'}\n`,
        );
        for (const f of listed.orphans as (Finding & { stackId: string })[])
          env.stdout.write(`  ${f.id}  ${f.message}\n`);
      }
      return 0;
    }
    if (!listed.orphans.length) {
      env.stdout.write('no orphans to delete\n');
      return 0;
    }
    const { results } = await env.client.request<{
      results: { id: string; stackId: string; result: string }[];
    }>('POST', '/v1/orphans/delete', { body: { ids: listed.orphans.map((f) => f.id) } });
    if (env.json) json(env, results);
    else for (const r of results) env.stdout.write(`  ${r.id}  ${r.stackId}: ${r.result}\n`);
    return results.some((r) => r.result.startsWith('failed')) ? 2 : 0;
  },
} satisfies Record<string, Handler>;

import type { Rollout, RolloutTenant, WaveProgress } from '../../core/rollouts/records.js';
import { intOption, type ParsedCommand, UsageError } from './args.js';
import type { CommandEnv } from './commands.js';
import { table } from './render.js';

/**
 * `tenantctl rollout start|status|tenants|pause|resume|abort|list|budget`: the /v1/rollouts routes, with a
 * progress bar per wave (done, failed, running, remaining, ETA). `--wait` redraws it until the
 * rollout stops; the exit status is 2 when it ended FAILED or ABORTED, or stopped PAUSED.
 */

interface View {
  readonly rollout: Rollout;
  readonly waves: WaveProgress[];
}

const ENDED = ['SUCCEEDED', 'FAILED', 'ABORTED'];
const BAR = 30;

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  return m < 60
    ? `${m}m${String(seconds % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One line per wave: a bar of done (#), failed (x) and running (>) tenants out of its total. */
export function renderWave(w: WaveProgress, current: boolean): string {
  const cells = (n: number) => Math.round((n / Math.max(1, w.total)) * BAR);
  const done = cells(w.succeeded);
  const failed = cells(w.failed + w.skipped);
  const running = Math.min(BAR - done - failed, cells(w.running));
  const bar = `${'#'.repeat(done)}${'x'.repeat(failed)}${'>'.repeat(running)}`.padEnd(BAR, '.');
  const eta =
    w.etaSeconds !== undefined && w.remaining + w.running > 0 ? `  ETA ${duration(w.etaSeconds)}` : '';
  const busy = w.busy ? ` ${w.busy} busy` : '';
  const skipped = w.skipped ? ` ${w.skipped} skipped` : '';
  return `${current ? '>' : ' '} ${w.name.padEnd(10)} [${bar}] ${w.succeeded}/${w.total} done ${w.failed} failed ${w.running} running${busy}${skipped} ${w.remaining} remaining${eta}\n`;
}

export function renderRollout({ rollout: r, waves }: View): string {
  const targets = Object.entries(r.targets)
    .map(([i, v]) => `${i} → ${v}`)
    .join(', ');
  const lines = [
    `rollout ${r.rolloutId} ${r.status}${r.reason ? ` (${r.reason})` : ''}\n`,
    `  target ${targets}; maxConcurrency ${r.maxConcurrency}, failure budget ${r.budget} (${r.counts.failed} failed), on failure ${r.onFailure}\n`,
    ...waves.map((w, i) => renderWave(w, i === r.currentWave && !ENDED.includes(r.status))),
  ];
  return lines.join('');
}

export function renderRolloutList(items: readonly Rollout[]): string {
  if (items.length === 0) return 'no rollouts\n';
  const rows = items.map((r) => [
    r.rolloutId,
    r.status,
    `${r.counts.succeeded}/${r.waves.reduce((n, w) => n + w.tenantIds.length, 0)}`,
    String(r.counts.failed),
    Object.values(r.targets).join(','),
    r.createdAt,
  ]);
  return table(['ROLLOUT', 'STATUS', 'DONE', 'FAILED', 'TARGET', 'CREATED'], rows);
}

export function renderRolloutTenants(items: readonly RolloutTenant[]): string {
  if (items.length === 0) return 'no tenant tried yet\n';
  const rows = items.map((t) => [
    t.tenantId,
    String(t.wave),
    t.status,
    `${t.fromVersion ?? '?'} → ${t.toVersion}`,
    t.operationId ?? '',
    t.error ? `${t.error.code}: ${t.error.message}` : '',
  ]);
  return table(['TENANT', 'WAVE', 'STATUS', 'VERSION', 'OPERATION', 'ERROR'], rows);
}

const list = (v: string | boolean | string[] | undefined) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** `3` → { count: 3 }, `5%` → { percent: 5 }. */
function budgetOption(v: string | boolean | string[] | undefined) {
  if (typeof v !== 'string') return undefined;
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (percent) return { percent: Number(percent[1]) };
  if (/^\d+$/.test(v)) return { count: Number(v) };
  throw new UsageError('--budget must be a count (3) or a percentage (5%)');
}

/** `25%` → percent, `@acme,t_…` → tenants, else tiers. */
function waveOption(v: string) {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (percent) return { percent: Number(percent[1]) };
  const parts = list(v) ?? [];
  if (parts.every((p) => p.startsWith('@') || p.startsWith('t_')))
    return { tenants: parts.map((p) => p.replace(/^@/, '')) };
  return { tiers: parts };
}

const seconds = (v: string | boolean | string[] | undefined, name: string) =>
  v === '0' ? 0 : intOption(v, name);

function startBody(o: ParsedCommand['options']) {
  const waves = (o as unknown as { wave?: string[] }).wave ?? [];
  const canary = intOption(o.canary, 'canary');
  return {
    isolation: list(o.isolation),
    tiers: list(o.tiers),
    targetVersion: typeof o.target === 'string' ? o.target : undefined,
    waves: waves.map(waveOption),
    maxConcurrency: intOption(o['max-concurrency'], 'max-concurrency'),
    failureBudget: budgetOption(o.budget),
    canary: canary ? { count: canary, bakeSeconds: seconds(o['canary-bake'], 'canary-bake') } : undefined,
    bakeSeconds: seconds(o.bake, 'bake'),
    onFailure: typeof o['on-failure'] === 'string' ? o['on-failure'] : undefined,
  };
}

const rolloutPath = (id: string) => `/v1/rollouts/${encodeURIComponent(id)}`;

/** Redraws the progress until the rollout stops (ended, or paused); exit 2 unless it SUCCEEDED. */
async function follow(env: CommandEnv, id: string, first: View): Promise<number> {
  let view = first;
  for (;;) {
    if (!env.json) env.stdout.write(renderRollout(view));
    const stopped = ENDED.includes(view.rollout.status) || view.rollout.status === 'PAUSED';
    if (stopped) {
      if (env.json) env.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      return view.rollout.status === 'SUCCEEDED' ? 0 : 2;
    }
    await env.sleep(env.pollMs);
    view = await env.client.request<View>('GET', rolloutPath(id));
  }
}

export async function rolloutCommand(env: CommandEnv, cmd: ParsedCommand): Promise<number> {
  const [action, id] = cmd.positionals;
  const o = cmd.options;
  const print = (value: View) => {
    env.stdout.write(env.json ? `${JSON.stringify(value, null, 2)}\n` : renderRollout(value));
    return 0;
  };
  const needId = () => {
    if (!id) throw new UsageError(`rollout ${action} takes <rollout>, the rollout id`);
    return id;
  };
  switch (action) {
    case 'start': {
      const view = await env.client.request<View>('POST', '/v1/rollouts', {
        body: startBody(o),
        idempotencyKey: typeof o['idempotency-key'] === 'string' ? o['idempotency-key'] : undefined,
      });
      return o.wait === true ? follow(env, view.rollout.rolloutId, view) : print(view);
    }
    case 'status': {
      const view = await env.client.request<View>('GET', rolloutPath(needId()));
      return o.wait === true ? follow(env, needId(), view) : print(view);
    }
    case 'tenants': {
      const { items } = await env.client.request<{ items: RolloutTenant[] }>(
        'GET',
        `${rolloutPath(needId())}/tenants`,
      );
      env.stdout.write(env.json ? `${JSON.stringify(items, null, 2)}\n` : renderRolloutTenants(items));
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'abort': {
      const view = await env.client.request<View>('POST', `${rolloutPath(needId())}/${action}`, { body: {} });
      return o.wait === true && action === 'resume' ? follow(env, needId(), view) : print(view);
    }
    case 'budget': {
      const view = await env.client.request<View>('PATCH', rolloutPath(needId()), {
        body: {
          maxConcurrency: intOption(o['max-concurrency'], 'max-concurrency'),
          failureBudget: budgetOption(o.budget),
        },
      });
      return print(view);
    }
    case 'list': {
      const { items } = await env.client.request<{ items: Rollout[] }>('GET', '/v1/rollouts');
      env.stdout.write(env.json ? `${JSON.stringify(items, null, 2)}\n` : renderRolloutList(items));
      return 0;
    }
    default:
      throw new UsageError(
        `rollout takes start, status, tenants, pause, resume, abort, list or budget; got ${JSON.stringify(action)}`,
      );
  }
}

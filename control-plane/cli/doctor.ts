import { inspectLocalAws, type LocalAwsReport } from '../../core/local-aws/inspect.js';
import type { ParsedCommand } from './args.js';
import type { CommandEnv } from './commands.js';

/**
 * `tenantctl doctor`: the local AWS of the data directory (pid, port, uptime, tenant count, where its
 * state is kept) and any stray moto started from it, with the command that stops each. It reads the
 * data directory, the process table and moto directly, so it works while the API is down; it also
 * says whether the API answers. Exit 0 when the local AWS answers and nothing is stray, else 1.
 */

const DEFAULT_REGISTRY_TABLE = 'tenant-control-plane-registry';

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`, `${s}s`].filter(Boolean).slice(0, 2).join(' ');
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

export function renderDoctor(r: LocalAwsReport, api: string): string {
  const lines = [`local AWS of ${r.dataDir}`];
  const rec = r.record;
  switch (r.status) {
    case 'none':
      lines.push(
        '  in use:    none (no local AWS was started from this data directory; `npm start` starts one)',
      );
      break;
    case 'stopped':
      lines.push(
        `  in use:    none (stopped by \`npm run local-aws:stop\` at ${rec?.stoppedAt}; \`npm start\` starts it again)`,
      );
      break;
    case 'gone':
      lines.push(
        `  in use:    NONE: moto pid ${rec?.pid} (port ${rec?.port}) is no longer running; the next \`npm start\` ` +
          (r.snapshot ? 'restores its last snapshot' : 'starts an empty local AWS (its state is lost)'),
      );
      break;
    default:
      lines.push(
        `  in use:    moto pid ${rec?.pid} at ${rec?.endpoint} (port ${rec?.port}), up ${duration(r.uptimeSeconds ?? 0)}` +
          (r.status === 'running'
            ? ''
            : ', NOT ANSWERING (busy or hung; see moto.log in the data directory)'),
      );
  }
  if (r.tenants !== undefined)
    lines.push(`  tenants:   ${typeof r.tenants === 'number' ? r.tenants : `unknown (${r.tenants.error})`}`);
  if (rec?.origin === 'restored' && rec.restoredFrom)
    lines.push(`  began:     restored from ${rec.restoredFrom.file} (saved ${rec.restoredFrom.savedAt})`);
  if (rec?.origin === 'lost' && rec.stateLost) lines.push(`  began:     ${rec.stateLost.message}`);
  if (rec?.origin === 'new') lines.push(`  began:     empty, at ${rec.startedAt}`);
  lines.push(
    rec?.stateFile
      ? `  state:     kept in ${rec.stateFile}${r.snapshot ? ` (${megabytes(r.snapshot.bytes)}, saved ${r.snapshot.savedAt})` : ' (no snapshot yet)'}`
      : rec
        ? '  state:     in memory only (lost when this moto stops)'
        : r.snapshot
          ? `  state:     snapshot ${r.snapshot.file} (${megabytes(r.snapshot.bytes)}, saved ${r.snapshot.savedAt})`
          : '  state:     none saved',
  );
  if (r.strays.length) {
    lines.push('stray moto processes from this data directory (not the local AWS in use):');
    for (const s of r.strays)
      lines.push(`  pid ${s.pid}${s.port ? ` on port ${s.port}` : ''}: stop it with \`${s.stop}\``);
    lines.push('  (`npm run local-aws:stop` stops them all, the local AWS in use too)');
  }
  lines.push(`API: ${api}`);
  return `${lines.join('\n')}\n`;
}

export async function doctorCommand(env: CommandEnv, _cmd: ParsedCommand): Promise<number> {
  const registryTable = env.local?.registryTable ?? DEFAULT_REGISTRY_TABLE;
  const report = await inspectLocalAws(env.local?.dataDir ?? '.data', { registryTable });
  const url = env.local?.url ?? 'http://127.0.0.1:3000';
  let api: string;
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
    api = `${url} answers (${((await res.json()) as { status?: string }).status ?? res.status})`;
  } catch (e) {
    api = `${url} does not answer (${(e as Error).message})`;
  }
  if (env.json) env.stdout.write(`${JSON.stringify({ localAws: report, api }, null, 2)}\n`);
  else env.stdout.write(renderDoctor(report, api));
  return report.status === 'running' && report.strays.length === 0 ? 0 : 1;
}

import type { AuditEvent, Operation, Step, Tenant } from '../../core/registry/records.js';
import type { Tier } from '../../tiers/catalog.js';

/** Text output of tenantctl: pure functions from API records to lines, plus the progress view. */

export interface Output {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** Columns padded to their widest cell, two spaces apart. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function renderTenant(t: Tenant, extra: { suspensionReason?: string | undefined } = {}): string {
  // An offboarded tenant's stacks, account and access are gone: their ids would point at nothing.
  const gone = t.state === 'OFFBOARDED';
  const rows: [string, string | undefined][] = [
    ['tenant', t.tenantId],
    ['slug', t.slug],
    ['name', t.name],
    ['tier', `${t.tier} (${t.isolation})`],
    ['state', t.state],
    ['reason', extra.suspensionReason],
    ['admin email', t.adminEmail],
    ['region', t.region],
    ['account', gone ? undefined : t.accountId],
    ['operation', t.currentOperationId],
    ['last error', t.lastError ? `${t.lastError.code}: ${t.lastError.message}` : undefined],
    [
      'stacks',
      !gone && t.stacks.length ? t.stacks.map((s) => `${s.stackName} (${s.status})`).join(', ') : undefined,
    ],
    ['offboarded', t.offboardedAt],
    ['created', t.createdAt],
    ['updated', t.updatedAt],
  ];
  return rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(13)}${v}\n`)
    .join('');
}

export function renderTenantList(items: readonly Tenant[], nextCursor: string | null): string {
  if (items.length === 0) return 'no tenants\n';
  const out = table(
    ['SLUG', 'TIER', 'STATE', 'TENANT', 'CREATED'],
    items.map((t) => [t.slug, t.tier, t.state, t.tenantId, t.createdAt]),
  );
  return nextCursor ? `${out}more: --cursor ${nextCursor}\n` : out;
}

export function renderEvents(items: readonly AuditEvent[], nextCursor: string | null): string {
  if (items.length === 0) return 'no events\n';
  const out = table(
    ['AT', 'ACTOR', 'ACTION', 'CHANGE', 'OPERATION', 'DETAIL'],
    items.map((e) => [
      e.at,
      e.actor,
      e.action,
      e.from || e.to ? `${e.from ?? ''}→${e.to ?? ''}` : '',
      e.operationId ?? '',
      eventDetail(e),
    ]),
  );
  return nextCursor ? `${out}more: --cursor ${nextCursor}\n` : out;
}

/** What an event's detail says that its other columns do not: a suspension's reason, an update's fields. */
function eventDetail(e: AuditEvent): string {
  const { type: _type, tier: _tier, fields: _fields, ...rest } = e.detail ?? {};
  return Object.entries(rest)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
}

/** A tier's noisy-neighbour controls in a table cell: "reserved 50, queue", or "-". */
function noisyNeighbourSummary(tier: Tier): string {
  const controls = tier.noisyNeighbour;
  const parts = [
    controls?.reservedConcurrency !== undefined ? `reserved ${controls.reservedConcurrency}` : undefined,
    controls?.tenantQueue ? 'queue' : undefined,
  ].filter((x) => x !== undefined);
  return parts.join(', ') || '-';
}

export function renderTiers(tiers: readonly Tier[]): string {
  return table(
    [
      'TIER',
      'ISOLATION',
      'RATE/S',
      'BURST',
      'DAILY QUOTA',
      'DATABASE',
      'OWN ACCOUNT',
      'CONTROLS',
      'MOVES TO',
    ],
    tiers.map((t) => [
      t.name,
      t.isolation,
      String(t.throttle.rateLimit),
      String(t.throttle.burstLimit),
      String(t.throttle.dailyQuota),
      t.database ? `${t.database.instanceClass}${t.database.multiAz ? ' multi-AZ' : ''}` : '-',
      t.dedicatedAccount ? 'yes' : 'no',
      noisyNeighbourSummary(t),
      t.allowedTransitions.join(', ') || '-',
    ]),
  );
}

export function renderAccepted(tenant: Tenant, operation: Operation): string {
  const ended = operation.status === 'SUCCEEDED' || operation.status === 'FAILED';
  return `${operation.type} of ${tenant.slug} (${tenant.tenantId}) accepted: operation ${operation.operationId} ${operation.status}\n${ended ? '' : `follow it: tenantctl watch ${operation.operationId}\n`}`;
}

const MARKS: Record<Step['status'], string> = {
  SUCCEEDED: '✔',
  FAILED: '✖',
  RUNNING: '•',
  WAITING: '…',
  COMPENSATED: '↺',
};
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A step's detail ("waiting for account slot") describes it while it runs, not after. */
const liveDetail = (s: Step) => (s.status === 'RUNNING' || s.status === 'WAITING' ? s.detail : undefined);

const seconds = (ms: number) => `${(Math.max(ms, 0) / 1000).toFixed(1)}s`;

function stepDuration(step: Step, now: number): string {
  const end = step.endedAt ? Date.parse(step.endedAt) : now;
  return seconds(end - Date.parse(step.startedAt));
}

/** The commands that answer an operation's migration hand-off (docs/workflows.md), when it waits on one. */
export function handoffCommands(op: Operation): string[] {
  if (op.waitingFor !== 'migration' || op.callback || op.endedAt) return [];
  return [`tenantctl migration complete ${op.operationId}`, `tenantctl migration fail ${op.operationId}`];
}

const HANDOFF_INTRO = 'waiting for the application plane to move the data; answer the hand-off with:';

/**
 * Shows an operation's steps while it runs. On a terminal it redraws in place with status marks, a
 * spinner and elapsed times; elsewhere (pipes, CI logs) it prints one line per change.
 */
export class ProgressView {
  private drawnLines = 0;
  private frame = 0;
  private readonly seen = new Map<string, string>();
  private lastStatus: string | undefined;
  private last: Operation | undefined;
  private handoffShown = false;

  constructor(
    private readonly out: Output,
    private readonly now: () => number = Date.now,
  ) {}

  update(op: Operation): void {
    this.last = op;
    if (this.out.isTTY) this.redraw(op);
    else this.appendChanges(op);
  }

  /** Between answers on a terminal: the spinner turns and the running step's time goes on. */
  tick(): void {
    if (this.out.isTTY && this.last && !this.last.endedAt) this.redraw(this.last);
  }

  private redraw(op: Operation): void {
    const now = this.now();
    this.frame = (this.frame + 1) % SPINNER.length;
    const lines = [
      `${op.type} ${op.operationId}  ${op.status}  ${seconds((op.endedAt ? Date.parse(op.endedAt) : now) - Date.parse(op.createdAt))}`,
      ...op.steps.map((s) => {
        const mark = s.status === 'RUNNING' ? SPINNER[this.frame]! : MARKS[s.status];
        const detail = s.error
          ? `  ${s.error.code}: ${s.error.message}`
          : liveDetail(s)
            ? `  ${liveDetail(s)}`
            : '';
        return `  ${mark} ${s.name.padEnd(28)} ${stepDuration(s, now).padStart(7)}${detail}`;
      }),
    ];
    const handoff = handoffCommands(op);
    if (handoff.length) lines.push(`  ${HANDOFF_INTRO}`, ...handoff.map((c) => `    ${c}`));
    // Move up over the previous drawing and clear it, then draw again.
    const clear = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\x1b[0J` : '';
    this.out.write(`${clear}${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }

  private appendChanges(op: Operation): void {
    const now = this.now();
    const elapsed = () => `[${seconds(now - Date.parse(op.createdAt)).padStart(7)}]`;
    // The end is said after the steps that led to it; any other status before the steps it heads.
    const status = () => {
      if (op.status === this.lastStatus) return;
      this.out.write(`${elapsed()} ${op.type} ${op.operationId} ${op.status}\n`);
      this.lastStatus = op.status;
    };
    if (!op.endedAt) status();
    op.steps.forEach((s, i) => {
      const key = `${i}:${s.name}`;
      const state = `${s.status}|${liveDetail(s) ?? ''}`;
      if (this.seen.get(key) === state) return;
      this.seen.set(key, state);
      const detail = s.error
        ? ` ${s.error.code}: ${s.error.message}`
        : liveDetail(s)
          ? ` (${liveDetail(s)})`
          : '';
      this.out.write(
        `${elapsed()} ${MARKS[s.status]} ${s.name} ${s.status}${s.endedAt ? ` in ${stepDuration(s, now)}` : ''}${detail}\n`,
      );
    });
    if (op.endedAt) status();
    const handoff = handoffCommands(op);
    if (handoff.length && !this.handoffShown) {
      this.handoffShown = true;
      this.out.write(`${elapsed()} ${HANDOFF_INTRO}\n${handoff.map((c) => `  ${c}\n`).join('')}`);
    }
  }
}

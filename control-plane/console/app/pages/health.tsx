import { useEffect, useState } from 'preact/hooks';
import { OPERATION_RULES } from '../../../../core/lifecycle.js';
import type { Finding, TenantHealth } from '../../../../core/reconcile/findings.js';
import type { Orphan, ReconcileRun } from '../../../../core/reconcile/store.js';
import type { Tenant } from '../../../../core/registry/records.js';
import { api } from '../api.js';
import { useSession } from '../session.js';
import { Badge, EmptyRow, ErrorBox, Pager, TableWrap, useLoad } from '../ui.js';

/**
 * Health and drift (docs/reconcile.md): what the last reconcile found, over a page of tenants at a
 * time (each tenant's GET /v1/tenants/{id}/health; there is no fleet-wide findings route), the
 * findings by class and severity, orphans, and the actions the API has: run a reconcile over every
 * tenant (optionally repairing), reconcile one tenant now, repair one.
 */

const PAGE = 25;
const SEVERITIES = ['error', 'warning', 'info'] as const;

type Row = { tenant: Tenant; health: TenantHealth };
type Page = { items: Tenant[]; nextCursor: string | null };

/** Findings as a table: the tenant page and the fleet view show them alike. */
export function FindingsTable({
  label,
  findings,
}: {
  label: string;
  findings: readonly (Finding & { tenant?: Tenant })[];
}) {
  if (findings.length === 0) return <p class="muted">no findings</p>;
  const withTenant = findings.some((f) => f.tenant);
  return (
    <TableWrap label={label}>
      <thead>
        <tr>
          {withTenant ? <th scope="col">Tenant</th> : null}
          <th scope="col">Severity</th>
          <th scope="col">Class</th>
          <th scope="col">Resource</th>
          <th scope="col">Reference</th>
          <th scope="col">Message</th>
          <th scope="col">Repairable</th>
          <th scope="col">First seen</th>
        </tr>
      </thead>
      <tbody>
        {findings.map((f) => (
          <tr key={`${f.tenant?.tenantId ?? ''}-${f.id}`} class={`finding-${f.severity}`}>
            {withTenant ? (
              <td>{f.tenant ? <a href={`#/tenants/${f.tenant.tenantId}`}>{f.tenant.slug}</a> : ''}</td>
            ) : null}
            <td>
              <Badge value={f.severity} />
            </td>
            <td>{f.class}</td>
            <td>{f.resource}</td>
            <td class="wrap">{f.ref}</td>
            <td class="wrap">{f.message}</td>
            <td>{f.repairable ? 'yes' : 'no'}</td>
            <td>{new Date(f.firstSeenAt).toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}

/** A reconcile run over every tenant, polled until it ends. */
function RunProgress({ runId, onEnd }: { runId: string; onEnd: () => void }) {
  const [run, setRun] = useState<ReconcileRun>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const r = await api<ReconcileRun>('GET', `/v1/reconcile/${runId}`);
        if (!live) return;
        setRun(r);
        if (r.status === 'RUNNING') setTimeout(() => void poll(), 1000);
        else onEnd();
      } catch (e) {
        if (live) setError(e);
      }
    };
    void poll();
    return () => {
      live = false;
    };
  }, [runId]);
  return (
    <div class="run" aria-live="polite">
      <ErrorBox error={error} />
      {run ? (
        <p>
          Reconcile <code>{run.runId}</code> <Badge value={run.status} /> {run.done}/{run.total ?? '?'}{' '}
          tenants — {run.counts.healthy} healthy, {run.counts.drifted} drifted, {run.counts.degraded}{' '}
          degraded, {run.counts.skipped} not compared; {run.newFindings} new finding(s)
          {run.orphans !== undefined ? `, ${run.orphans} orphan(s)` : ''}
          {run.repairs.length ? `, ${run.repairs.length} repair(s) started` : ''}
          {run.error ? ` — ${run.error.code}: ${run.error.message}` : ''}
        </p>
      ) : null}
    </div>
  );
}

function FleetActions({ onDone }: { onDone: () => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [runId, setRunId] = useState<string>();
  const start = async (e: Event) => {
    e.preventDefault();
    const fix = new FormData(e.target as HTMLFormElement).get('fix') === 'on';
    setBusy(true);
    setError(undefined);
    try {
      const { run } = await api<{ run: ReconcileRun }>('POST', '/v1/reconcile', { body: { fix } });
      setRunId(run.runId);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card actions" aria-label="Actions">
      <h2>Actions</h2>
      <ErrorBox error={error} />
      <form onSubmit={start} aria-label="Run reconcile">
        <label class="check">
          <input type="checkbox" name="fix" /> Repair what is repairable
        </label>
        <button type="submit" disabled={busy}>
          Run reconcile
        </button>
      </form>
      {runId ? <RunProgress key={runId} runId={runId} onEnd={onDone} /> : null}
    </section>
  );
}

function TenantActions({ row, onDone }: { row: Row; onDone: () => void }) {
  const session = useSession();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const t = row.tenant;
  const canReconcile = session.may('POST', '/v1/reconcile');
  const canRepair =
    session.may('POST', '/v1/tenants/{tenantId}/repair') &&
    !t.currentOperationId &&
    OPERATION_RULES.repair.from.includes(t.state) &&
    row.health.findings.some((f) => f.repairable);
  if (!canReconcile && !canRepair) return null;
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="row-actions">
      {canReconcile ? (
        <button
          type="button"
          disabled={busy}
          aria-label={`Reconcile ${t.slug}`}
          onClick={() =>
            void run(async () => {
              await api('POST', '/v1/reconcile', { body: { tenant: t.tenantId } });
              onDone();
            })
          }
        >
          Reconcile
        </button>
      ) : null}
      {canRepair ? (
        <button
          type="button"
          disabled={busy}
          aria-label={`Repair ${t.slug}`}
          onClick={() =>
            void run(async () => {
              const started = await api<{ operation: { operationId: string } }>(
                'POST',
                `/v1/tenants/${t.tenantId}/repair`,
                { body: {}, idempotent: true },
              );
              location.hash = `#/operations/${started.operation.operationId}`;
            })
          }
        >
          Repair
        </button>
      ) : null}
      <ErrorBox error={error} />
    </div>
  );
}

type OrphanResult = { id: string; stackId: string; result: string };

/** The last full run's orphan stacks; an admin may delete chosen ones (each is checked again first). */
function Orphans({ refresh }: { refresh: number }) {
  const session = useSession();
  const canDelete = session.may('POST', '/v1/orphans/delete');
  const data = useLoad(() => api<{ checkedAt?: string; orphans: Orphan[] }>('GET', '/v1/orphans'), [refresh]);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [results, setResults] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const toggle = (id: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(id);
    else next.delete(id);
    setChosen(next);
  };
  const remove = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const out = await api<{ results: OrphanResult[] }>('POST', '/v1/orphans/delete', {
        body: { ids: [...chosen] },
      });
      setResults(new Map(out.results.map((r) => [r.id, r.result])));
      setChosen(new Set());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-label="Orphans">
      <h2>Orphan stacks</h2>
      <ErrorBox error={data.error} />
      <ErrorBox error={error} />
      {data.value ? (
        data.value.orphans.length ? (
          <>
            <TableWrap label="Orphan stacks">
              <thead>
                <tr>
                  {canDelete ? <th scope="col">Delete</th> : null}
                  <th scope="col">Stack</th>
                  <th scope="col">Tenant id</th>
                  <th scope="col">Message</th>
                  {results.size ? <th scope="col">Result</th> : null}
                </tr>
              </thead>
              <tbody>
                {data.value.orphans.map((o) => (
                  <tr key={o.id}>
                    {canDelete ? (
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Delete ${o.ref}`}
                          checked={chosen.has(o.id)}
                          onChange={(e) => toggle(o.id, (e.target as HTMLInputElement).checked)}
                        />
                      </td>
                    ) : null}
                    <td class="wrap">{o.ref}</td>
                    <td>{o.tenantId}</td>
                    <td class="wrap">{o.message}</td>
                    {results.size ? <td>{results.get(o.id) ?? ''}</td> : null}
                  </tr>
                ))}
              </tbody>
            </TableWrap>
            {canDelete ? (
              <div class="row">
                <button
                  type="button"
                  class="danger"
                  disabled={busy || chosen.size === 0}
                  onClick={() => void remove()}
                >
                  Delete the chosen stacks
                </button>
              </div>
            ) : null}
          </>
        ) : (
          <p class="muted">
            none
            {data.value.checkedAt
              ? ` (checked ${new Date(data.value.checkedAt).toLocaleString()})`
              : ' found yet'}
          </p>
        )
      ) : null}
    </section>
  );
}

export function HealthPage() {
  const session = useSession();
  const healthFilter = session.queryEnums('GET', '/v1/tenants').get('health');
  const [status, setStatus] = useState('');
  const [showInfo, setShowInfo] = useState(false);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [refresh, setRefresh] = useState(0);
  const cursor = cursors[cursors.length - 1];
  const data = useLoad(async () => {
    const page = await api<Page>('GET', '/v1/tenants', {
      query: { limit: PAGE, cursor, ...(status ? { health: status } : {}) },
    });
    const live = page.items.filter((t) => t.state !== 'OFFBOARDED');
    const rows = await Promise.all(
      live.map(async (tenant) => ({
        tenant,
        health: await api<TenantHealth>('GET', `/v1/tenants/${tenant.tenantId}/health`),
      })),
    );
    return { rows, nextCursor: page.nextCursor };
  }, [cursor, status, refresh]);
  const rows = data.value?.rows ?? [];
  const findings = rows.flatMap((r) => r.health.findings.map((f) => ({ ...f, tenant: r.tenant })));
  const classes = [...new Set(findings.map((f) => f.class))].sort();
  const byStatus = new Map<string, number>();
  for (const r of rows) byStatus.set(r.health.status, (byStatus.get(r.health.status) ?? 0) + 1);
  const reload = () => setRefresh((n) => n + 1);
  const count = (cls: string, sev: string) =>
    findings.filter((f) => f.class === cls && f.severity === sev).length;
  return (
    <div>
      <h1>Health and drift</h1>
      {session.may('POST', '/v1/reconcile') ? <FleetActions onDone={reload} /> : null}
      <div class="filters">
        {healthFilter ? (
          <div class="field">
            <label for="filter-health">Health</label>
            <select
              id="filter-health"
              value={status}
              onChange={(e) => {
                setStatus((e.target as HTMLSelectElement).value);
                setCursors([undefined]);
              }}
            >
              <option value="">all</option>
              {healthFilter.map((h) => (
                <option key={h}>{h}</option>
              ))}
            </select>
          </div>
        ) : null}
        <label class="check">
          <input
            type="checkbox"
            checked={showInfo}
            onChange={(e) => setShowInfo((e.target as HTMLInputElement).checked)}
          />{' '}
          Show what was not checked (info)
        </label>
      </div>
      <ErrorBox error={data.error} />
      <section class="count-row" aria-label="Health on this page">
        <p class="total">
          <strong>{rows.length}</strong> tenants on this page
        </p>
        <ul class="counts-inline">
          {[...byStatus].sort().map(([s, n]) => (
            <li key={s}>
              <Badge value={s} /> <strong>{n}</strong>
            </li>
          ))}
        </ul>
      </section>
      <h2>Findings by class and severity</h2>
      <TableWrap label="Findings by class and severity">
        <thead>
          <tr>
            <th scope="col">Class</th>
            {SEVERITIES.map((s) => (
              <th scope="col" key={s}>
                {s}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {classes.map((c) => (
            <tr key={c}>
              <th scope="row">{c}</th>
              {SEVERITIES.map((s) => (
                <td key={s} class={count(c, s) ? `finding-${s}` : 'muted'}>
                  {count(c, s)}
                </td>
              ))}
            </tr>
          ))}
          <EmptyRow shown={classes.length === 0 && !data.loading} columns={4} text="no findings" />
        </tbody>
      </TableWrap>
      <h2>Tenants</h2>
      <TableWrap label="Tenant health">
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">State</th>
            <th scope="col">Health</th>
            <th scope="col">Errors</th>
            <th scope="col">Warnings</th>
            <th scope="col">Checked</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.tenant.tenantId}>
              <td>
                <a href={`#/tenants/${r.tenant.tenantId}`}>{r.tenant.slug}</a>
              </td>
              <td>
                <Badge value={r.tenant.state} />
              </td>
              <td>
                <Badge value={r.health.status} />
              </td>
              <td>{r.health.findings.filter((f) => f.severity === 'error').length}</td>
              <td>{r.health.findings.filter((f) => f.severity === 'warning').length}</td>
              <td>{r.health.checkedAt ? new Date(r.health.checkedAt).toLocaleString() : 'never'}</td>
              <td>
                <TenantActions row={r} onDone={reload} />
              </td>
            </tr>
          ))}
          <EmptyRow shown={rows.length === 0 && !data.loading} columns={7} text="no tenants" />
        </tbody>
      </TableWrap>
      <Pager
        label={`page ${cursors.length}`}
        onPrevious={cursors.length < 2 ? undefined : () => setCursors(cursors.slice(0, -1))}
        onNext={data.value?.nextCursor ? () => setCursors([...cursors, data.value!.nextCursor!]) : undefined}
      />
      <h2>Findings</h2>
      <FindingsTable label="Findings" findings={findings.filter((f) => showInfo || f.severity !== 'info')} />
      {session.may('GET', '/v1/orphans') ? <Orphans refresh={refresh} /> : null}
    </div>
  );
}

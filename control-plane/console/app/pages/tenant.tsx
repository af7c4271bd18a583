import { useEffect, useState } from 'preact/hooks';
import { OPERATION_RULES, type OperationType } from '../../../../core/lifecycle.js';
import type { TenantHealth } from '../../../../core/reconcile/findings.js';
import type { AuditEvent, StackRef, Tenant } from '../../../../core/registry/records.js';
import { api, followEvents } from '../api.js';
import { useSession } from '../session.js';
import { Badge, ErrorBox, JsonView, TableWrap, useLoad } from '../ui.js';
import { TenantCostSection } from './costs.js';
import { FindingsTable } from './health.js';
import type { Tier } from './tiers.js';

type Started = { operation: { operationId: string } };

/** The AWS console page of a stack: where its ARN leads an operator. */
function stackLink(s: StackRef): string {
  return `https://console.aws.amazon.com/cloudformation/home?region=${encodeURIComponent(s.region)}#/stacks/stackinfo?stackId=${encodeURIComponent(s.arn)}`;
}

function Stacks({ tenant }: { tenant: Tenant }) {
  if (tenant.stacks.length === 0) return <p class="muted">no stacks</p>;
  return (
    <TableWrap label="Stacks">
      <thead>
        <tr>
          <th scope="col">Role</th>
          <th scope="col">Stack</th>
          <th scope="col">Status</th>
          <th scope="col">Template</th>
          <th scope="col">ARN</th>
        </tr>
      </thead>
      <tbody>
        {tenant.stacks.map((s) => (
          <tr key={`${s.role}-${s.accountId ?? ''}-${s.region}`}>
            <td>{s.role}</td>
            <td>{s.stackName}</td>
            <td>
              <Badge value={s.status} />
            </td>
            <td>{s.templateVersion}</td>
            <td class="arn">
              {s.arn ? (
                <a href={stackLink(s)} target="_blank" rel="noreferrer noopener">
                  {s.arn}
                </a>
              ) : (
                'not created yet'
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}

function Timeline({ tenantId, refresh }: { tenantId: string; refresh: number }) {
  const [pages, setPages] = useState<{ items: AuditEvent[]; nextCursor: string | null }[]>([]);
  const [error, setError] = useState<unknown>();
  const load = async (cursor?: string) => {
    try {
      const page = await api<{ items: AuditEvent[]; nextCursor: string | null }>(
        'GET',
        `/v1/tenants/${tenantId}/events`,
        { query: { limit: 50, cursor } },
      );
      setPages((p) => (cursor ? [...p, page] : [page]));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, [tenantId, refresh]);
  const events = pages.flatMap((p) => p.items);
  const next = pages.at(-1)?.nextCursor;
  return (
    <section aria-label="Audit trail">
      <h2>Audit trail</h2>
      <ErrorBox error={error} />
      <ol class="timeline">
        {events.map((e) => (
          <li key={e.eventId}>
            <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
            <span class="action">{e.action}</span>
            {e.from || e.to ? (
              <span>
                {e.from ?? ''} → {e.to ?? ''}
              </span>
            ) : null}
            {e.operationId ? <a href={`#/operations/${e.operationId}`}>{e.operationId}</a> : null}
            <span class="muted">{e.actor}</span>
            {e.detail && typeof e.detail.reason === 'string' ? <q>{e.detail.reason}</q> : null}
          </li>
        ))}
      </ol>
      {next ? (
        <button type="button" onClick={() => void load(next)}>
          Load older events
        </button>
      ) : null}
    </section>
  );
}

/** Operations from the audit trail: each `operation.started` names one. */
function Operations({ tenant, events }: { tenant: Tenant; events: AuditEvent[] }) {
  const started = events.filter((e) => e.action === 'operation.started' && e.operationId);
  return (
    <section aria-label="Operations">
      <h2>Operations</h2>
      {tenant.currentOperationId ? (
        <p>
          Current: <a href={`#/operations/${tenant.currentOperationId}`}>{tenant.currentOperationId}</a>
        </p>
      ) : (
        <p class="muted">no operation in flight</p>
      )}
      <ul class="ops">
        {started.map((e) => (
          <li key={e.operationId}>
            <a href={`#/operations/${e.operationId}`}>{String(e.detail?.type ?? 'operation')}</a>{' '}
            <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Actions({ tenant, onStarted }: { tenant: Tenant; onStarted: (operationId: string) => void }) {
  const session = useSession();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState('');
  const tiers = useLoad(() => api<{ tiers: Tier[] }>('GET', '/v1/tiers'), []);
  const allowed = (type: OperationType) =>
    !tenant.currentOperationId && OPERATION_RULES[type].from.includes(tenant.state);
  const run = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    setBusy(true);
    setError(undefined);
    try {
      const started = await api<Started>(method, path, { body, idempotent: true });
      onStarted(started.operation.operationId);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const base = `/v1/tenants/${tenant.tenantId}`;
  const form = (handler: (data: FormData) => void) => (e: Event) => {
    e.preventDefault();
    handler(new FormData(e.target as HTMLFormElement));
  };
  const moves = tiers.value?.tiers.find((t) => t.name === tenant.tier)?.allowedTransitions ?? [];
  const shown = {
    tier: session.may('POST', '/v1/tenants/{tenantId}/tier') && allowed('change-tier') && moves.length > 0,
    suspend: session.may('POST', '/v1/tenants/{tenantId}/suspend') && allowed('suspend'),
    resume: session.may('POST', '/v1/tenants/{tenantId}/resume') && allowed('resume'),
    offboard: session.may('DELETE', '/v1/tenants/{tenantId}') && allowed('offboard'),
  };
  if (!Object.values(shown).some(Boolean)) return null;
  return (
    <section class="card actions" aria-label="Actions">
      <h2>Actions</h2>
      <ErrorBox error={error} />
      {shown.tier ? (
        <form onSubmit={form((d) => void run('POST', `${base}/tier`, { tier: d.get('tier') }))}>
          <label>
            New tier
            <select name="tier">
              {moves.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy}>
            Change tier
          </button>
        </form>
      ) : null}
      {shown.suspend ? (
        <form onSubmit={form((d) => void run('POST', `${base}/suspend`, { reason: d.get('reason') }))}>
          <label>
            Suspension reason <input name="reason" required maxLength={500} />
          </label>
          <button type="submit" disabled={busy}>
            Suspend
          </button>
        </form>
      ) : null}
      {shown.resume ? (
        <button type="button" disabled={busy} onClick={() => void run('POST', `${base}/resume`, {})}>
          Resume
        </button>
      ) : null}
      {shown.offboard ? (
        <form onSubmit={form(() => void run('DELETE', base))} class="danger">
          <label>
            <span>
              Type <code>{tenant.slug}</code> to offboard
            </span>
            <input
              name="confirm"
              value={confirm}
              autoComplete="off"
              onInput={(e) => setConfirm((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="danger" disabled={busy || confirm !== tenant.slug}>
            Offboard
          </button>
        </form>
      ) : null}
    </section>
  );
}

/** A section for an API another part of the control plane adds: shown only when its route exists. */
function Extra({ title, path, tenantId }: { title: string; path: string; tenantId: string }) {
  const data = useLoad(() => api<unknown>('GET', path.replace('{tenantId}', tenantId)), [tenantId, path]);
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      <ErrorBox error={data.error} />
      {data.value !== undefined ? <JsonView value={data.value} /> : null}
    </section>
  );
}

const EXTRAS: readonly [string, string][] = [
  ['Users', '/v1/tenants/{tenantId}/users'],
  ['Configuration', '/v1/tenants/{tenantId}/config'],
  ['Usage', '/v1/tenants/{tenantId}/usage'],
];

/** What the last reconcile found for this tenant (docs/reconcile.md). */
function Health({ tenantId, refresh }: { tenantId: string; refresh: number }) {
  const data = useLoad(() => api<TenantHealth>('GET', `/v1/tenants/${tenantId}/health`), [tenantId, refresh]);
  const h = data.value;
  return (
    <section aria-label="Health">
      <h2>Health</h2>
      <ErrorBox error={data.error} />
      {h ? (
        <>
          <p>
            <Badge value={h.status} />{' '}
            <span class="muted">
              {h.checkedAt ? `checked ${new Date(h.checkedAt).toLocaleString()}` : 'never reconciled'}
            </span>
          </p>
          <FindingsTable label="Findings" findings={h.findings} />
        </>
      ) : null}
    </section>
  );
}

export function TenantPage({ id }: { id: string }) {
  const session = useSession();
  const [refresh, setRefresh] = useState(0);
  const tenant = useLoad(() => api<Tenant>('GET', `/v1/tenants/${encodeURIComponent(id)}`), [id, refresh]);
  const events = useLoad(
    () =>
      api<{ items: AuditEvent[] }>('GET', `/v1/tenants/${encodeURIComponent(id)}/events`, {
        query: { limit: 100 },
      }),
    [id, refresh],
  );
  // Live: any event of this tenant reloads what the page shows.
  useEffect(() => {
    const stop = new AbortController();
    void followEvents({ tenant: id }, () => setRefresh((r) => r + 1), stop.signal);
    return () => stop.abort();
  }, [id]);
  if (tenant.error) return <ErrorBox error={tenant.error} />;
  const t = tenant.value;
  if (!t) return <p class="muted">loading…</p>;
  const rows: [string, string | undefined][] = [
    ['Tenant id', t.tenantId],
    ['Tier', `${t.tier} (${t.isolation})`],
    ['Region', t.region],
    ['Admin email', t.adminEmail],
    ['Account', t.accountId],
    ['API key', t.access.apiKeyId ? `issued (${t.access.apiKeyId})` : 'none'],
    ['Usage plan', t.access.usagePlanId],
    ['User pool group', t.access.groupName],
    ['Template', t.templateVersion],
    ['Created', new Date(t.createdAt).toLocaleString()],
    ['Updated', new Date(t.updatedAt).toLocaleString()],
    ['Last error', t.lastError ? `${t.lastError.code}: ${t.lastError.message}` : undefined],
  ];
  return (
    <div>
      <div class="page-head">
        <h1>
          {t.name} <small>{t.slug}</small>
        </h1>
        <Badge value={t.state} />
      </div>
      <dl class="facts">
        {rows
          .filter((r): r is [string, string] => r[1] !== undefined)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
      </dl>
      <Actions tenant={t} onStarted={(op) => (location.hash = `#/operations/${op}`)} />
      <h2>Stacks</h2>
      <Stacks tenant={t} />
      {Object.keys(t.outputs).length ? (
        <>
          <h2>Outputs</h2>
          <JsonView value={t.outputs} />
        </>
      ) : null}
      <Operations tenant={t} events={events.value?.items ?? []} />
      {session.may('GET', '/v1/tenants/{tenantId}/health') ? (
        <Health tenantId={t.tenantId} refresh={refresh} />
      ) : null}
      {EXTRAS.filter(([, path]) => session.may('GET', path)).map(([title, path]) => (
        <Extra key={path} title={title} path={path} tenantId={t.tenantId} />
      ))}
      {session.may('GET', '/v1/tenants/{tenantId}/cost') ? <TenantCostSection tenantId={t.tenantId} /> : null}
      <Timeline tenantId={t.tenantId} refresh={refresh} />
    </div>
  );
}

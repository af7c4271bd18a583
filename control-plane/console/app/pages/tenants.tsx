import { useState } from 'preact/hooks';
import { TENANT_STATES } from '../../../../core/lifecycle.js';
import type { Tenant } from '../../../../core/registry/records.js';
import { api } from '../api.js';
import { useSession } from '../session.js';
import { Badge, EmptyRow, ErrorBox, Pager, TableWrap, useLoad } from '../ui.js';
import type { Tier } from './tiers.js';

type Page = { items: Tenant[]; nextCursor: string | null };

/** At most this many tenants are walked to count them; beyond it the counts say "at least". */
const COUNT_LIMIT = 2000;

async function countTenants(): Promise<{
  byTier: Map<string, number>;
  byState: Map<string, number>;
  complete: boolean;
  total: number;
}> {
  const byTier = new Map<string, number>();
  const byState = new Map<string, number>();
  let cursor: string | undefined;
  let total = 0;
  do {
    const page = await api<Page>('GET', '/v1/tenants', { query: { limit: 200, cursor } });
    for (const t of page.items) {
      byTier.set(t.tier, (byTier.get(t.tier) ?? 0) + 1);
      byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
    }
    total += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor && total < COUNT_LIMIT);
  return { byTier, byState, complete: !cursor, total };
}

function Counts({ refresh }: { refresh: number }) {
  const counts = useLoad(countTenants, [refresh]);
  if (counts.error) return <ErrorBox error={counts.error} />;
  const c = counts.value;
  if (!c) return <p class="muted">counting…</p>;
  const at = c.complete ? '' : '≥ ';
  const list = (label: string, m: Map<string, number>) => (
    <section class="counts" aria-label={label}>
      <h3>{label}</h3>
      <ul>
        {[...m].sort().map(([k, n]) => (
          <li key={k}>
            <span>{k}</span>{' '}
            <strong>
              {at}
              {n}
            </strong>
          </li>
        ))}
      </ul>
    </section>
  );
  return (
    <div class="count-row">
      <p class="total">
        <strong>
          {at}
          {c.total}
        </strong>{' '}
        tenants
      </p>
      {list('By tier', c.byTier)}
      {list('By state', c.byState)}
    </div>
  );
}

function OnboardForm({ tiers, onDone }: { tiers: Tier[]; onDone: () => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const body: Record<string, string> = {};
    for (const k of ['name', 'slug', 'tier', 'adminEmail', 'region']) {
      const v = String(form.get(k) ?? '').trim();
      if (v) body[k] = v;
    }
    setBusy(true);
    setError(undefined);
    try {
      const started = await api<{ operation: { operationId: string } }>('POST', '/v1/tenants', {
        body,
        idempotent: true,
      });
      onDone();
      location.hash = `#/operations/${started.operation.operationId}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="card form" onSubmit={submit} aria-label="Onboard a tenant">
      <h2>Onboard a tenant</h2>
      <label>
        Name <input name="name" required maxLength={100} />
      </label>
      <label>
        Slug (optional) <input name="slug" pattern="[a-z][a-z0-9-]{1,30}[a-z0-9]" />
      </label>
      <label>
        Tier
        <select name="tier" required>
          {tiers.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name} ({t.isolation})
            </option>
          ))}
        </select>
      </label>
      <label>
        Admin email <input name="adminEmail" type="email" required />
      </label>
      <label>
        Region (optional) <input name="region" placeholder="us-east-1" />
      </label>
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Onboarding…' : 'Onboard'}
      </button>
    </form>
  );
}

export function TenantsPage() {
  const session = useSession();
  const [tier, setTier] = useState('');
  const [state, setState] = useState('');
  const [search, setSearch] = useState('');
  // Filters the list route takes besides tier and state (e.g. health), read from its OpenAPI enums.
  const extraFilters = [...session.queryEnums('GET', '/v1/tenants')].filter(
    ([n]) => n !== 'tier' && n !== 'state',
  );
  const [extra, setExtra] = useState<Record<string, string>>({});
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [showOnboard, setShowOnboard] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const cursor = cursors[cursors.length - 1];
  const tiers = useLoad(() => api<{ tiers: Tier[] }>('GET', '/v1/tiers'), []);
  const page = useLoad(
    () => api<Page>('GET', '/v1/tenants', { query: { ...extra, tier, state, cursor, limit: 25 } }),
    [tier, state, cursor, refresh, JSON.stringify(extra)],
  );
  const found = useLoad(
    async () =>
      search.trim()
        ? await api<Tenant>('GET', `/v1/tenants/${encodeURIComponent(search.trim())}`).catch(() => undefined)
        : undefined,
    [search],
  );
  const q = search.trim().toLowerCase();
  const items = (page.value?.items ?? []).filter(
    (t) => !q || t.slug.includes(q) || t.name.toLowerCase().includes(q) || t.tenantId.toLowerCase() === q,
  );
  // An exact id or slug found beyond this page is shown too.
  if (found.value && !items.some((t) => t.tenantId === found.value!.tenantId)) items.unshift(found.value);
  const filter = (set: (v: string) => void) => (e: Event) => {
    set((e.target as HTMLSelectElement).value);
    setCursors([undefined]);
  };
  return (
    <div>
      <div class="page-head">
        <h1>Tenants</h1>
        {session.may('POST', '/v1/tenants') ? (
          <button type="button" onClick={() => setShowOnboard(!showOnboard)} aria-expanded={showOnboard}>
            Onboard a tenant
          </button>
        ) : null}
      </div>
      {showOnboard && tiers.value ? (
        <OnboardForm tiers={tiers.value.tiers} onDone={() => setRefresh((r) => r + 1)} />
      ) : null}
      <Counts refresh={refresh} />
      <search class="filters">
        <label>
          Search{' '}
          <input
            type="search"
            value={search}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            placeholder="slug, name or id"
          />
        </label>
        <div class="field">
          <label for="filter-tier">Tier</label>
          <select id="filter-tier" value={tier} onChange={filter(setTier)}>
            <option value="">all</option>
            {(tiers.value?.tiers ?? []).map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-state">State</label>
          <select id="filter-state" value={state} onChange={filter(setState)}>
            <option value="">all</option>
            {TENANT_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        {extraFilters.map(([name, values]) => (
          <div class="field" key={name}>
            <label for={`filter-${name}`}>{name[0]!.toUpperCase() + name.slice(1)}</label>
            <select
              id={`filter-${name}`}
              value={extra[name] ?? ''}
              onChange={filter((v) => setExtra((x) => ({ ...x, [name]: v })))}
            >
              <option value="">all</option>
              {values.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </div>
        ))}
      </search>
      <ErrorBox error={page.error} />
      <TableWrap label="Tenants">
        <thead>
          <tr>
            <th scope="col">Slug</th>
            <th scope="col">Name</th>
            <th scope="col">Tier</th>
            <th scope="col">State</th>
            <th scope="col">Region</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.tenantId}>
              <td>
                <a href={`#/tenants/${t.tenantId}`}>{t.slug}</a>
              </td>
              <td>{t.name}</td>
              <td>{t.tier}</td>
              <td>
                <Badge value={t.state} />
              </td>
              <td>{t.region}</td>
              <td>{new Date(t.createdAt).toLocaleString()}</td>
            </tr>
          ))}
          <EmptyRow shown={items.length === 0 && !page.loading} columns={6} text="no tenants" />
        </tbody>
      </TableWrap>
      <Pager
        label={`page ${cursors.length}`}
        onPrevious={cursors.length < 2 ? undefined : () => setCursors(cursors.slice(0, -1))}
        onNext={page.value?.nextCursor ? () => setCursors([...cursors, page.value!.nextCursor!]) : undefined}
      />
    </div>
  );
}

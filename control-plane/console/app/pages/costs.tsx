import { useState } from 'preact/hooks';
import type { CostReport, TenantCost, TenantCostPeriod } from '../../../../core/costs/report.js';
import { api } from '../api.js';
import { BarChart, ColumnChart } from '../charts.js';
import { useSession } from '../session.js';
import { EmptyRow, ErrorBox, TableWrap, useLoad } from '../ui.js';
import type { Tier } from './tiers.js';

/**
 * Cost (docs/metering.md): GET /v1/costs over a range, drawn as cost per tier (a bar per catalog
 * tier) and, for one tenant at a time, its cost per period; every number is in a table too. The
 * range is in the address (#/costs/<from>/<to>/<granularity>), so a view can be linked. Every
 * load is Cost Explorer requests AWS bills per request: nothing asks it without being opened.
 */

export const money = (amount: number, currency: string) =>
  `${amount.toFixed(amount !== 0 && Math.abs(amount) < 0.01 ? 4 : 2)} ${currency}`;

/** Cost Explorer's own word for each period: its start day (DAILY) or month (MONTHLY). */
const periodLabel = (p: { start: string }, granularity: string) =>
  granularity === 'MONTHLY' ? p.start.slice(0, 7) : p.start.slice(5);

/** A cost range form; submitting it calls `onRange`. Defaults are the API's (this month). */
function RangeForm({
  from,
  to,
  granularity,
  granularities,
  onRange,
  label,
}: {
  from?: string | undefined;
  to?: string | undefined;
  granularity?: string | undefined;
  granularities: readonly string[];
  onRange: (from: string, to: string, granularity: string) => void;
  label: string;
}) {
  const [f, setF] = useState(from ?? '');
  const [t, setT] = useState(to ?? '');
  const [g, setG] = useState(granularity ?? granularities[0] ?? '');
  const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  const submit = (e: Event) => {
    e.preventDefault();
    onRange(f, t, g);
  };
  return (
    <form class="filters range" onSubmit={submit} aria-label={label}>
      <label>
        From <input type="date" name="from" value={f} onInput={value(setF)} />
      </label>
      <label>
        To (exclusive) <input type="date" name="to" value={t} onInput={value(setT)} />
      </label>
      {granularities.length ? (
        <label>
          Granularity
          <select name="granularity" value={g} onChange={value(setG)}>
            {granularities.map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </label>
      ) : null}
      <button type="submit">Show cost</button>
    </form>
  );
}

/** A tenant's cost per period: a column chart and the same numbers in a table. */
export function TenantCostChart({
  name,
  periods,
  granularity,
  currency,
}: {
  name: string;
  periods: readonly TenantCostPeriod[];
  granularity: string;
  currency: string;
}) {
  const fmt = (n: number) => money(n, currency);
  return (
    <div class="tenant-cost">
      <ColumnChart
        title={`Cost of ${name} per period`}
        data={periods.map((p) => ({ label: periodLabel(p, granularity), value: p.total }))}
        format={fmt}
      />
      <TableWrap label={`Cost of ${name} per period`}>
        <thead>
          <tr>
            <th scope="col">Period</th>
            <th scope="col">Direct</th>
            <th scope="col">Apportioned</th>
            <th scope="col">Total</th>
            <th scope="col">Usage</th>
          </tr>
        </thead>
        <tbody>
          {periods.map((p) => (
            <tr key={p.start}>
              <th scope="row">{p.start}</th>
              <td>{fmt(p.direct)}</td>
              <td>{fmt(p.apportioned)}</td>
              <td>{fmt(p.total)}</td>
              <td>{p.usage}</td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
    </div>
  );
}

/** The tenant page's Cost section: loaded when asked (each load is billed Cost Explorer requests). */
export function TenantCostSection({ tenantId }: { tenantId: string }) {
  const session = useSession();
  const granularities = session.queryEnums('GET', '/v1/tenants/{tenantId}/cost').get('granularity') ?? [];
  const [range, setRange] = useState<{ from: string; to: string; granularity: string }>();
  const data = useLoad(
    async () =>
      range
        ? api<TenantCost & { granularity: string; currency: string; from: string; to: string }>(
            'GET',
            `/v1/tenants/${encodeURIComponent(tenantId)}/cost`,
            { query: range },
          )
        : undefined,
    [tenantId, JSON.stringify(range)],
  );
  const c = data.value;
  return (
    <section aria-label="Cost">
      <h2>Cost</h2>
      <RangeForm
        label="Cost range"
        granularities={granularities}
        {...(range ?? {})}
        onRange={(from, to, granularity) => setRange({ from, to, granularity })}
      />
      <ErrorBox error={data.error} />
      {c ? (
        <>
          <p>
            {c.from} to {c.to}: <strong>{money(c.total, c.currency)}</strong> ({money(c.direct, c.currency)}{' '}
            direct, {money(c.apportioned, c.currency)} apportioned)
            {c.costToRevenue !== null ? `, cost ÷ revenue ${c.costToRevenue.toFixed(2)}` : ''}
          </p>
          <TenantCostChart
            name={c.slug ?? c.tenantId}
            periods={c.periods}
            granularity={c.granularity}
            currency={c.currency}
          />
        </>
      ) : null}
    </section>
  );
}

export function CostPage({ from, to, granularity }: { from?: string; to?: string; granularity?: string }) {
  const session = useSession();
  const granularities = session.queryEnums('GET', '/v1/costs').get('granularity') ?? [];
  const tiers = useLoad(() => api<{ tiers: Tier[] }>('GET', '/v1/tiers'), []);
  const report = useLoad(
    () => api<CostReport>('GET', '/v1/costs', { query: { from, to, granularity } }),
    [from, to, granularity],
  );
  const [picked, setPicked] = useState<string>();
  const r = report.value;
  const fmt = (n: number) => money(n, r?.currency ?? 'USD');
  // A bar per catalog tier (zero when no tenant of it cost anything), then any other tier the report names.
  const byTier = new Map<string, number>((tiers.value?.tiers ?? []).map((t) => [t.name, 0]));
  for (const t of r?.tenants ?? []) {
    const tier = t.tier ?? '(no tier)';
    byTier.set(tier, (byTier.get(tier) ?? 0) + t.total);
  }
  const tierData = [...byTier].map(([label, value]) => ({ label, value: Math.round(value * 1e6) / 1e6 }));
  const tenant = r?.tenants.find((t) => t.tenantId === picked) ?? r?.tenants[0];
  const go = (f: string, t: string, g: string) => {
    location.hash = `#/costs/${f || '-'}/${t || '-'}${g ? `/${g}` : ''}`;
  };
  return (
    <div>
      <h1>Cost</h1>
      <RangeForm
        label="Cost range"
        from={from}
        to={to}
        granularity={granularity}
        granularities={granularities}
        onRange={go}
      />
      <ErrorBox error={report.error} />
      {r ? (
        <>
          <dl class="facts">
            {(
              [
                ['Range', `${r.from} to ${r.to} (${r.granularity.toLowerCase()})`],
                ['Total', fmt(r.total)],
                ['Direct (tagged)', fmt(r.direct)],
                ['Shared', fmt(r.shared)],
                ['Apportioned', fmt(r.apportioned)],
                ['Not apportioned', fmt(r.unapportioned)],
                ['Shared cost meter', r.method.sharedCostMeter ?? 'none'],
                ['Estimated', r.estimated ? 'yes (the month is not closed)' : 'no'],
              ] as const
            ).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
          <h2>Cost per tier</h2>
          <BarChart title="Cost per tier" data={tierData} format={fmt} />
          <TableWrap label="Cost per tier">
            <thead>
              <tr>
                <th scope="col">Tier</th>
                <th scope="col">Tenants</th>
                <th scope="col">Total</th>
              </tr>
            </thead>
            <tbody>
              {tierData.map((d) => (
                <tr key={d.label}>
                  <th scope="row">{d.label}</th>
                  <td>{r.tenants.filter((t) => (t.tier ?? '(no tier)') === d.label).length}</td>
                  <td>{fmt(d.value)}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
          <h2>Cost per tenant</h2>
          <TableWrap label="Cost per tenant">
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Tier</th>
                <th scope="col">Direct</th>
                <th scope="col">Apportioned</th>
                <th scope="col">Total</th>
                <th scope="col">Usage share</th>
                <th scope="col">Cost ÷ revenue</th>
                <th scope="col">Chart</th>
              </tr>
            </thead>
            <tbody>
              {r.tenants.map((t) => (
                <tr key={t.tenantId}>
                  <td>
                    <a href={`#/tenants/${t.tenantId}`}>{t.slug ?? t.tenantId}</a>
                  </td>
                  <td>{t.tier ?? ''}</td>
                  <td>{fmt(t.direct)}</td>
                  <td>{fmt(t.apportioned)}</td>
                  <td>{fmt(t.total)}</td>
                  <td>{(t.usageShare * 100).toFixed(1)}%</td>
                  <td>{t.costToRevenue !== null ? t.costToRevenue.toFixed(2) : '—'}</td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      aria-pressed={t.tenantId === tenant?.tenantId}
                      aria-label={`Chart the cost of ${t.slug ?? t.tenantId}`}
                      onClick={() => setPicked(t.tenantId)}
                    >
                      Chart
                    </button>
                  </td>
                </tr>
              ))}
              <EmptyRow shown={r.tenants.length === 0} columns={8} text="no tenant cost in this range" />
            </tbody>
          </TableWrap>
          {tenant ? (
            <section aria-label="Tenant cost over time">
              <h2>Cost of {tenant.slug ?? tenant.tenantId} over time</h2>
              <TenantCostChart
                name={tenant.slug ?? tenant.tenantId}
                periods={tenant.periods}
                granularity={r.granularity}
                currency={r.currency}
              />
            </section>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

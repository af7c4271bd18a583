import { api } from '../api.js';
import { ErrorBox, JsonView, TableWrap, useLoad } from '../ui.js';

/**
 * A generic page (a table and a bar chart of its first numeric column) for an API with no page of
 * its own yet: quotas (listed as nav.ts says). Rollouts, health and cost have their own pages.
 */

type Row = Record<string, unknown>;

const itemsOf = (value: unknown): Row[] | undefined => {
  if (Array.isArray(value)) return value as Row[];
  const v = value as { items?: unknown; tiers?: unknown } | undefined;
  if (Array.isArray(v?.items)) return v.items as Row[];
  return undefined;
};

/** A bar per row for the first numeric column: cost per tier or per tenant. */
function Bars({ rows }: { rows: Row[] }) {
  const label = Object.keys(rows[0] ?? {}).find((k) => typeof rows[0]![k] === 'string');
  const metric = Object.keys(rows[0] ?? {}).find((k) => typeof rows[0]![k] === 'number');
  if (!label || !metric) return null;
  const max = Math.max(...rows.map((r) => Number(r[metric]) || 0), 1);
  return (
    <figure class="bars" aria-label={`${metric} by ${label}`}>
      {rows.map((r) => (
        <div class="bar-row" key={String(r[label])}>
          <span>{String(r[label])}</span>
          <span class="bar" style={{ width: `${(Number(r[metric]) / max) * 100}%` }} />
          <span>{String(r[metric])}</span>
        </div>
      ))}
    </figure>
  );
}

export function ExtraPage({ title, path }: { title: string; path: string }) {
  const data = useLoad(() => api<unknown>('GET', path), [path]);
  const rows = itemsOf(data.value);
  const columns = rows?.length ? Object.keys(rows[0]!).filter((k) => typeof rows[0]![k] !== 'object') : [];
  return (
    <div>
      <h1>{title}</h1>
      <ErrorBox error={data.error} />
      {rows?.length ? (
        <>
          <Bars rows={rows} />
          <TableWrap label={title}>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th scope="col" key={c}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  {columns.map((c) => (
                    <td key={c}>{String(r[c] ?? '')}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </TableWrap>
        </>
      ) : data.value !== undefined ? (
        <JsonView value={data.value} />
      ) : null}
    </div>
  );
}

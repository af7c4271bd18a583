import type { CostReport, TenantCost } from '../../core/costs/report.js';
import type { Aggregation } from '../../core/usage/meters.js';
import { type ParsedCommand, str } from './args.js';
import type { CommandEnv } from './commands.js';
import { table } from './render.js';

/**
 * `tenantctl usage <tenant>` (GET /v1/tenants/:id/usage) and `tenantctl cost [<tenant>]`
 * (GET /v1/tenants/:id/cost, or GET /v1/costs for every tenant): a table and a sparkline each.
 */

interface UsageAnswer {
  tenantId: string;
  tier: string;
  from: string;
  to: string;
  meters: {
    meter: string;
    unit: string;
    aggregation: Aggregation;
    value: number;
    included: number | null;
    overage: number;
  }[];
  items: { meter: string; hour: string; value: number }[];
  nextCursor: string | null;
}
type TenantCostAnswer = TenantCost & Pick<CostReport, 'from' | 'to' | 'granularity' | 'currency'>;

const BARS = '▁▂▃▄▅▆▇█';

/**
 * Values as bars, lowest ▁ to highest █ (all ▁ when flat). Longer series are folded into `width`
 * bars first, each bar combining its stretch with `fold` (sum for counts, max for levels).
 */
export function sparkline(
  values: readonly number[],
  width = 48,
  fold: (a: number, b: number) => number = (a, b) => a + b,
): string {
  if (values.length === 0) return '';
  const per = Math.ceil(values.length / width);
  const points: number[] = [];
  for (let i = 0; i < values.length; i += per)
    points.push(values.slice(i, i + per).reduce((a, b) => fold(a, b)));
  const low = Math.min(...points);
  const span = Math.max(...points) - low;
  return points
    .map((v) => BARS[span === 0 ? 0 : Math.round(((v - low) / span) * (BARS.length - 1))])
    .join('');
}

const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(6).replace(/0+$/, ''));
const money = (n: number) => n.toFixed(2);
const tenantPath = (t: string) => `/v1/tenants/${encodeURIComponent(t)}`;

/** Every hour of the range in order, missing hours as 0, per meter. */
function hourSeries(answer: UsageAnswer, meter: string): number[] {
  const byHour = new Map(answer.items.filter((i) => i.meter === meter).map((i) => [i.hour, i.value]));
  const out: number[] = [];
  for (let t = Date.parse(answer.from); t < Date.parse(answer.to); t += 3600_000)
    out.push(byHour.get(new Date(t).toISOString()) ?? 0);
  return out;
}

export function renderUsage(answer: UsageAnswer): string {
  const head = `tenant ${answer.tenantId} (${answer.tier}), ${answer.from} to ${answer.to}\n`;
  return (
    head +
    table(
      ['METER', 'AGGREGATION', 'VALUE', 'INCLUDED', 'OVERAGE', 'UNIT', 'HOURLY'],
      answer.meters.map((m) => [
        m.meter,
        m.aggregation,
        num(m.value),
        m.included === null ? '-' : num(m.included),
        num(m.overage),
        m.unit,
        sparkline(hourSeries(answer, m.meter), 48, m.aggregation === 'sum' ? (a, b) => a + b : Math.max),
      ]),
    )
  );
}

export function renderCosts(report: CostReport): string {
  const head =
    `${report.from} to ${report.to} (${report.granularity}, ${report.currency}): total ${money(report.total)} = ` +
    `direct ${money(report.direct)} + shared ${money(report.shared)}` +
    ` (apportioned by ${report.method.sharedCostMeter ?? 'nothing'}: ${money(report.apportioned)}, unapportioned ${money(report.unapportioned)})\n`;
  return (
    head +
    table(
      ['TENANT', 'TIER', 'DIRECT', 'SHARED', 'TOTAL', 'USAGE SHARE', 'COST/REVENUE', 'TREND'],
      report.tenants.map((t) => [
        t.slug ?? t.tenantId,
        t.tier ?? '-',
        money(t.direct),
        money(t.apportioned),
        money(t.total),
        `${(t.usageShare * 100).toFixed(1)}%`,
        t.costToRevenue === null ? '-' : `${(t.costToRevenue * 100).toFixed(1)}%`,
        sparkline(t.periods.map((p) => p.total)),
      ]),
    )
  );
}

export function renderTenantCost(c: TenantCostAnswer): string {
  return table(
    ['TENANT', 'FROM', 'TO', 'DIRECT', 'SHARED', 'TOTAL', 'COST/REVENUE', 'TREND'],
    [
      [
        c.slug ?? c.tenantId,
        c.from,
        c.to,
        `${money(c.direct)} ${c.currency}`,
        money(c.apportioned),
        money(c.total),
        c.costToRevenue === null ? '-' : `${(c.costToRevenue * 100).toFixed(1)}%`,
        sparkline(c.periods.map((p) => p.total)),
      ],
    ],
  );
}

export async function usageCommand(env: CommandEnv, { positionals: [tenant], options: o }: ParsedCommand) {
  const query = { meter: str(o.meter), from: str(o.from), to: str(o.to), limit: 744 };
  // Every page, so the sparkline covers the whole range.
  let answer: UsageAnswer | undefined;
  let cursor: string | undefined;
  do {
    const page: UsageAnswer = await env.client.request<UsageAnswer>('GET', `${tenantPath(tenant!)}/usage`, {
      query: { ...query, cursor },
    });
    answer = answer ? { ...page, items: [...answer.items, ...page.items] } : page;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  env.stdout.write(env.json ? `${JSON.stringify(answer, null, 2)}\n` : renderUsage(answer));
  return 0;
}

export async function costCommand(env: CommandEnv, { positionals: [tenant], options: o }: ParsedCommand) {
  const query = { from: str(o.from), to: str(o.to), granularity: str(o.granularity) };
  if (tenant) {
    const c = await env.client.request<TenantCostAnswer>('GET', `${tenantPath(tenant)}/cost`, { query });
    env.stdout.write(env.json ? `${JSON.stringify(c, null, 2)}\n` : renderTenantCost(c));
    return 0;
  }
  const report = await env.client.request<CostReport>('GET', '/v1/costs', { query });
  env.stdout.write(env.json ? `${JSON.stringify(report, null, 2)}\n` : renderCosts(report));
  return 0;
}

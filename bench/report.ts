import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Summary } from './support.js';

/** One benchmark's outcome as bench/results/latest.json keeps it. */
export interface BenchResult {
  readonly ratio: number;
  readonly target: number;
  readonly met: boolean;
  /** When and how it was measured: a file may hold benchmarks from different runs (BENCH_ONLY). */
  readonly measuredAt?: string;
  readonly command?: string;
  readonly [key: string]: unknown;
}

export const RESULTS_FILE = new URL('./results/latest.json', import.meta.url);
export const PERFORMANCE_DOC = new URL('../docs/performance.md', import.meta.url);
export const BEGIN_MARK = '<!-- bench:results:begin (written by npm run bench) -->';
export const END_MARK = '<!-- bench:results:end -->';

const ms = (s: Summary) => `${Math.round(s.median)} ms (${Math.round(s.min)}–${Math.round(s.max)})`;
const seconds = (s: Summary) =>
  `${(s.median / 1000).toFixed(2)} s (${(s.min / 1000).toFixed(2)}–${(s.max / 1000).toFixed(2)})`;

/** A fleet rollout's figures (bench/rollout.ts), as moto answers or with stack time modelled. */
const rolloutFigures = (r: BenchResult): string => {
  const f = r.failureRun as {
    status: string;
    budget: number;
    failed: number;
    updatesAfterBudget: number;
  };
  const q = r.requestsPerUpdate as { plain: number; rolloutAlone: number; rolloutFleet: number } | undefined;
  const requests = q
    ? `; AWS requests per update ${q.rolloutFleet} in the rollout (${q.rolloutAlone} alone) vs ${q.plain} for a plain update`
    : '';
  const endpoint =
    r.endpointRatio !== undefined
      ? ` (the same updates ${r.maxConcurrency} at a time with no rollout: ${
          r.plainConcurrentBeforeMs !== undefined
            ? `${r.plainConcurrentBeforeMs} ms before it, ${r.plainConcurrentAfterMs} ms after, mean ${r.plainConcurrentMs} ms`
            : `${r.plainConcurrentMs} ms`
        }, rollout ÷ that **${r.endpointRatio}**)`
      : '';
  return `${r.tenants} tenants, K ${r.maxConcurrency}: ${r.wallMs} ms vs ideal ${r.idealMs} ms → **ratio ${r.ratio}**${endpoint}${requests}; CPU ${r.cpuMsPerUpdate} ms per update, peak RSS ${r.peakRssMb} MB; 10% failing, budget ${f.budget}: ${f.status} after ${f.failed} failures, **${f.updatesAfterBudget} updates after the budget**`;
};

/** The table row of each benchmark: what was compared, the figures, the target. */
const ROWS: Record<string, { label: string; target: string; figures(r: BenchResult): string }> = {
  onboardingOverhead: {
    label:
      '1. onboarding overhead: concurrent pool onboardings via the API until ACTIVE vs the same AWS calls straight-line',
    target: '≤ 1.25',
    figures: (r) => {
      const req = r.awsRequestsPerTenant as { controlPlane: number; baseline: number } | undefined;
      return `${r.tenantsPerRound} tenants per round: control plane ${seconds(r.controlPlaneMs as Summary)}, baseline ${seconds(r.baselineMs as Summary)} → **ratio ${r.ratio}**${req ? `; AWS requests per tenant ${req.controlPlane} vs ${req.baseline} (${(req.controlPlane / req.baseline).toFixed(2)}×)` : ''}; ${r.failures} failed`;
    },
  },
  templateCost: {
    label: '2. template cost: resolve from the synthesis cache vs a fresh CDK synth per tenant',
    target: '≥ 50×, one synth per model',
    figures: (r) => {
      const cached = r.cachedResolveMs as Summary;
      return `fresh ${ms(r.freshSynthMs as Summary)} vs cached ${cached.median.toFixed(4)} ms → **${r.ratio}× cheaper**; 1,000 onboardings over 3 models → **${r.synthsFor1000Onboardings} synths**`;
    },
  },
  burst: {
    label: '3. burst: concurrent pool onboardings through the API',
    target: '0 failures',
    figures: (r) =>
      `${r.tenants} tenants: **${r.failures} failed**, ${r.wallSeconds} s wall, ${r.tenantsPerSecond} tenants/s; CPU control plane ${r.controlPlaneCpuSeconds} s vs moto ${r.motoCpuSeconds ?? 'n/a'} s → control plane **${r.controlPlaneCpuShare === null ? 'n/a' : `${Math.round(Number(r.controlPlaneCpuShare) * 100)}%`}** of the run's CPU`,
  },
  registryScale: {
    label:
      '4. registry scale: one page of the tenant list (tier + state filter, 50 items), large vs 1,000 tenants',
    target: '≤ 1.5',
    figures: (r) => {
      const read = r.itemsReadPerPage as { large?: number; small?: number } | number;
      const items = typeof read === 'number' ? `${read}` : `${read.large} vs ${read.small}`;
      return `${Number(r.largeTenants).toLocaleString('en')}: ${ms(r.largeMs as Summary)} vs 1,000: ${ms(r.smallMs as Summary)} → **ratio ${r.ratio}** on moto; items DynamoDB read per page: ${items}`;
    },
  },
  api: {
    label: '5. API: `GET /v1/tenants/:id` requests/s vs a bare Fastify route doing the same registry read',
    target: '≥ 0.5',
    figures: (r) => {
      const a = r.controlPlaneRps as Summary;
      const b = r.bareFastifyRps as Summary;
      return `${a.median.toFixed(1)} vs ${b.median.toFixed(1)} req/s → **ratio ${r.ratio}**`;
    },
  },
  rolloutWall: {
    label:
      '6. fleet rollout: wall time over N pool tenants at maxConcurrency K vs ceil(N/K) × the median single update',
    target: '≤ 1.2, 0 updates after the budget',
    figures: (r) => rolloutFigures(r),
  },
  rolloutModelled: {
    label:
      "6b. the same, with CloudFormation's own update time modelled (each stack update reads UPDATE_IN_PROGRESS for BENCH_STACK_SECONDS ± 25%, polled from 1 s with the one backoff; moto answers the rest)",
    target: '≤ 1.2, 0 updates after the budget',
    figures: (r) => `${r.stackSeconds} s per stack update; ${rolloutFigures(r)}`,
  },
  reconcile: {
    label:
      '7. reconcile: one full run over N tenants seeded directly (bench/reconcile.ts): AWS requests per tenant, wall time per 1,000',
    target: '≤ 12 requests per tenant',
    figures: (r) =>
      `${r.tenants} tenants: **${r.requestsPerTenant} requests per tenant**, ${r.secondsPer1000} s per 1,000 tenants`,
  },
  quotaPrecheck: {
    label:
      '8. quota pre-check: one onboarding admission with the readings cached vs read from AWS each time (bench/quotas.ts)',
    target: '≥ 10',
    figures: (r) =>
      `cached ${r.cachedMsPerAdmission} ms and ${r.cachedAwsCallsPerAdmission} AWS calls per admission vs uncached ${r.uncachedMsPerAdmission} ms and ${r.uncachedAwsCallsPerAdmission} → **ratio ${r.ratio}**`,
  },
};

/** The figures table of docs/performance.md, from the results file. */
export function renderTable(results: Record<string, BenchResult>): string {
  const lines = ['| benchmark | measured | target | | when, command |', '|---|---|---|---|---|'];
  for (const [key, row] of Object.entries(ROWS)) {
    const r = results[key];
    if (!r) {
      lines.push(`| ${row.label} | not measured yet | ${row.target} | | |`);
      continue;
    }
    lines.push(
      `| ${row.label} | ${row.figures(r)} | ${row.target} | ${r.met ? 'met' : '**missed**'} | ${r.measuredAt ?? ''}, \`${r.command ?? 'npm run bench'}\` |`,
    );
  }
  return lines.join('\n');
}

/** Replaces what stands between the markers of `doc` with `table`; the doc unchanged without markers. */
export function spliceTable(doc: string, table: string): string {
  const begin = doc.indexOf(BEGIN_MARK);
  const end = doc.indexOf(END_MARK);
  if (begin < 0 || end < begin) return doc;
  return `${doc.slice(0, begin + BEGIN_MARK.length)}\n${table}\n${doc.slice(end)}`;
}

/**
 * Merges `fresh` into bench/results/latest.json (benchmarks not run now keep their last figures
 * and their own date) and rewrites the figures table of docs/performance.md.
 */
export function saveResults(fresh: Record<string, BenchResult>): void {
  const previous = existsSync(RESULTS_FILE)
    ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, BenchResult>)
    : {};
  const merged = { ...previous, ...fresh };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(merged, null, 2)}\n`);
  if (existsSync(PERFORMANCE_DOC))
    writeFileSync(PERFORMANCE_DOC, spliceTable(readFileSync(PERFORMANCE_DOC, 'utf8'), renderTable(merged)));
}

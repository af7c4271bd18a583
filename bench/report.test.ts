import { describe, expect, it } from 'vitest';
import { BEGIN_MARK, type BenchResult, END_MARK, renderTable, spliceTable } from './report.js';

const summary = (median: number) => ({ median, min: median - 1, max: median + 1, samples: [median] });

describe('bench report', () => {
  it('renders each benchmark with its figures, target, verdict and command; unmeasured ones say so', () => {
    const results: Record<string, BenchResult> = {
      burst: {
        ratio: 1,
        target: 1,
        met: true,
        tenants: 200,
        failures: 0,
        wallSeconds: 96.8,
        tenantsPerSecond: 2.07,
        controlPlaneCpuSeconds: 30.7,
        motoCpuSeconds: 90.8,
        controlPlaneCpuShare: 0.253,
        measuredAt: '2026-11-23T01:40',
        command: 'BENCH_ONLY=burst npm run bench',
      },
      api: {
        ratio: 0.4,
        target: 0.5,
        met: false,
        controlPlaneRps: summary(40),
        bareFastifyRps: summary(100),
      },
    };
    const table = renderTable(results);
    const row = (label: string) => table.split('\n').find((l) => l.includes(label)) ?? '';
    expect(row('3. burst')).toContain('**0 failed**');
    expect(row('3. burst')).toContain('**25%**');
    expect(row('3. burst')).toContain('| met | 2026-11-23T01:40, `BENCH_ONLY=burst npm run bench` |');
    expect(row('5. API')).toContain('40.0 vs 100.0 req/s → **ratio 0.4**');
    expect(row('5. API')).toContain('**missed**');
    expect(row('1. onboarding')).toContain('not measured yet');
  });

  it('replaces only what stands between the markers', () => {
    const doc = `# Title\n\nintro\n${BEGIN_MARK}\nold table\n${END_MARK}\n\nrest\n`;
    const out = spliceTable(doc, 'new table');
    expect(out).toBe(`# Title\n\nintro\n${BEGIN_MARK}\nnew table\n${END_MARK}\n\nrest\n`);
    expect(spliceTable('no markers here', 'new table')).toBe('no markers here');
  });
});

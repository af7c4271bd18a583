import type { ControlPlane } from '../control-plane/server.js';
import { awsQuotaSource } from '../core/quotas/aws.js';
import { QuotaService } from '../core/quotas/service.js';
import type { BenchResult } from './report.js';
import { fmt, type RequestCounter, round3, sideBySide, summarize } from './support.js';

/**
 * The quota pre-check's cost per onboarding: `count` concurrent admissions of a pool tenant through
 * the control plane's own pre-check (readings cached for QUOTA_CACHE_SECONDS) against the same
 * check reading AWS every time (cache 0), alternating round by round. Target: the cached check is
 * at least 10× cheaper, so it does not slow onboarding.
 */
export async function benchQuotas(
  cp: ControlPlane,
  counter: RequestCounter,
  options: { count: number; rounds: number; log: (line: string) => void },
): Promise<BenchResult> {
  const { count, rounds, log } = options;
  const tier = cp.catalog.get('basic');
  const uncached = new QuotaService({
    source: awsQuotaSource(cp.aws.clients),
    tiers: () => cp.catalog.tiers,
    cacheSeconds: 0,
    enabled: true,
  });
  const calls = { cached: [] as number[], uncached: [] as number[] };
  const side = (quotas: QuotaService, into: number[]) => async () => {
    const before = counter.total();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: count }, () => quotas.admit(tier)));
    const ms = (performance.now() - t0) / count;
    into.push((counter.total() - before) / count);
    return ms;
  };
  log(
    `\n[quotas] onboarding pre-check: ${count} concurrent admissions, cached vs read every time, ${rounds} rounds`,
  );
  // The first check of a process asks once for what moto lacks (DescribeAccountLimits); not measured.
  await cp.workflows.quotas.admit(tier);
  await uncached.admit(tier);
  const { a: cached, b: reading } = await sideBySide(
    rounds,
    side(cp.workflows.quotas, calls.cached),
    side(uncached, calls.uncached),
  );
  const ratio = reading.median / Math.max(cached.median, 1e-6);
  const perAdmission = (xs: number[]) => round3(summarize(xs).median);
  log(`  cached:          ${fmt(cached, 'ms per admission')}, ${perAdmission(calls.cached)} AWS calls each`);
  log(
    `  read every time: ${fmt(reading, 'ms per admission')}, ${perAdmission(calls.uncached)} AWS calls each`,
  );
  log(`  → the cached pre-check is ${round3(ratio)}× cheaper (target ≥ 10)`);
  return {
    ratio: round3(ratio),
    target: 10,
    met: ratio >= 10,
    cachedMsPerAdmission: round3(cached.median),
    uncachedMsPerAdmission: round3(reading.median),
    cachedAwsCallsPerAdmission: perAdmission(calls.cached),
    uncachedAwsCallsPerAdmission: perAdmission(calls.uncached),
  };
}

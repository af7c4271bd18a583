import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../errors.js';
import type { QuotaSource } from './aws.js';
import {
  assertChangeFits,
  assertFits,
  changeDemand,
  judge,
  QUOTA_NAMES,
  type QuotaName,
  type Reading,
  reservedConcurrencyHeld,
  type TierShape,
} from './rules.js';
import { QuotaService } from './service.js';

const TIERS: TierShape[] = [
  { name: 'basic', isolation: 'pool', dedicatedAccount: false },
  { name: 'premium', isolation: 'bridge', dedicatedAccount: false },
  { name: 'enterprise', isolation: 'silo', dedicatedAccount: false },
  { name: 'enterprise-dedicated', isolation: 'silo', dedicatedAccount: true },
];
const [basic, premium, enterprise, dedicated] = TIERS as [TierShape, TierShape, TierShape, TierShape];
const at = '2026-12-04T00:00:00.000Z';
const ok = (value: number): Reading => ({ ok: true, value });
const unavailable: Reading = {
  ok: false,
  status: 'not-available',
  reason: 'X is not available on this endpoint',
};

const codeOf = (f: () => void): unknown => {
  try {
    f();
    return 'admitted';
  } catch (e) {
    return e instanceof ControlPlaneError ? { code: e.code, details: e.details } : e;
  }
};

describe('quota rules', () => {
  it('what each tier takes: stacks for all but dedicated, accounts for dedicated, VPC for silo, RDS for bridge and silo', () => {
    const view = (q: QuotaName) =>
      judge(q, { usage: ok(0), limit: ok(10) }, undefined, TIERS, at).perOnboarding;
    expect(view('cloudformation.stacks')).toEqual({
      basic: 1,
      premium: 1,
      enterprise: 1,
      'enterprise-dedicated': 0,
    });
    expect(view('organizations.accounts')).toEqual({
      basic: 0,
      premium: 0,
      enterprise: 0,
      'enterprise-dedicated': 1,
    });
    expect(view('vpc.vpcs')).toEqual({ basic: 0, premium: 0, enterprise: 1, 'enterprise-dedicated': 0 });
    expect(view('rds.instances')).toEqual({ basic: 0, premium: 1, enterprise: 1, 'enterprise-dedicated': 0 });
    expect(view('ec2.elastic-ips')).toEqual({
      basic: 0,
      premium: 0,
      enterprise: 0,
      'enterprise-dedicated': 0,
    });
  });

  it('a quota at its limit refuses the next onboarding that takes of it, naming quota, usage and limit', () => {
    const full = judge('vpc.vpcs', { usage: ok(5), limit: ok(5) }, undefined, TIERS, at);
    expect(full).toMatchObject({ status: 'full', headroom: 0, limitSource: 'aws' });
    expect(codeOf(() => assertFits([full], enterprise))).toEqual({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'vpc.vpcs', usage: 5, limit: 5, limitSource: 'aws', demand: 1, tier: 'enterprise' },
    });
    // A pool tenant takes no VPC: admitted.
    expect(codeOf(() => assertFits([full], basic))).toBe('admitted');
    const room = judge('vpc.vpcs', { usage: ok(4), limit: ok(5) }, undefined, TIERS, at);
    expect(codeOf(() => assertFits([room], enterprise))).toBe('admitted');
  });

  it('a limit the endpoint does not give leaves the quota unchecked (never ok), and it admits', () => {
    const view = judge('cloudformation.stacks', { usage: ok(900), limit: unavailable }, undefined, TIERS, at);
    expect(view).toMatchObject({ status: 'not-available', limit: null, headroom: null, usage: 900 });
    expect(view.reason).toMatch(/not available on this endpoint/);
    expect(codeOf(() => assertFits([view], basic))).toBe('admitted');
  });

  it('a configured limit stands in for a missing one, and lowers a higher AWS limit', () => {
    const standIn = judge('cloudformation.stacks', { usage: ok(200), limit: unavailable }, 200, TIERS, at);
    expect(standIn).toMatchObject({ status: 'full', limit: 200, limitSource: 'configured' });
    expect(codeOf(() => assertFits([standIn], premium))).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(judge('vpc.vpcs', { usage: ok(1), limit: ok(5) }, 3, TIERS, at)).toMatchObject({
      limit: 3,
      limitSource: 'configured',
    });
    expect(judge('vpc.vpcs', { usage: ok(1), limit: ok(5) }, 8, TIERS, at)).toMatchObject({
      limit: 5,
      limitSource: 'aws',
    });
  });

  it('a failed usage read is unchecked with its reason', () => {
    const failed: Reading = { ok: false, status: 'error', reason: 'EC2 DescribeVpcs: AccessDenied' };
    expect(judge('vpc.vpcs', { usage: failed, limit: ok(5) }, undefined, TIERS, at)).toMatchObject({
      status: 'error',
      reason: 'EC2 DescribeVpcs: AccessDenied',
      usage: null,
    });
  });
});

/** A source whose answers a test sets, counting its calls. */
function fakeSource(values: Partial<Record<QuotaName, { usage: Reading; limit: Reading }>>) {
  const calls: string[] = [];
  const source: QuotaSource = {
    usage: async (q) => {
      calls.push(`usage:${q}`);
      return values[q]?.usage ?? ok(0);
    },
    limit: async (q) => {
      calls.push(`limit:${q}`);
      return values[q]?.limit ?? unavailable;
    },
  };
  return { source, calls, values };
}

/** A quota service on a fake source, with a clock the test moves. */
function serviceOn(source: QuotaSource, cacheSeconds: number, enabled = true) {
  const clock = { now: Date.parse(at) };
  const quotas = new QuotaService({
    source,
    tiers: () => TIERS,
    cacheSeconds,
    enabled,
    clock: () => new Date(clock.now),
  });
  return { quotas, clock };
}

describe('quota service', () => {
  it('reads only what a tier takes of, once per cache window, and counts admitted onboardings meanwhile', async () => {
    const fake = fakeSource({ 'cloudformation.stacks': { usage: ok(8), limit: ok(10) } });
    const { quotas, clock } = serviceOn(fake.source, 30);
    await Promise.all([quotas.admit(basic), quotas.admit(basic)]);
    expect(fake.calls.sort()).toEqual(['limit:cloudformation.stacks', 'usage:cloudformation.stacks']);
    quotas.admitted(basic);
    quotas.admitted(basic);
    // 8 read + 2 admitted = 10 of 10, without another read.
    await expect(quotas.admit(basic)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'cloudformation.stacks', usage: 10, limit: 10 },
    });
    expect(fake.calls).toHaveLength(2);
    // After the window, AWS is asked again (its count includes those stacks now).
    fake.values['cloudformation.stacks'] = { usage: ok(9), limit: ok(10) };
    clock.now += 31_000;
    await quotas.admit(basic);
    expect(fake.calls).toHaveLength(4);
  });

  it('asks a call the endpoint lacks again only after an hour; off admits without reading', async () => {
    const fake = fakeSource({});
    const { quotas, clock } = serviceOn(fake.source, 1);
    await quotas.admit(basic);
    clock.now += 5_000;
    await quotas.admit(basic);
    expect(fake.calls.filter((c) => c.startsWith('limit:'))).toHaveLength(1);
    expect(fake.calls.filter((c) => c.startsWith('usage:'))).toHaveLength(2);
    clock.now += 3600_000;
    await quotas.admit(basic);
    expect(fake.calls.filter((c) => c.startsWith('limit:'))).toHaveLength(2);

    const off = fakeSource({});
    const { quotas: disabled } = serviceOn(off.source, 30, false);
    await disabled.admit(dedicated);
    expect(off.calls).toEqual([]);
    expect((await disabled.headroom()).map((v) => v.quota)).toEqual([...QUOTA_NAMES]);
  });
});

describe('reserved Lambda concurrency', () => {
  const reserving = (name: string, reservedConcurrency: number, dedicatedAccount = false): TierShape => ({
    name,
    isolation: 'bridge',
    dedicatedAccount,
    noisyNeighbour: { reservedConcurrency },
  });
  const workers = reserving('workers', 300);
  const bigWorkers = reserving('big-workers', 500);
  const ownAccount = reserving('own-account', 300, true);
  const tiers = [basic, premium, workers, bigWorkers, ownAccount];
  const tierOf = (name: string) => tiers.find((t) => t.name === name);
  const Q = 'lambda.reserved-concurrency' as const;

  it('adds up what the tenants of one region hold in our account: not OFFBOARDED, not dedicated, not other regions', () => {
    const held = reservedConcurrencyHeld(
      [
        { tier: 'workers', state: 'ACTIVE', region: 'us-east-1' },
        { tier: 'workers', state: 'SUSPENDED', region: 'us-east-1' },
        { tier: 'big-workers', state: 'PROVISIONING', region: 'us-east-1' },
        { tier: 'workers', state: 'OFFBOARDED', region: 'us-east-1' },
        { tier: 'workers', state: 'ACTIVE', region: 'eu-west-1' },
        { tier: 'own-account', state: 'ACTIVE', region: 'us-east-1' },
        { tier: 'premium', state: 'ACTIVE', region: 'us-east-1' },
        { tier: 'gone-from-catalog', state: 'ACTIVE', region: 'us-east-1' },
        // A compensated onboarding (no stack left) holds nothing; a failed update still does.
        { tier: 'big-workers', state: 'FAILED', region: 'us-east-1', stacks: [] },
        { tier: 'workers', state: 'FAILED', region: 'us-east-1', stacks: [{ role: 'current' }] },
      ],
      'us-east-1',
      tierOf,
    );
    expect(held).toBe(300 + 300 + 500 + 300);
  });

  it('each onboarding of a reserving tier takes its reservedConcurrency; dedicated-account tenants take none of ours', () => {
    const view = judge(Q, { usage: ok(0), limit: ok(900) }, undefined, tiers, at);
    expect(view.perOnboarding).toEqual({
      basic: 0,
      premium: 0,
      workers: 300,
      'big-workers': 500,
      'own-account': 0,
    });
  });

  it('refuses the tenant whose reservation would leave under 100 unreserved, naming the numbers', () => {
    // lambdaConcurrencyLimit 1000 → 900 reservable; two tenants of 300 hold 600; a third fits, a 500 does not.
    const view = judge(Q, { usage: ok(600), limit: unavailable }, undefined, tiers, at, 900);
    expect(view).toMatchObject({
      usage: 600,
      limit: 900,
      limitSource: 'configured',
      headroom: 300,
      status: 'ok',
      reason: "X is not available on this endpoint; the tier catalog's limit stands in",
    });
    expect(codeOf(() => assertFits([view], workers))).toBe('admitted');
    const refused = codeOf(() => assertFits([view], bigWorkers));
    expect(refused).toEqual({
      code: 'QUOTA_EXCEEDED',
      details: {
        quota: Q,
        usage: 600,
        limit: 900,
        limitSource: 'configured',
        demand: 500,
        tier: 'big-workers',
      },
    });
    expect(() => assertFits([view], bigWorkers)).toThrow(/needs 500 more .*: 600 of 900 in use/);
  });

  it("AWS's limit, where the endpoint gives one, wins over the catalog's stand-in", () => {
    const view = judge(Q, { usage: ok(600), limit: ok(2900) }, undefined, tiers, at, 900);
    expect(view).toMatchObject({ limit: 2900, limitSource: 'aws', headroom: 2300 });
    expect(codeOf(() => assertFits([view], bigWorkers))).toBe('admitted');
    // Without AWS's, a configured limit, and without either the stand-in: unchecked only when none.
    expect(judge(Q, { usage: ok(1), limit: unavailable }, undefined, tiers, at)).toMatchObject({
      status: 'not-available',
      limit: null,
    });
  });

  it('a tier change takes the difference in place, all of the target across isolation models', () => {
    expect(changeDemand(Q, workers, bigWorkers)).toBe(200);
    expect(changeDemand(Q, bigWorkers, workers)).toBe(0);
    expect(changeDemand(Q, basic, workers)).toBe(300);
    expect(changeDemand(Q, workers, ownAccount)).toBe(0);
    const view = judge(Q, { usage: ok(800), limit: ok(900) }, undefined, tiers, at);
    expect(codeOf(() => assertChangeFits([view], workers, bigWorkers))).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { demand: 200, usage: 800, limit: 900, tier: 'big-workers', fromTier: 'workers' },
    });
    expect(codeOf(() => assertChangeFits([view], bigWorkers, workers))).toBe('admitted');
  });

  it('the service checks a tier change only for what it takes more of, and counts it until the next read', async () => {
    let reads = 0;
    const source: QuotaSource = {
      usage: async () => {
        reads++;
        return ok(600);
      },
      limit: async () => unavailable,
    };
    const service = new QuotaService({
      source,
      tiers: () => tiers,
      standInLimits: { [Q]: 900 },
      cacheSeconds: 60,
      enabled: true,
    });
    await service.admitChange(workers, bigWorkers);
    service.admittedChange(workers, bigWorkers);
    expect((await service.view(Q)).usage).toBe(800);
    await expect(service.admitChange(workers, bigWorkers)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await service.admitChange(bigWorkers, workers);
    expect(reads).toBe(1);
  });
});

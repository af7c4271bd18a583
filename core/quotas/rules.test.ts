import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../errors.js';
import type { QuotaSource } from './aws.js';
import { assertFits, judge, QUOTA_NAMES, type QuotaName, type Reading, type TierShape } from './rules.js';
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

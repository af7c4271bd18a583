import { ControlPlaneError } from '../errors.js';

/**
 * The AWS quotas an onboarding consumes, as data, and the pure rules that judge a reading: what a
 * tier takes of each quota, whether a reading is checked, and whether one more tenant fits. The
 * readings come from AWS (aws.ts) through a short cache (service.ts).
 */

export const QUOTA_NAMES = [
  'cloudformation.stacks',
  'organizations.accounts',
  'vpc.vpcs',
  'ec2.elastic-ips',
  'rds.instances',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** What the rules need of a tier (the catalog's Tier has it): its isolation and account model. */
export interface TierShape {
  readonly name: string;
  readonly isolation: 'pool' | 'bridge' | 'silo';
  readonly dedicatedAccount: boolean;
}

export interface QuotaSpec {
  readonly description: string;
  /** Where the limit is read: a CloudFormation account limit, or a Service Quotas quota. */
  readonly limitFrom:
    | { readonly kind: 'cloudformation-account-limit'; readonly name: string }
    | { readonly kind: 'service-quota'; readonly serviceCode: string; readonly quotaCode: string };
  /** How much of the quota one onboarding of this tier takes (in the control plane's own account). */
  readonly demand: (tier: TierShape) => number;
  /** Why the demand is what it is (docs, GET /v1/quotas). */
  readonly demandNote: string;
}

/** A dedicated-account tenant's resources live in its own account: they take none of ours. */
const inOurAccount = (tier: TierShape) => !tier.dedicatedAccount;

export const QUOTAS: Readonly<Record<QuotaName, QuotaSpec>> = {
  'cloudformation.stacks': {
    description: 'CloudFormation stacks per account and Region',
    limitFrom: { kind: 'cloudformation-account-limit', name: 'StackLimit' },
    demand: (t) => (inOurAccount(t) ? 1 : 0),
    demandNote: 'one tenant stack per tenant; dedicated-account tenants have theirs in their own account',
  },
  'organizations.accounts': {
    description: 'AWS accounts in the organization (closed ones count until they are removed)',
    limitFrom: { kind: 'service-quota', serviceCode: 'organizations', quotaCode: 'L-29A0C5DF' },
    demand: (t) => (t.dedicatedAccount ? 1 : 0),
    demandNote: 'dedicated-account tiers vend one account per tenant',
  },
  'vpc.vpcs': {
    description: 'VPCs per Region',
    limitFrom: { kind: 'service-quota', serviceCode: 'vpc', quotaCode: 'L-F678F1CE' },
    demand: (t) => (t.isolation === 'silo' && inOurAccount(t) ? 1 : 0),
    demandNote: 'a silo tenant gets its own VPC',
  },
  'ec2.elastic-ips': {
    description: 'EC2-VPC Elastic IP addresses per Region',
    limitFrom: { kind: 'service-quota', serviceCode: 'ec2', quotaCode: 'L-0263D0A3' },
    demand: () => 0,
    demandNote:
      'silo VPCs have isolated subnets and no NAT gateway, so no tier takes an Elastic IP (shown for headroom)',
  },
  'rds.instances': {
    description: 'RDS DB instances per Region',
    limitFrom: { kind: 'service-quota', serviceCode: 'rds', quotaCode: 'L-7B6409FD' },
    demand: (t) => (t.isolation !== 'pool' && inOurAccount(t) ? 1 : 0),
    demandNote: 'bridge and silo tenants get a dedicated database instance',
  },
};

/** A value read from AWS, or why there is none. */
export type Reading =
  | { readonly ok: true; readonly value: number }
  /** `not-available`: the endpoint lacks the call (the emulator) or the quota; `error`: the call failed. */
  | { readonly ok: false; readonly status: 'not-available' | 'error'; readonly reason: string };

export interface QuotaReading {
  readonly usage: Reading;
  readonly limit: Reading;
}

export const QUOTA_STATUSES = ['ok', 'full', 'not-available', 'error'] as const;
export type QuotaStatus = (typeof QUOTA_STATUSES)[number];

export interface QuotaView {
  readonly quota: QuotaName;
  readonly description: string;
  readonly usage: number | null;
  readonly limit: number | null;
  /** `aws`: read from AWS; `configured`: QUOTA_LIMITS (it stands in for a limit AWS does not give, or lowers it). */
  readonly limitSource: 'aws' | 'configured' | null;
  readonly headroom: number | null;
  /** `ok`/`full` are checked; `not-available`/`error` are unchecked and never refuse an onboarding. */
  readonly status: QuotaStatus;
  readonly reason?: string;
  /** What one onboarding of each tier takes. */
  readonly perOnboarding: Readonly<Record<string, number>>;
  readonly demandNote: string;
  readonly checkedAt: string;
}

/**
 * A reading judged: the limit is AWS's, or the configured one where AWS gives none; when both
 * exist the lower wins (an operator may keep headroom, never exceed AWS). Without a usage or a
 * limit the quota is unchecked.
 */
export function judge(
  quota: QuotaName,
  reading: QuotaReading,
  configuredLimit: number | undefined,
  tiers: readonly TierShape[],
  checkedAt: string,
): QuotaView {
  const spec = QUOTAS[quota];
  const aws = reading.limit.ok ? reading.limit.value : undefined;
  const limit =
    aws !== undefined && configuredLimit !== undefined
      ? Math.min(aws, configuredLimit)
      : (aws ?? configuredLimit);
  const limitSource = limit === undefined ? null : limit === aws ? 'aws' : 'configured';
  const usage = reading.usage.ok ? reading.usage.value : undefined;
  const base = {
    quota,
    description: spec.description,
    usage: usage ?? null,
    limit: limit ?? null,
    limitSource,
    perOnboarding: Object.fromEntries(tiers.map((t) => [t.name, spec.demand(t)])),
    demandNote: spec.demandNote,
    checkedAt,
  } as const;
  const missing = !reading.usage.ok
    ? reading.usage
    : limit === undefined && !reading.limit.ok
      ? reading.limit
      : undefined;
  if (missing && !missing.ok)
    return { ...base, headroom: null, status: missing.status, reason: missing.reason };
  const headroom = limit! - usage!;
  return { ...base, headroom, status: headroom > 0 ? 'ok' : 'full' };
}

/** QUOTA_EXCEEDED when one more tenant of `tier` does not fit a checked quota. Unchecked quotas admit. */
export function assertFits(views: readonly QuotaView[], tier: TierShape): void {
  for (const view of views) {
    const demand = QUOTAS[view.quota].demand(tier);
    if (demand === 0 || view.usage === null || view.limit === null) continue;
    if (view.usage + demand > view.limit) {
      throw new ControlPlaneError(
        'QUOTA_EXCEEDED',
        `onboarding a ${tier.name} tenant needs ${demand} more of "${view.description}" (${view.quota}): ${view.usage} of ${view.limit} in use; raise the quota (Service Quotas) or free some`,
        {
          details: {
            quota: view.quota,
            usage: view.usage,
            limit: view.limit,
            limitSource: view.limitSource,
            demand,
            tier: tier.name,
          },
        },
      );
    }
  }
}

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
  'lambda.reserved-concurrency',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** What the rules need of a tier (the catalog's Tier has it): its isolation and account model. */
export interface TierShape {
  readonly name: string;
  readonly isolation: 'pool' | 'bridge' | 'silo';
  readonly dedicatedAccount: boolean;
  /** Noisy-neighbour controls: the tenant worker function's reserved Lambda concurrency. */
  readonly noisyNeighbour?: { readonly reservedConcurrency?: number | undefined } | undefined;
}

/** What AWS keeps of an account's regional Lambda concurrency unreserved (a reservation may not cut into it). */
export const LAMBDA_UNRESERVED = 100;

export interface QuotaSpec {
  readonly description: string;
  /** Where the limit is read: a CloudFormation account limit, or a Service Quotas quota. */
  readonly limitFrom:
    | { readonly kind: 'cloudformation-account-limit'; readonly name: string }
    | { readonly kind: 'service-quota'; readonly serviceCode: string; readonly quotaCode: string }
    /** Lambda GetAccountSettings: AccountLimit.ConcurrentExecutions less the 100 kept unreserved. */
    | { readonly kind: 'lambda-account-settings' };
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
  'lambda.reserved-concurrency': {
    description:
      'Reserved Lambda concurrency per account and Region (the account limit less the 100 AWS keeps unreserved)',
    limitFrom: { kind: 'lambda-account-settings' },
    demand: (t) => (inOurAccount(t) ? reservedConcurrencyOf(t) : 0),
    demandNote:
      "a tier's noisyNeighbour.reservedConcurrency, per tenant: reservations add up across tenants (usage: the registry's tenants of such tiers, not OFFBOARDED nor FAILED with no stack left, or what AWS reports reserved, whichever is more); a dedicated-account tenant reserves in its own account",
  },
};

export function reservedConcurrencyOf(tier: TierShape): number {
  return tier.noisyNeighbour?.reservedConcurrency ?? 0;
}

/** What the registry says a tenant is, for counting what it holds (the Tenant record has it). */
export interface TenantShape {
  readonly tier: string;
  readonly state: string;
  readonly region: string;
  /** Its stacks as recorded: a FAILED tenant with none (a compensated onboarding) holds nothing. */
  readonly stacks?: readonly unknown[];
}

/**
 * The Lambda concurrency the tenants of one region hold reserved in the control plane's own
 * account: each tenant not OFFBOARDED (nor FAILED with no stack left) whose tier reserves some
 * and does not run in an account of its own. A tier the catalog no longer has reserves nothing it
 * could know of.
 */
export function reservedConcurrencyHeld(
  tenants: readonly TenantShape[],
  region: string,
  tierOf: (name: string) => TierShape | undefined,
): number {
  let held = 0;
  for (const t of tenants) {
    if (t.state === 'OFFBOARDED' || t.region !== region) continue;
    // A failed onboarding rolled back deleted its stacks (and the function reserving); a tenant
    // FAILED otherwise (an update, an offboarding) still has its stacks recorded and counts.
    if (t.state === 'FAILED' && t.stacks?.length === 0) continue;
    const tier = tierOf(t.tier);
    if (tier) held += QUOTAS['lambda.reserved-concurrency'].demand(tier);
  }
  return held;
}

/**
 * What a tier change takes more of a quota. Same isolation and account model: the stack is
 * updated in place, so the difference (never below 0); otherwise the target stack is made while
 * the old one still stands, so all of the target's.
 */
export function changeDemand(quota: QuotaName, from: TierShape, to: TierShape): number {
  const spec = QUOTAS[quota];
  if (from.isolation === to.isolation && from.dedicatedAccount === to.dedicatedAccount)
    return Math.max(0, spec.demand(to) - spec.demand(from));
  return spec.demand(to);
}

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
  /** Used only where AWS gives no limit and none is configured (the catalog's Lambda concurrency). */
  standInLimit?: number,
): QuotaView {
  const spec = QUOTAS[quota];
  const aws = reading.limit.ok ? reading.limit.value : undefined;
  const limit =
    aws !== undefined && configuredLimit !== undefined
      ? Math.min(aws, configuredLimit)
      : (aws ?? configuredLimit ?? standInLimit);
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
  // A stand-in limit says why AWS's is not used: the endpoint lacks the call, or it failed.
  const standIn =
    aws === undefined && configuredLimit === undefined && !reading.limit.ok
      ? { reason: `${reading.limit.reason}; the tier catalog's limit stands in` }
      : {};
  return { ...base, headroom, status: headroom > 0 ? 'ok' : 'full', ...standIn };
}

/** QUOTA_EXCEEDED when one more tenant of `tier` does not fit a checked quota. Unchecked quotas admit. */
export function assertFits(views: readonly QuotaView[], tier: TierShape): void {
  for (const view of views)
    assertDemandFits(view, QUOTAS[view.quota].demand(tier), `onboarding a ${tier.name} tenant`, {
      tier: tier.name,
    });
}

/** QUOTA_EXCEEDED when moving a tenant from `from` to `to` does not fit a checked quota. */
export function assertChangeFits(views: readonly QuotaView[], from: TierShape, to: TierShape): void {
  for (const view of views)
    assertDemandFits(
      view,
      changeDemand(view.quota, from, to),
      `moving a tenant from ${from.name} to ${to.name}`,
      {
        tier: to.name,
        fromTier: from.name,
      },
    );
}

function assertDemandFits(
  view: QuotaView,
  demand: number,
  what: string,
  context: Record<string, string>,
): void {
  if (demand <= 0 || view.usage === null || view.limit === null) return;
  if (view.usage + demand <= view.limit) return;
  const raise =
    view.quota === 'lambda.reserved-concurrency'
      ? "raise the account's concurrent executions (Service Quotas; then the catalog's lambdaConcurrencyLimit) or lower the tier's reservedConcurrency"
      : 'raise the quota (Service Quotas) or free some';
  throw new ControlPlaneError(
    'QUOTA_EXCEEDED',
    `${what} needs ${demand} more of "${view.description}" (${view.quota}): ${view.usage} of ${view.limit} in use; ${raise}`,
    {
      details: {
        quota: view.quota,
        usage: view.usage,
        limit: view.limit,
        limitSource: view.limitSource,
        demand,
        ...context,
      },
    },
  );
}

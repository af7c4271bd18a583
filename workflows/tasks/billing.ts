import type { BillingAccount } from '../../core/billing/accounts.js';
import { billingIdempotencyKey, itemChanges } from '../../core/billing/provider.js';
import { reportTenantUsage } from '../../core/billing/usage.js';
import { isControlPlaneError } from '../../core/errors.js';
import type { Tenant } from '../../core/registry/records.js';
import type { Tier } from '../../tiers/catalog.js';
import {
  type BillingDeps,
  type HandlerOf,
  loadScope,
  type TaskDeps,
  type TaskInput,
  tierFor,
} from './context.js';

/**
 * The billing steps: a customer at onboarding, a subscription on the tier's prices, the
 * subscription moved on a tier change and cancelled at offboarding, usage reported as meter
 * events. Each is an "ensure": it reads the tenant's billing record (and the subscription) first
 * and calls the provider only for what is missing, with an Idempotency-Key derived from the
 * operation and step, so a crash between the provider's answer and the record repeats the same
 * request and the provider answers the same object. With no provider configured every step
 * succeeds at once and says so in its detail.
 */

export const BILLING_SKIPPED = 'skipped: no billing provider configured (STRIPE_SECRET_KEY)';

const key = (input: TaskInput, call: string) => billingIdempotencyKey(input.operationId, input.step, call);
const pricesOf = (tier: Tier): string[] => tier.billing?.stripePriceIds ?? [];

async function createSubscription(
  billing: BillingDeps,
  input: TaskInput,
  account: BillingAccount,
  tier: Tier,
) {
  const sub = await billing.provider.createSubscription(
    { customerId: account.customerId, tenantId: account.tenantId, priceIds: pricesOf(tier) },
    key(input, 'subscription'),
  );
  await billing.accounts.saveSubscription(account.tenantId, {
    subscriptionId: sub.subscriptionId,
    priceIds: sub.items.map((i) => i.priceId),
    status: sub.status,
  });
  return { detail: `subscription ${sub.subscriptionId} on ${pricesOf(tier).join(', ')} (${sub.status})` };
}

/** Cancels the tenant's subscription unless it has none or it is cancelled already. */
async function cancelSubscriptionOf(
  billing: BillingDeps,
  input: TaskInput,
  account: BillingAccount | undefined,
) {
  if (!account?.subscriptionId) return { detail: 'no subscription' };
  if (account.canceledAt) return { detail: `subscription ${account.subscriptionId} cancelled already` };
  const subscriptionId = account.subscriptionId;
  const sub = await billing.provider
    .cancelSubscription(subscriptionId, key(input, 'cancel'))
    .catch(async (e) => {
      // Cancelled outside the control plane (the dashboard, dunning): Stripe refuses a second cancel.
      if (!isControlPlaneError(e, 'BILLING_ERROR')) throw e;
      const seen = await billing.provider.getSubscription(subscriptionId);
      if (seen.status !== 'canceled') throw e;
      return seen;
    });
  await billing.accounts.saveSubscription(account.tenantId, {
    subscriptionId,
    priceIds: sub.items.map((i) => i.priceId),
    status: sub.status,
    canceled: true,
  });
  return { detail: `subscription ${subscriptionId} cancelled` };
}

/** The tenant's billing record, its customer created first when it has none. */
async function ensureCustomer(
  billing: BillingDeps,
  input: TaskInput,
  tenant: Tenant,
): Promise<{ account: BillingAccount; created: boolean }> {
  const recorded = await billing.accounts.get(tenant.tenantId);
  if (recorded) return { account: recorded, created: false };
  const { customerId } = await billing.provider.createCustomer(
    { tenantId: tenant.tenantId, slug: tenant.slug, name: tenant.name, email: tenant.adminEmail },
    key(input, 'customer'),
  );
  return {
    account: await billing.accounts.saveCustomer(tenant.tenantId, billing.provider.name, customerId),
    created: true,
  };
}

/**
 * What the subscription steps work on: the tier asked for and the tenant's billing record. A tenant
 * onboarded before billing was configured gets its customer here, at its first tier change.
 */
async function subscriptionScope(
  deps: TaskDeps,
  billing: BillingDeps,
  input: TaskInput<{ readonly tier: 'tenant' | 'target' }>,
) {
  const scope = await loadScope(deps, input);
  const tier = tierFor(deps, scope, input.args.tier);
  const { account } = await ensureCustomer(billing, input, scope.tenant);
  return { tier, account, prices: pricesOf(tier) };
}

const noPrices = (tier: Tier) => ({
  detail: `no subscription: tier ${tier.name} has no billing.stripePriceIds`,
});

/** EnsureBillingCustomer: the tenant's customer, created once and recorded with its reverse index. */
export const ensureBillingCustomer: HandlerOf<'EnsureBillingCustomer'> = async (input, deps) => {
  const billing = deps.billing;
  if (!billing) return { detail: BILLING_SKIPPED };
  const { tenant } = await loadScope(deps, input);
  const { account, created } = await ensureCustomer(billing, input, tenant);
  return { detail: `customer ${account.customerId} ${created ? 'created' : '(recorded)'}` };
};

/** EnsureSubscription: a subscription on the tier's prices (none for a tier without prices). */
export const ensureSubscription: HandlerOf<'EnsureSubscription'> = async (input, deps) => {
  const billing = deps.billing;
  if (!billing) return { detail: BILLING_SKIPPED };
  const { tier, account, prices } = await subscriptionScope(deps, billing, input);
  if (account.subscriptionId && !account.canceledAt)
    return { detail: `subscription ${account.subscriptionId} (recorded)` };
  if (prices.length === 0) return noPrices(tier);
  return createSubscription(billing, input, account, tier);
};

/**
 * MoveSubscription: the subscription's items onto exactly the tier's prices, in one update; the
 * subscription as Stripe holds it is read first, so a retry after the update finds nothing to do.
 * Into a tier without prices the subscription is cancelled; out of one, one is created.
 */
export const moveSubscription: HandlerOf<'MoveSubscription'> = async (input, deps) => {
  const billing = deps.billing;
  if (!billing) return { detail: BILLING_SKIPPED };
  const { tier, account, prices } = await subscriptionScope(deps, billing, input);
  const live = account.subscriptionId && !account.canceledAt;
  if (!live) {
    if (prices.length === 0) return noPrices(tier);
    return createSubscription(billing, input, account, tier);
  }
  if (prices.length === 0) return cancelSubscriptionOf(billing, input, account);
  const subscriptionId = account.subscriptionId!;
  const current = await billing.provider.getSubscription(subscriptionId);
  const changes = itemChanges(current, prices);
  if (changes.removeItemIds.length === 0 && changes.addPriceIds.length === 0) {
    await billing.accounts.saveSubscription(account.tenantId, {
      subscriptionId,
      priceIds: prices,
      status: current.status,
    });
    return { detail: `subscription ${subscriptionId} on ${prices.join(', ')} already` };
  }
  const moved = await billing.provider.updateSubscriptionItems(
    { subscriptionId, ...changes },
    key(input, 'move'),
  );
  await billing.accounts.saveSubscription(account.tenantId, {
    subscriptionId,
    priceIds: moved.items.map((i) => i.priceId),
    status: moved.status,
  });
  return { detail: `subscription ${subscriptionId} moved to ${prices.join(', ')}` };
};

/** CancelSubscription: offboarding ends the tenant's subscription (its customer and invoices stay). */
export const cancelSubscription: HandlerOf<'CancelSubscription'> = async (input, deps) => {
  const billing = deps.billing;
  if (!billing) return { detail: BILLING_SKIPPED };
  return cancelSubscriptionOf(billing, input, await billing.accounts.get(input.tenantId));
};

/** Compensation of an onboarding: the subscription it made is cancelled (no-op without billing). */
export async function cancelSubscriptionForCompensation(
  deps: { billing?: BillingDeps | undefined },
  input: TaskInput,
) {
  if (!deps.billing) return;
  await cancelSubscriptionOf(deps.billing, input, await deps.billing.accounts.get(input.tenantId));
}

/** ReportUsage: every unreported hour of the tenant's usage up to now, before its subscription ends. */
export const reportUsage: HandlerOf<'ReportUsage'> = async (input, deps) => {
  const billing = deps.billing;
  if (!billing) return { detail: BILLING_SKIPPED };
  if (!billing.usage) return { detail: 'skipped: no usage source wired' };
  const result = await reportTenantUsage(
    { provider: billing.provider, accounts: billing.accounts, source: billing.usage, clock: deps.clock },
    input.tenantId,
    'now',
  );
  if ('skipped' in result) return { detail: `skipped: ${result.skipped}` };
  return {
    detail: `reported ${result.reported} hour(s) of usage (${result.quantity} units); ${result.alreadyReported} reported before`,
  };
};

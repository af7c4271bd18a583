/**
 * The billing provider: what the workflows ask of a payment platform, whatever it is. One real
 * adapter, Stripe (./stripe.ts). Every mutating call takes an idempotency key the caller derives
 * from what it is doing (operation and step, or tenant, meter and hour), so a crash and a retry
 * send the same key and the provider does the thing once.
 */

export interface BillingCustomerInput {
  readonly tenantId: string;
  readonly slug: string;
  readonly name: string;
  readonly email: string;
}

/** A subscription as the control plane sees it: its status and the price of each item. */
export interface SubscriptionState {
  readonly subscriptionId: string;
  readonly customerId: string;
  /** The provider's status, e.g. `active`, `past_due`, `canceled`. */
  readonly status: string;
  readonly items: readonly { readonly itemId: string; readonly priceId: string }[];
}

export interface MeterEvent {
  /** The provider's meter event name; the control plane uses the meter's name. */
  readonly eventName: string;
  readonly customerId: string;
  /** A whole quantity (Stripe meters take integers). */
  readonly value: number;
  /** When the usage happened (the start of its hour). */
  readonly timestamp: Date;
  /** Unique per usage reported: the provider drops a second event with it. */
  readonly identifier: string;
}

export interface BillingProvider {
  /** `stripe`: names the provider in records and step details. */
  readonly name: string;
  createCustomer(input: BillingCustomerInput, idempotencyKey: string): Promise<{ customerId: string }>;
  createSubscription(
    input: { readonly customerId: string; readonly tenantId: string; readonly priceIds: readonly string[] },
    idempotencyKey: string,
  ): Promise<SubscriptionState>;
  getSubscription(subscriptionId: string): Promise<SubscriptionState>;
  /** Removes the items named, adds one item per price, in one update (prorated as the provider does). */
  updateSubscriptionItems(
    input: {
      readonly subscriptionId: string;
      readonly removeItemIds: readonly string[];
      readonly addPriceIds: readonly string[];
    },
    idempotencyKey: string,
  ): Promise<SubscriptionState>;
  cancelSubscription(subscriptionId: string, idempotencyKey: string): Promise<SubscriptionState>;
  reportMeterEvent(event: MeterEvent, idempotencyKey: string): Promise<void>;
  /**
   * What a customer paid for invoices created in [from, to), per currency, in major units
   * (`{ amount: 49.5, currency: 'USD' }`): the revenue side of cost ÷ revenue.
   */
  paidRevenue(customerId: string, from: Date, to: Date): Promise<readonly PaidRevenue[]>;
}

export interface PaidRevenue {
  readonly amount: number;
  /** ISO 4217, upper case. */
  readonly currency: string;
}

/** An idempotency key for one call of one step of one operation (Stripe takes up to 255 chars). */
export function billingIdempotencyKey(operationId: string, step: string, call: string): string {
  return `${operationId}:${step}:${call}`.slice(0, 255);
}

/** The price changes that move a subscription's items to exactly `priceIds` (none when it is there). */
export function itemChanges(
  current: SubscriptionState,
  priceIds: readonly string[],
): { removeItemIds: string[]; addPriceIds: string[] } {
  const have = new Set(current.items.map((i) => i.priceId));
  return {
    removeItemIds: current.items.filter((i) => !priceIds.includes(i.priceId)).map((i) => i.itemId),
    addPriceIds: priceIds.filter((p) => !have.has(p)),
  };
}

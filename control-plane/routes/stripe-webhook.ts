import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BillingAccounts } from '../../core/billing/accounts.js';
import { type ErrorCode, isControlPlaneError } from '../../core/errors.js';
import type { IdempotencyLink } from '../../core/registry/idempotency.js';
import type { Operation, Tenant } from '../../core/registry/records.js';
import type { CallContext, Started } from '../../workflows/index.js';
import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { signatureCheck, signedRoutes } from './webhooks.js';

export const STRIPE_ACTOR = 'webhook:stripe';
export const STRIPE_IDEMPOTENCY_SCOPE = 'webhook-stripe';

/** A Stripe event, as far as the control plane reads it; Stripe's other fields pass through. */
export const StripeEventSchema = z
  .looseObject({
    id: z.string().regex(/^evt_[A-Za-z0-9_]{1,250}$/, 'a Stripe event id (evt_…)'),
    object: z.literal('event'),
    type: z.string().min(1).max(200),
    created: z.number().int().nonnegative(),
    data: z.looseObject({ object: z.looseObject({}) }),
  })
  .meta({ id: 'StripeEvent' });
type StripeEvent = z.infer<typeof StripeEventSchema>;

export const StripeWebhookHeadersSchema = z.object({
  'stripe-signature': z
    .string()
    .optional()
    .meta({ description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">[,v0=…]' }),
});

export const StripeWebhookAnswerSchema = z
  .object({
    received: z.literal(true),
    /** What the event did: started a suspension or a tier change, or nothing. */
    action: z.enum(['suspend', 'change-tier', 'ignored']),
    detail: z.string(),
    tenantId: z.string().optional(),
    operationId: z.string().optional(),
  })
  .meta({ id: 'StripeWebhookAnswer' });
type Answer = z.infer<typeof StripeWebhookAnswerSchema>;

const CustomerRef = z
  .union([z.string(), z.looseObject({ id: z.string() })])
  .transform((c) => (typeof c === 'string' ? c : c.id));
const InvoiceSchema = z.looseObject({
  id: z.string(),
  customer: CustomerRef,
  attempt_count: z.number().int().optional(),
});
const SubscriptionSchema = z.looseObject({
  id: z.string(),
  customer: CustomerRef,
  items: z.looseObject({ data: z.array(z.looseObject({ price: z.looseObject({ id: z.string() }) })) }),
});

/** Refusals a Stripe retry cannot cure: acknowledged (200, `ignored`) with the reason, never retried. */
const FINAL_REFUSALS: ErrorCode[] = ['INVALID_STATE_TRANSITION', 'TIER_CHANGE_NOT_ALLOWED', 'UNKNOWN_TIER'];

const ignored = (detail: string, tenant?: Tenant): Answer => ({
  received: true,
  action: 'ignored',
  detail,
  ...(tenant ? { tenantId: tenant.tenantId } : {}),
});
const started = (action: 'suspend' | 'change-tier', detail: string, s: Started): Answer => ({
  received: true,
  action,
  detail,
  tenantId: s.tenant.tenantId,
  operationId: s.operation.operationId,
});

/**
 * The inbound Stripe webhook (docs/billing.md). Stripe signs every delivery with the endpoint's
 * secret in `Stripe-Signature` (the signup webhook's scheme, webhook-signature.ts), checked on the
 * raw bytes before anything is parsed. Stripe delivers at least once and retries any non-2xx: the
 * event id is the idempotency key (a redelivery answers the first answer and starts nothing), and
 * only "try again later" answers (an operation in flight) are non-2xx.
 *
 * - `invoice.payment_failed` → suspend the tenant whose customer it is (reason recorded);
 * - `customer.subscription.updated` onto another tier's price → change the tenant to that tier;
 * - anything else, or a customer the control plane did not make → 200 `ignored` (logged).
 */
export async function stripeWebhookRoutes(
  app: FastifyInstance,
  router: Router,
  ctx: RouteContext,
  accounts: BillingAccounts | undefined,
): Promise<void> {
  /** The tenant whose customer it is, or the answer for a customer the control plane did not make (logged). */
  async function tenantOf(
    customerId: string,
    event: StripeEvent,
    log: FastifyBaseLogger,
  ): Promise<Tenant | Answer> {
    const tenantId = await accounts?.tenantOfCustomer('stripe', customerId);
    const tenant = tenantId ? await ctx.registry.getTenant(tenantId) : undefined;
    if (tenant) return tenant;
    log.warn({ customer: customerId, event: event.id }, 'stripe event for an unknown customer');
    return ignored(`customer ${customerId} is no tenant's`);
  }

  /** Starts an operation, or acknowledges a refusal a redelivery would not cure. */
  async function attempt(
    tenant: Tenant,
    run: () => Promise<Answer>,
    log: FastifyBaseLogger,
  ): Promise<Answer> {
    try {
      return await run();
    } catch (e) {
      if (!FINAL_REFUSALS.some((code) => isControlPlaneError(e, code))) throw e;
      log.warn({ tenantId: tenant.tenantId, err: e }, 'stripe event refused by the lifecycle');
      return ignored(`refused: ${(e as Error).message}`, tenant);
    }
  }

  async function paymentFailed(
    event: StripeEvent,
    call: CallContext,
    log: FastifyBaseLogger,
  ): Promise<Answer> {
    const invoice = InvoiceSchema.safeParse(event.data.object);
    if (!invoice.success) return ignored('the event carries no invoice with a customer');
    const tenant = await tenantOf(invoice.data.customer, event, log);
    if ('received' in tenant) return tenant;
    if (tenant.state !== 'ACTIVE') return ignored(`tenant is ${tenant.state}; nothing to suspend`, tenant);
    const attempts = invoice.data.attempt_count ? ` (attempt ${invoice.data.attempt_count})` : '';
    const reason = `payment failed: Stripe invoice ${invoice.data.id}${attempts}`;
    return attempt(
      tenant,
      async () => started('suspend', reason, await ctx.lifecycle.suspend(tenant.tenantId, reason, call)),
      log,
    );
  }

  async function subscriptionUpdated(
    event: StripeEvent,
    call: CallContext,
    log: FastifyBaseLogger,
  ): Promise<Answer> {
    const parsed = SubscriptionSchema.safeParse(event.data.object);
    if (!parsed.success) return ignored('the event carries no subscription with items');
    const sub = parsed.data;
    const tenant = await tenantOf(sub.customer, event, log);
    if ('received' in tenant) return tenant;
    const account = await accounts?.get(tenant.tenantId);
    if (account?.subscriptionId !== sub.id)
      return ignored(
        `subscription ${sub.id} is not the tenant's (${account?.subscriptionId ?? 'none'})`,
        tenant,
      );
    const prices = sub.items.data.map((i) => i.price.id);
    const tier = ctx.catalog.tierOfPrices(prices);
    if (!tier) return ignored(`no tier's first price is among ${prices.join(', ')}`, tenant);
    if (tier.name === tenant.tier) return ignored(`tenant is on tier ${tier.name} already`, tenant);
    // The control plane's own MoveSubscription step causes this event while its tier change runs.
    const running: Operation | undefined = tenant.currentOperationId
      ? await ctx.registry.getOperation(tenant.currentOperationId)
      : undefined;
    if (running?.type === 'change-tier' && running.input.tier === tier.name)
      return ignored(`tenant is moving to tier ${tier.name} already (${running.operationId})`, tenant);
    return attempt(
      tenant,
      async () =>
        started(
          'change-tier',
          `subscription ${sub.id} moved to ${tier.name}'s price`,
          await ctx.lifecycle.changeTier(tenant.tenantId, tier.name, call),
        ),
      log,
    );
  }

  const HANDLERS: Record<string, typeof paymentFailed> = {
    'invoice.payment_failed': paymentFailed,
    'customer.subscription.updated': subscriptionUpdated,
  };

  await signedRoutes(app, router, (signed) =>
    signed.add({
      method: 'POST',
      url: '/v1/webhooks/stripe',
      operationId: 'stripeWebhook',
      summary: "Stripe's webhook: payment failures suspend, subscription moves change tier",
      description:
        "Signed by Stripe (`Stripe-Signature`, endpoint secret STRIPE_WEBHOOK_SECRET). `invoice.payment_failed` suspends the tenant, `customer.subscription.updated` onto another tier's price changes its tier; other events, and customers that are no tenant's, are acknowledged and ignored. A redelivered event id answers the first answer (see docs/billing.md).",
      tags: ['webhooks'],
      auth: 'stripe-signature',
      headers: StripeWebhookHeadersSchema,
      body: StripeEventSchema,
      responses: {
        200: { description: 'Received: what the event did, if anything.', schema: StripeWebhookAnswerSchema },
      },
      errors: [
        'WEBHOOK_NOT_CONFIGURED',
        'INVALID_SIGNATURE',
        'SIGNATURE_EXPIRED',
        'OPERATION_IN_PROGRESS',
        'VERSION_CONFLICT',
        'IDEMPOTENCY_KEY_REUSED',
        'IDEMPOTENCY_IN_FLIGHT',
      ],
      verifyRawBody: signatureCheck({
        secret: () => ctx.config.stripeWebhookSecret,
        header: 'Stripe-Signature',
        disabled:
          "the Stripe webhook is disabled: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_…)",
        clock: ctx.clock,
      }),
      handler: async ({ body: event }, request, reply) => {
        const result = await ctx.idempotency.run(
          STRIPE_IDEMPOTENCY_SCOPE,
          event.id,
          event,
          async (idempotency: IdempotencyLink) => {
            const handle = HANDLERS[event.type];
            const call: CallContext = { actor: STRIPE_ACTOR, idempotencyKey: event.id, idempotency };
            const answer = handle
              ? await handle(event, call, request.log)
              : ignored(`event type ${event.type} is not handled`);
            if (answer.operationId) ctx.metrics.operationStarted(answer.action);
            return { statusCode: 200, body: answer };
          },
        );
        // A first delivery that recorded its operation and died before its answer: that operation.
        const body = result.body as Answer | Started;
        const answer: Answer =
          'operation' in body
            ? started(body.operation.type as 'suspend' | 'change-tier', 'replayed', body)
            : body;
        if (answer.tenantId)
          logContext(request, reply, {
            tenantId: answer.tenantId,
            ...(answer.operationId ? { operationId: answer.operationId } : {}),
          });
        request.log.info(
          { event: event.id, type: event.type, action: answer.action },
          'stripe event received',
        );
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(200).send(answer);
      },
    }),
  );
}

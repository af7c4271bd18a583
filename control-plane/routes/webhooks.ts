import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ControlPlaneError } from '../../core/errors.js';
import { answerStarted, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { SignupEventSchema, SignupHeadersSchema, StartedSchema } from '../schemas.js';
import { verifyWebhookSignature } from '../webhook-signature.js';

export const SIGNUP_ACTOR = 'webhook:signup';
export const SIGNUP_IDEMPOTENCY_SCOPE = 'webhook-signup';

/**
 * The signup webhook: a payment provider (or the signup flow) posts `signup.completed` after
 * payment. The HMAC signature over the raw body is the credential, so this route has its own
 * content-type parser that keeps the bytes as they arrived. Providers deliver at least once: the
 * event id is the idempotency key, so redeliveries (even concurrent ones) get the same tenant.
 */
export async function webhookRoutes(app: FastifyInstance, router: Router, ctx: RouteContext): Promise<void> {
  await signedRoutes(app, router, (signed) =>
    signed.add({
      method: 'POST',
      url: '/v1/webhooks/signup',
      operationId: 'signupWebhook',
      summary: 'Signup webhook: onboard a tenant after payment',
      description:
        'Signed with `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (see docs/api.md). Redelivering an event id returns the same tenant and operation.',
      tags: ['webhooks'],
      auth: 'webhook-signature',
      headers: SignupHeadersSchema,
      body: SignupEventSchema,
      responses: {
        202: {
          description: 'The tenant is onboarding (or was already, for a redelivery).',
          schema: StartedSchema,
        },
      },
      errors: [
        'WEBHOOK_NOT_CONFIGURED',
        'INVALID_SIGNATURE',
        'SIGNATURE_EXPIRED',
        'UNKNOWN_TIER',
        'TENANT_EXISTS',
        'QUOTA_EXCEEDED',
        // A tier whose catalog regions exclude the control plane's own.
        'REGION_NOT_ALLOWED',
        'IDEMPOTENCY_KEY_REUSED',
        'IDEMPOTENCY_IN_FLIGHT',
      ],
      verifyRawBody: signatureCheck({
        secret: () => ctx.config.signupWebhookSecret,
        header: 'Webhook-Signature',
        disabled:
          'the signup webhook is disabled: set SIGNUP_WEBHOOK_SECRET to the secret the sender signs with',
        clock: ctx.clock,
      }),
      handler: async ({ body: event }, request, reply) =>
        answerStarted(ctx, request, reply, {
          scope: SIGNUP_IDEMPOTENCY_SCOPE,
          actor: SIGNUP_ACTOR,
          idempotencyKey: event.id,
          fingerprint: event,
          run: (call) => ctx.lifecycle.onboard(event.data, call),
        }),
    }),
  );
}

/**
 * A route's `verifyRawBody` for a webhook signed with `secret` in `header`: WEBHOOK_NOT_CONFIGURED
 * without a secret, else the signature check of webhook-signature.ts.
 */
export function signatureCheck(options: {
  readonly secret: () => string | undefined;
  /** The header as documented, e.g. `Stripe-Signature`. */
  readonly header: string;
  /** What WEBHOOK_NOT_CONFIGURED says (which variable to set). */
  readonly disabled: string;
  readonly clock: () => Date;
}): (raw: Buffer, request: FastifyRequest) => void {
  return (raw, request) => {
    const secret = options.secret();
    if (!secret) throw new ControlPlaneError('WEBHOOK_NOT_CONFIGURED', options.disabled);
    const header = request.headers[options.header.toLowerCase()];
    verifyWebhookSignature({
      secret,
      header: Array.isArray(header) ? header[0] : header,
      headerName: options.header,
      rawBody: raw,
      now: options.clock(),
    });
  };
}

/**
 * Registers routes whose signature is over the raw body: in their own encapsulated instance, whose
 * JSON parser keeps the bytes as they arrived (the route's `verifyRawBody` checks them, then parses).
 */
export async function signedRoutes(
  app: FastifyInstance,
  router: Router,
  add: (signed: Router) => void,
): Promise<void> {
  await app.register(async (scoped) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    add(router.on(scoped));
  });
}

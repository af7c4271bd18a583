import { z } from 'zod';
import { ControlPlaneError, type ErrorCode } from '../../core/errors.js';
import {
  RolloutIdSchema,
  RolloutPatchSchema,
  RolloutRequestSchema,
  RolloutSchema,
  RolloutTenantSchema,
  TemplateVersionSchema,
  WaveProgressSchema,
} from '../../core/rollouts/records.js';
import type { RolloutService } from '../../workflows/index.js';
import { type RouteContext, runIdempotent } from '../context.js';
import type { Router } from '../route.js';
import { EmptyBodySchema, IdempotencyHeadersSchema } from '../schemas.js';

const tags = ['rollouts'];

const RolloutViewSchema = z
  .object({ rollout: RolloutSchema.meta({ id: 'Rollout' }), waves: z.array(WaveProgressSchema) })
  .meta({ id: 'RolloutView' });
const RolloutListSchema = z.object({ items: z.array(RolloutSchema) }).meta({ id: 'RolloutList' });
const RolloutTenantsSchema = z
  .object({ items: z.array(RolloutTenantSchema.meta({ id: 'RolloutTenant' })) })
  .meta({ id: 'RolloutTenants' });
const TemplatesSchema = z
  .object({
    versions: z.array(
      TemplateVersionSchema.extend({
        /** The code's current version of its isolation model (what `latest` rolls out). */
        latest: z.boolean(),
        /** Tenants whose current stack runs it. */
        tenants: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'TemplateVersions' });
const RolloutParamsSchema = z.object({ rolloutId: RolloutIdSchema });
const VIEW = { description: 'The rollout and the progress of each wave.', schema: RolloutViewSchema };
const ACTION_ERRORS: ErrorCode[] = ['ROLLOUT_NOT_FOUND', 'ROLLOUT_INVALID_TRANSITION', 'ROLLOUT_CONFLICT'];

export function rolloutRoutes(router: Router, ctx: RouteContext, rollouts: RolloutService | undefined): void {
  const service = (): RolloutService => {
    if (!rollouts)
      throw new ControlPlaneError('INTERNAL', 'this process was built without rollouts (no workflows)');
    return rollouts;
  };

  router.add({
    method: 'GET',
    url: '/v1/templates',
    operationId: 'listTemplateVersions',
    summary: 'Template versions per isolation model',
    description:
      'Every template version the control plane has registered (a new one appears when the code’s templates change), with its hash, when it was registered, whether it is the latest, and how many tenants run it.',
    tags,
    auth: 'rollouts:read',
    responses: { 200: { description: 'The versions, oldest first.', schema: TemplatesSchema } },
    handler: async () => ({ versions: await service().templates() }),
  });

  router.add({
    method: 'POST',
    url: '/v1/rollouts',
    operationId: 'startRollout',
    summary: 'Roll a template version out to tenants in waves',
    description:
      'Selects tenants by isolation or tiers, plans waves (by tier, explicit tenants or percentage, a canary first), and starts the rollout workflow. Refused with nothing written: an unknown version, an empty selection, a budget over 100%, tenants another rollout holds. Send an Idempotency-Key to retry safely.',
    tags,
    auth: 'rollouts:write',
    headers: IdempotencyHeadersSchema,
    body: RolloutRequestSchema,
    responses: { 202: { description: 'The rollout is recorded and running.', schema: RolloutViewSchema } },
    errors: [
      'UNKNOWN_TIER',
      'UNKNOWN_TEMPLATE_VERSION',
      'ROLLOUT_EMPTY_SELECTION',
      'ROLLOUT_TOO_LARGE',
      'ROLLOUT_OVERLAP',
      'ROLLOUT_CONFLICT',
      'IDEMPOTENCY_KEY_REUSED',
      'IDEMPOTENCY_IN_FLIGHT',
    ],
    handler: async ({ headers, body }, request, reply) => {
      const actor = request.principal!.actor;
      const execute = async () => ({ statusCode: 202, body: await service().create(body, actor) });
      const result = await runIdempotent(
        ctx,
        reply,
        {
          scope: `api:${actor}`,
          idempotencyKey: headers['idempotency-key'],
          fingerprint: { method: 'POST', route: '/v1/rollouts', body },
        },
        execute,
      );
      return reply.code(result.statusCode).send(result.body);
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/rollouts',
    operationId: 'listRollouts',
    summary: 'List rollouts, newest first',
    tags,
    auth: 'rollouts:read',
    responses: { 200: { description: 'Every rollout.', schema: RolloutListSchema } },
    handler: async () => ({ items: await service().list() }),
  });

  router.add({
    method: 'GET',
    url: '/v1/rollouts/:rolloutId',
    operationId: 'getRollout',
    summary: 'A rollout with the progress of each wave',
    description:
      'Per wave: done, failed, running, busy (retried later), skipped and remaining tenants, with an ETA.',
    tags,
    auth: 'rollouts:read',
    params: RolloutParamsSchema,
    responses: { 200: VIEW },
    errors: ['ROLLOUT_NOT_FOUND'],
    handler: async ({ params }) => service().get(params.rolloutId),
  });

  router.add({
    method: 'GET',
    url: '/v1/rollouts/:rolloutId/tenants',
    operationId: 'listRolloutTenants',
    summary: "Each tenant's outcome in a rollout",
    description:
      'Per tenant tried so far: its wave, status (running, succeeded, failed, busy, skipped), the versions it moves from and to, its update operation and error. A tenant not tried yet is not listed (its wave counts it as remaining).',
    tags,
    auth: 'rollouts:read',
    params: RolloutParamsSchema,
    responses: { 200: { description: 'The tenants tried so far.', schema: RolloutTenantsSchema } },
    errors: ['ROLLOUT_NOT_FOUND'],
    handler: async ({ params }) => ({ items: await service().tenants(params.rolloutId) }),
  });

  for (const action of ['pause', 'resume', 'abort'] as const)
    router.add({
      method: 'POST',
      url: `/v1/rollouts/:rolloutId/${action}`,
      operationId: `${action}Rollout`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a rollout`,
      description:
        action === 'pause'
          ? 'No new tenant update starts; the ones in flight finish. Resume carries on where it stopped.'
          : action === 'resume'
            ? 'Carries on a paused rollout. One its failure budget stopped needs a bigger budget first (PATCH).'
            : 'Ends the rollout: no new tenant update starts; the ones in flight finish. Its tenants are free for another rollout.',
      tags,
      auth: 'rollouts:write',
      params: RolloutParamsSchema,
      body: EmptyBodySchema,
      responses: { 200: VIEW },
      errors: ACTION_ERRORS,
      handler: async ({ params }, request) =>
        service().act(params.rolloutId, action, request.principal!.actor),
    });

  router.add({
    method: 'PATCH',
    url: '/v1/rollouts/:rolloutId',
    operationId: 'updateRollout',
    summary: 'Change maxConcurrency or the failure budget (the brake)',
    description:
      'Takes effect at once for updates not yet started: a lower maxConcurrency or budget admits fewer; a higher maxConcurrency applies from the next pass of a wave.',
    tags,
    auth: 'rollouts:write',
    params: RolloutParamsSchema,
    body: RolloutPatchSchema,
    responses: { 200: VIEW },
    errors: ACTION_ERRORS,
    handler: async ({ params, body }) => service().patch(params.rolloutId, body),
  });
}

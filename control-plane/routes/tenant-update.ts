import { answerStarted, idempotent, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { IdempotencyHeadersSchema, TenantRefParamsSchema, UpdateTenantSchema } from '../schemas.js';
import { IDEMPOTENCY_ERRORS, OPERATION_REFUSALS, STARTED } from './tenants.js';

/** PATCH /v1/tenants/{id}: a recorded `update` operation (workflows/definitions/update.ts). */
export function tenantUpdateRoutes(router: Router, ctx: RouteContext): void {
  router.add({
    method: 'PATCH',
    url: '/v1/tenants/:tenantId',
    operationId: 'updateTenant',
    summary: "Update a tenant's name, admin email or allowed principals",
    description:
      "Starts an update operation (audited like every operation). A silo tenant's allowedPrincipals reach its endpoint service's permissions through a stack update; other tiers keep them for a move to silo. Values are checked with the template's own rules. The slug never changes.",
    tags: ['tenants'],
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: UpdateTenantSchema,
    responses: STARTED,
    errors: ['INVALID_PARAMETER', ...OPERATION_REFUSALS, ...IDEMPOTENCY_ERRORS],
    handler: async ({ params, headers, body }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, body),
        run: (call) => ctx.lifecycle.update(params.tenantId, body, call),
      }),
  });
}

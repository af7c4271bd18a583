import type { ErrorCode } from '../../core/errors.js';
import { answerStarted, idempotent, logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import {
  ChangeTierSchema,
  CreateTenantSchema,
  EmptyBodySchema,
  EventPageSchema,
  IdempotencyHeadersSchema,
  ListEventsQuerySchema,
  ListTenantsQuerySchema,
  StartedSchema,
  SuspendSchema,
  TenantPageSchema,
  TenantRefParamsSchema,
  TenantResponseSchema,
} from '../schemas.js';
import { tenantsWithHealth } from './reconcile.js';

const tags = ['tenants'];
export const STARTED = {
  202: {
    description: 'The operation is recorded and running; follow it at /v1/operations/{operationId}.',
    schema: StartedSchema,
  },
};
export const OPERATION_REFUSALS: ErrorCode[] = [
  'TENANT_NOT_FOUND',
  'OPERATION_IN_PROGRESS',
  'INVALID_STATE_TRANSITION',
  'VERSION_CONFLICT',
];
export const IDEMPOTENCY_ERRORS: ErrorCode[] = ['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_FLIGHT'];

export function tenantRoutes(router: Router, ctx: RouteContext): void {
  router.add({
    method: 'POST',
    url: '/v1/tenants',
    operationId: 'onboardTenant',
    summary: 'Onboard a tenant',
    description:
      'Creates the tenant in PROVISIONING and starts its onboard workflow. Send an Idempotency-Key to retry safely.',
    tags,
    auth: 'tenants:write',
    headers: IdempotencyHeadersSchema,
    body: CreateTenantSchema,
    responses: STARTED,
    errors: [
      'UNKNOWN_TIER',
      'TENANT_EXISTS',
      'INVALID_PARAMETER',
      'REGION_NOT_ALLOWED',
      'REGION_NOT_AVAILABLE',
      'QUOTA_EXCEEDED',
      ...IDEMPOTENCY_ERRORS,
    ],
    handler: async ({ headers, body }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, {}, body),
        run: (call) => ctx.lifecycle.onboard(body, call),
      }),
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants',
    operationId: 'listTenants',
    summary: 'List tenants, newest first',
    description:
      'Filter by tier and/or state, and by health (what the last reconcile found; a page may then hold fewer than `limit`); pass nextCursor back as cursor (with the same filters) for the next page.',
    tags,
    auth: 'tenants:read',
    query: ListTenantsQuerySchema,
    responses: { 200: { description: 'One page of tenants.', schema: TenantPageSchema } },
    errors: ['UNKNOWN_TIER', 'RECONCILE_UNAVAILABLE'],
    handler: async ({ query: { health, ...query } }) => {
      // A tier the catalog does not have is refused as onboarding refuses it, not answered "no tenants".
      if (query.tier) ctx.catalog.get(query.tier);
      const page = health
        ? await tenantsWithHealth(ctx, ctx.reconcile, { ...query, health })
        : await ctx.registry.listTenants(query);
      return { items: page.items, nextCursor: page.nextCursor ?? null };
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId',
    operationId: 'getTenant',
    summary: 'Get a tenant by id or slug',
    tags,
    auth: 'tenants:read',
    params: TenantRefParamsSchema,
    responses: { 200: { description: 'The tenant.', schema: TenantResponseSchema } },
    errors: ['TENANT_NOT_FOUND'],
    handler: async ({ params }, request, reply) => {
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      return tenant;
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/events',
    operationId: 'listTenantEvents',
    summary: "A tenant's audit trail, oldest first",
    tags,
    auth: 'tenants:read',
    params: TenantRefParamsSchema,
    query: ListEventsQuerySchema,
    responses: { 200: { description: 'One page of audit events.', schema: EventPageSchema } },
    errors: ['TENANT_NOT_FOUND'],
    handler: async ({ params, query }, request, reply) => {
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      const page = await ctx.registry.listEvents(tenant.tenantId, query);
      return { items: page.items, nextCursor: page.nextCursor ?? null };
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/tier',
    operationId: 'changeTenantTier',
    summary: "Change a tenant's tier",
    description:
      'Moves the tenant to another tier the catalog allows, migrating its isolation model when that changes.',
    tags,
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: ChangeTierSchema,
    responses: STARTED,
    errors: [
      'UNKNOWN_TIER',
      'TIER_CHANGE_NOT_ALLOWED',
      'QUOTA_EXCEEDED',
      ...OPERATION_REFUSALS,
      ...IDEMPOTENCY_ERRORS,
    ],
    handler: async ({ params, headers, body }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, body),
        run: (call) => ctx.lifecycle.changeTier(params.tenantId, body.tier, call),
      }),
  });

  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/suspend',
    operationId: 'suspendTenant',
    summary: 'Suspend a tenant',
    description: "Disables the tenant's users and API key; its data and stacks are kept.",
    tags,
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: SuspendSchema,
    responses: STARTED,
    errors: [...OPERATION_REFUSALS, ...IDEMPOTENCY_ERRORS],
    handler: async ({ params, headers, body }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, body),
        run: (call) => ctx.lifecycle.suspend(params.tenantId, body.reason, call),
      }),
  });

  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/resume',
    operationId: 'resumeTenant',
    summary: 'Resume a suspended tenant',
    tags,
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: EmptyBodySchema,
    responses: STARTED,
    errors: [...OPERATION_REFUSALS, ...IDEMPOTENCY_ERRORS],
    handler: async ({ params, headers }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, {}),
        run: (call) => ctx.lifecycle.resume(params.tenantId, call),
      }),
  });

  router.add({
    method: 'DELETE',
    url: '/v1/tenants/:tenantId',
    operationId: 'offboardTenant',
    summary: 'Offboard a tenant',
    description:
      "Deletes the tenant's resources; the tenant record and its audit trail are kept in OFFBOARDED.",
    tags,
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    responses: STARTED,
    errors: [...OPERATION_REFUSALS, ...IDEMPOTENCY_ERRORS],
    handler: async ({ params, headers }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, {}),
        run: (call) => ctx.lifecycle.offboard(params.tenantId, call),
      }),
  });
}

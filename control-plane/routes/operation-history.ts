import { ControlPlaneError } from '../../core/errors.js';
import type { OperationListQuery } from '../../core/registry/registry.js';
import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import {
  ListOperationsQuerySchema,
  ListTenantOperationsQuerySchema,
  OperationPageSchema,
  OperationParamsSchema,
  OperationResponseSchema,
  TenantRefParamsSchema,
} from '../schemas.js';

const tags = ['operations'];

/** Operation history (all, or one tenant's) and the hand-off read an `operations:callback` key may do. */
export function operationHistoryRoutes(router: Router, ctx: RouteContext): void {
  const page = async (query: OperationListQuery) => {
    const result = await ctx.registry.listOperations(query);
    return { items: result.items, nextCursor: result.nextCursor ?? null };
  };

  router.add({
    method: 'GET',
    url: '/v1/operations',
    operationId: 'listOperations',
    summary: 'List operations, newest first',
    description:
      'Every operation of every tenant, or one tenant’s (`tenant`), filtered by `status` and `type`; paged with `cursor`.',
    tags,
    auth: 'tenants:read',
    query: ListOperationsQuerySchema,
    responses: { 200: { description: 'A page of operations.', schema: OperationPageSchema } },
    errors: ['TENANT_NOT_FOUND'],
    handler: async ({ query }) => {
      const { tenant, ...rest } = query;
      const tenantId = tenant ? (await ctx.registry.requireTenant(tenant)).tenantId : undefined;
      return page({ ...rest, ...(tenantId ? { tenantId } : {}) });
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/operations',
    operationId: 'listTenantOperations',
    summary: 'List a tenant’s operations, newest first',
    tags,
    auth: 'tenants:read',
    params: TenantRefParamsSchema,
    query: ListTenantOperationsQuerySchema,
    responses: { 200: { description: 'A page of operations.', schema: OperationPageSchema } },
    errors: ['TENANT_NOT_FOUND'],
    handler: async ({ params, query }, request, reply) => {
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      return page({ ...query, tenantId: tenant.tenantId });
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/operations/:operationId/callback',
    operationId: 'getCallbackOperation',
    summary: 'Read the operation a callback answers',
    description:
      'For the application plane, whose key has only `operations:callback`: the operation, while it waits on a migration hand-off or once it was answered. Other operations answer 404 here.',
    tags,
    auth: 'operations:callback',
    params: OperationParamsSchema,
    responses: { 200: { description: 'The operation.', schema: OperationResponseSchema } },
    errors: ['OPERATION_NOT_FOUND'],
    handler: async ({ params }, request, reply) => {
      const operation = await ctx.registry.getOperation(params.operationId);
      if (!operation || !(operation.waitingFor || operation.callback)) {
        throw new ControlPlaneError(
          'OPERATION_NOT_FOUND',
          `no operation with id "${params.operationId}" waits or waited on a callback`,
        );
      }
      logContext(request, reply, { tenantId: operation.tenantId, operationId: operation.operationId });
      return operation;
    },
  });
}

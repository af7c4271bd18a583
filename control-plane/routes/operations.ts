import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import {
  CallbackSchema,
  GetOperationQuerySchema,
  OperationParamsSchema,
  OperationResponseSchema,
} from '../schemas.js';

const tags = ['operations'];

export function operationRoutes(router: Router, ctx: RouteContext): void {
  router.add({
    method: 'GET',
    url: '/v1/operations/:operationId',
    operationId: 'getOperation',
    summary: 'Get an operation with its steps',
    description:
      'Follow a workflow: status ends in SUCCEEDED or FAILED. With `waitSeconds`, the answer comes as soon as the operation has ended, or after that many seconds with the operation as it stands (long polling: one request instead of a poll loop). With `since=<version>` too, it comes as soon as anything changes: pass back the `version` of the last answer to follow every step as it happens.',
    tags,
    auth: 'tenants:read',
    params: OperationParamsSchema,
    query: GetOperationQuerySchema,
    responses: { 200: { description: 'The operation.', schema: OperationResponseSchema } },
    errors: ['OPERATION_NOT_FOUND'],
    handler: async ({ params, query }, request, reply) => {
      const operation = query.waitSeconds
        ? await ctx.lifecycle.awaitOperation(params.operationId, query.waitSeconds * 1000, query.since)
        : await ctx.registry.requireOperation(params.operationId);
      logContext(request, reply, { tenantId: operation.tenantId, operationId: operation.operationId });
      return operation;
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/operations/:operationId/callback',
    operationId: 'answerOperationCallback',
    summary: 'Answer the step an operation waits on',
    description:
      "The application plane's answer to a migration hand-off: `succeeded` lets the workflow go on, `failed` makes it roll back.",
    tags,
    auth: 'operations:callback',
    params: OperationParamsSchema,
    body: CallbackSchema,
    responses: { 200: { description: 'The operation after the answer.', schema: OperationResponseSchema } },
    errors: ['OPERATION_NOT_FOUND', 'NOT_WAITING_FOR_CALLBACK'],
    handler: async ({ params, body }, request, reply) => {
      logContext(request, reply, { operationId: params.operationId });
      const operation = await ctx.lifecycle.callback(params.operationId, body, {
        actor: request.principal!.actor,
      });
      logContext(request, reply, { tenantId: operation.tenantId });
      request.log.info({ answer: body.status }, 'callback answered');
      return operation;
    },
  });
}

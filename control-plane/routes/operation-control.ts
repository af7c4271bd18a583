import type { ErrorCode } from '../../core/errors.js';
import { answerStarted, idempotent, logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import {
  EmptyBodySchema,
  IdempotencyHeadersSchema,
  OperationParamsSchema,
  OperationResponseSchema,
  StartedSchema,
} from '../schemas.js';

/** Retry a FAILED operation, cancel a running one (docs/reconcile.md). */

const tags = ['operations'];
const IDEMPOTENCY_ERRORS: ErrorCode[] = ['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_FLIGHT'];

export function operationControlRoutes(router: Router, ctx: RouteContext): void {
  router.add({
    method: 'POST',
    url: '/v1/operations/:operationId/retry',
    operationId: 'retryOperation',
    summary: 'Retry a failed operation',
    description:
      "Runs a FAILED operation again once its cause is fixed (its next `attempt`; the earlier ones stay in `previousAttempts`). The tenant re-enters the operation's state; every step is an idempotent ensure, so what is done settles at once and the run picks up at the step that failed. Only the tenant's latest operation can be retried. Send an Idempotency-Key to retry the request safely.",
    tags,
    auth: 'tenants:write',
    params: OperationParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: EmptyBodySchema,
    responses: {
      202: { description: 'The next attempt is recorded and running.', schema: StartedSchema },
    },
    errors: [
      'OPERATION_NOT_FOUND',
      'OPERATION_NOT_RETRYABLE',
      'OPERATION_IN_PROGRESS',
      'INVALID_STATE_TRANSITION',
      'VERSION_CONFLICT',
      ...IDEMPOTENCY_ERRORS,
    ],
    handler: async ({ params, headers }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, {}),
        run: (call) => ctx.lifecycle.retry(params.operationId, call),
      }),
  });

  router.add({
    method: 'POST',
    url: '/v1/operations/:operationId/cancel',
    operationId: 'cancelOperation',
    summary: 'Cancel a running operation',
    description:
      'Stops a running operation at its next step and runs its compensation: the tenant ends where a rollback leaves it, with `lastError` `OPERATION_CANCELLED`. Asking again answers the same (the first request stands). Offboarding, and a tier change past its cut-over, cannot be cancelled.',
    tags,
    auth: 'tenants:write',
    params: OperationParamsSchema,
    body: EmptyBodySchema,
    responses: {
      200: {
        description: 'The operation with its cancel request (`cancel`).',
        schema: OperationResponseSchema,
      },
    },
    errors: ['OPERATION_NOT_FOUND', 'OPERATION_NOT_CANCELLABLE'],
    handler: async ({ params }, request, reply) => {
      const operation = await ctx.lifecycle.cancel(params.operationId, { actor: request.principal!.actor });
      logContext(request, reply, { tenantId: operation.tenantId, operationId: operation.operationId });
      request.log.info('cancel requested');
      return operation;
    },
  });
}

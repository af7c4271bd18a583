import { ControlPlaneError } from '../../core/errors.js';
import type { StackRef } from '../../core/registry/records.js';
import { type HandlerOf, loadScope, type PollResult, tierFor } from './context.js';
import { observeRef, stackOf } from './stacks.js';

/**
 * The migration hand-off of a tier change across isolation models. The control plane builds the
 * target stack; moving the tenant's data is the application plane's job. It is told by the event
 * `tenant.migration_requested` and answers on POST /v1/operations/:id/callback; the answer is
 * stored on the operation, and AwaitMigration polls for it. The operation id is the token: the same
 * state machine runs on Step Functions and locally, with no engine-specific task-token plumbing.
 */

/** RequestMigration: tell the application plane what to move where, and start waiting. */
export const requestMigration: HandlerOf<'RequestMigration'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  const target = tierFor(deps, scope, 'target');
  const targetStack = stackOf(tenant, 'target');
  const current = stackOf(tenant, 'current');
  await deps.events.publish({
    type: 'tenant.migration_requested',
    tenantId: tenant.tenantId,
    operationId: operation.operationId,
    data: {
      from: {
        tier: tenant.tier,
        isolation: tenant.isolation,
        stackArn: current?.arn,
        outputs: tenant.outputs,
      },
      to: { tier: target.name, isolation: target.isolation, stackArn: targetStack?.arn },
      callback: {
        method: 'POST',
        path: `/v1/operations/${operation.operationId}/callback`,
        body: { status: 'succeeded | failed', reason: 'optional' },
      },
      timeoutSeconds: deps.migrationTimeoutSeconds,
    },
  });
  if (operation.waitingFor !== 'migration') {
    await deps.registry.updateOperation(operation.operationId, () => ({
      waitingFor: 'migration',
      waitingSince: deps.clock().toISOString(),
    }));
  }
  return { waitingFor: 'migration' };
};

/** AwaitMigration: settled when the application plane answered; a `failed` answer or the timeout fails the step. */
export const awaitMigration: HandlerOf<'AwaitMigration'> = async (input, deps): Promise<PollResult> => {
  const { operation } = await loadScope(deps, input);
  const answer = operation.callback;
  if (answer?.status === 'succeeded') {
    await deps.registry.updateOperation(operation.operationId, () => ({ waitingFor: undefined }));
    return { done: true, detail: `migrated (reported by ${answer.actor})` };
  }
  if (answer?.status === 'failed') {
    await deps.registry.updateOperation(operation.operationId, () => ({ waitingFor: undefined }));
    throw new ControlPlaneError(
      'MIGRATION_REJECTED',
      `the application plane reported the migration failed: ${answer.reason ?? 'no reason given'}`,
    );
  }
  const since = Date.parse(operation.waitingSince ?? operation.updatedAt);
  const waited = (deps.clock().getTime() - since) / 1000;
  if (waited > deps.migrationTimeoutSeconds) {
    await deps.registry.updateOperation(operation.operationId, () => ({ waitingFor: undefined }));
    throw new ControlPlaneError(
      'CALLBACK_TIMEOUT',
      `no migration callback within ${deps.migrationTimeoutSeconds} s`,
    );
  }
  return { done: false, detail: 'waiting for the application plane to migrate the data' };
};

/** CutOver: the registry now points at the target stack and its outputs; the old one is marked for retirement. */
export const cutOver: HandlerOf<'CutOver'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  const target = tierFor(deps, scope, 'target');
  const targetStack = stackOf(tenant, 'target');
  if (tenant.tier === target.name && !targetStack) return { already: true };
  if (!targetStack)
    throw new ControlPlaneError(
      'WORKFLOW_FAILED',
      `tenant ${tenant.tenantId} has no target stack to cut over to`,
    );
  const stack = await observeRef(deps, tenant, targetStack);
  if (!stack) throw new ControlPlaneError('STACK_FAILED', `target stack ${targetStack.stackName} is gone`);
  const stacks: StackRef[] = tenant.stacks.map((s) =>
    s.role === 'target' ? { ...s, role: 'current' } : s.role === 'current' ? { ...s, role: 'retiring' } : s,
  );
  await deps.registry.patchTenant(tenant, operation.operationId, {
    tier: target.name,
    isolation: target.isolation,
    stacks,
    outputs: stack.outputs,
    templateVersion: targetStack.templateVersion,
  });
  return { from: tenant.tier, to: target.name };
};

import { ControlPlaneError } from '../../core/errors.js';
import type { OperationType } from '../../core/lifecycle.js';
import type { ErrorInfo } from '../../core/registry/records.js';
import type { TenantPatch } from '../../core/registry/registry.js';
import type { EventType } from '../events.js';
import { closeAccount } from './accounts.js';
import { deleteApiKeyOf } from './api-access.js';
import { cancelSubscriptionForCompensation } from './billing.js';
import { type HandlerOf, loadScope, type PollResult, tierFor, toTaskError, updateOf } from './context.js';
import { deleteIdentityOf } from './identity.js';
import { retireStacks } from './stacks.js';

/** The start and the end of every operation: registry status, final state, lifecycle event. */

/** BeginOperation: marks the operation RUNNING and tells the state machine which path to take. */
export const beginOperation: HandlerOf<'BeginOperation'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  // Every flag is always present: a Choice on a missing path fails the execution on AWS.
  const plan = {
    type: operation.type,
    sameIsolation: true,
    dedicatedAccount: false,
    vendAccount: false,
    closeAccount: false,
    updateStack: false,
    updateAdminEmail: false,
  };
  if (operation.type === 'onboard')
    return { ...plan, dedicatedAccount: tierFor(deps, scope, 'tenant').dedicatedAccount };
  if (operation.type === 'offboard')
    return { ...plan, dedicatedAccount: Boolean(tenant.accountId && !tenant.accountClosedAt) };
  if (operation.type === 'update') {
    // Only a silo's endpoint service uses the principals; other tiers keep them for a move to silo.
    const principals = operation.input.allowedPrincipals !== undefined;
    const email = operation.input.adminEmail;
    return {
      ...plan,
      updateStack: principals && tenant.isolation === 'silo' && tenant.stacks.length > 0,
      // The admin user signs in with its email: a new one reaches Cognito, not only the registry.
      updateAdminEmail:
        typeof email === 'string' && email !== tenant.adminEmail && Boolean(tenant.access.adminUsername),
    };
  }
  if (operation.type !== 'change-tier') return plan;
  const { from, to } = deps.catalog.assertTransition(tenant.tier, tierFor(deps, scope, 'target').name);
  return {
    ...plan,
    // Into or out of a dedicated account is a move between accounts: the migration path.
    sameIsolation: from.isolation === to.isolation && from.dedicatedAccount === to.dedicatedAccount,
    vendAccount: to.dedicatedAccount && !from.dedicatedAccount,
    closeAccount: from.dedicatedAccount && !to.dedicatedAccount,
  };
};

const SUCCESS_EVENTS: Record<OperationType, EventType> = {
  onboard: 'tenant.onboarded',
  'change-tier': 'tenant.tier_changed',
  suspend: 'tenant.suspended',
  resume: 'tenant.resumed',
  offboard: 'tenant.offboarded',
  update: 'tenant.updated',
  repair: 'tenant.repaired',
  'update-template': 'tenant.template_updated',
};

/**
 * Finish: the operation succeeded. The event is published before the registry is updated, so a
 * crash in between re-publishes it on resume (at-least-once; consumers dedupe on operationId)
 * instead of losing it.
 */
export const finish: HandlerOf<'Finish'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  if (operation.status === 'SUCCEEDED' || operation.status === 'FAILED') return { already: operation.status };
  const patch: TenantPatch = {};
  if (operation.type === 'change-tier') {
    const target = tierFor(deps, scope, 'target');
    patch.tier = target.name;
    patch.isolation = target.isolation;
  }
  if (operation.type === 'offboard') patch.offboardedAt = deps.clock().toISOString();
  if (operation.type === 'update') Object.assign(patch, updateOf(operation.input));
  await deps.events.publish({
    type: SUCCESS_EVENTS[operation.type],
    tenantId: tenant.tenantId,
    operationId: operation.operationId,
    data: {
      tier: patch.tier ?? tenant.tier,
      isolation: patch.isolation ?? tenant.isolation,
      stacks: tenant.stacks.map((s) => s.arn),
      outputs: tenant.outputs,
    },
  });
  const ended = await deps.registry.finishOperation({
    operationId: operation.operationId,
    outcome: 'succeeded',
    patch,
    scope,
    step: { name: input.step, startedAt: deps.clock().toISOString() },
  });
  deps.onFinished?.(ended.operation);
  return { state: 'done' };
};

/** The error Step Functions caught: `{ Error, Cause }`, Cause plain (local) or Lambda's JSON. */
function caughtError(
  state: Record<string, unknown> | undefined,
  key: string,
): { code: string; message: string } | undefined {
  const caught = state?.[key] as { Error?: string; Cause?: string } | undefined;
  if (!caught?.Error) return undefined;
  let message = caught.Cause ?? caught.Error;
  try {
    const parsed = JSON.parse(message) as { errorMessage?: string };
    if (parsed && typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // a plain message
  }
  return { code: caught.Error, message };
}

/** Every undo step that failed, as the compensation chain caught them (`$.undoErrors.<step>`). */
function undoFailures(
  state: Record<string, unknown> | undefined,
): { step: string; code: string; message: string }[] {
  const caught = (state?.undoErrors ?? {}) as Record<string, unknown>;
  return Object.keys(caught).flatMap((step) => {
    const error = caughtError(caught, step);
    return error ? [{ step, ...error }] : [];
  });
}

/**
 * RecordFailure: the operation failed. `rolled-back` when compensation undid everything (the tenant
 * returns to where it was, or FAILED for an onboarding), `failed` otherwise. lastError names the
 * step that failed first and its reason (never an undo step), and lists every undo step that failed.
 */
export const recordFailure: HandlerOf<'RecordFailure'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  if (operation.status === 'SUCCEEDED' || operation.status === 'FAILED') return { already: operation.status };
  const original = caughtError(input.state, 'error');
  const undoFailed = undoFailures(input.state);
  const undoSteps = new Set(undoFailed.map((u) => u.step));
  const failedStep = [...operation.steps]
    .reverse()
    .find((s) => s.status === 'FAILED' && !undoSteps.has(s.name));
  const cause = original ??
    undoFailed[0] ?? { code: 'WORKFLOW_FAILED', message: 'the workflow failed without an error' };
  const stepName = failedStep?.name ?? 'unknown step';
  const undoText = undoFailed.map((u) => `${u.step} (${u.message})`).join(', ');
  const error: ErrorInfo = {
    code: cause.code.startsWith('States.') ? 'WORKFLOW_FAILED' : cause.code,
    message: `${stepName}: ${cause.message}${undoFailed.length ? `; undo steps failed: ${undoText}` : ''}`,
    step: stepName,
    ...(undoFailed.length ? { undoFailed } : {}),
  };
  // Cancelled before its first step did anything: nothing to undo, the tenant goes back.
  const cancelledAtStart = cause.code === 'OPERATION_CANCELLED' && stepName === 'Begin';
  const outcome =
    (input.args.outcome === 'rolled-back' || cancelledAtStart) && undoFailed.length === 0
      ? 'rolled-back'
      : 'failed';
  await deps.events.publish({
    type: operation.type === 'onboard' ? 'tenant.onboarding_failed' : 'tenant.operation_failed',
    tenantId: tenant.tenantId,
    operationId: operation.operationId,
    data: { operation: operation.type, step: stepName, error, compensated: outcome === 'rolled-back' },
  });
  const ended = await deps.registry.finishOperation({
    operationId: operation.operationId,
    outcome,
    error,
    scope,
    step: { name: input.step, startedAt: deps.clock().toISOString() },
  });
  deps.onFinished?.(ended.operation);
  return { outcome };
};

/**
 * CompensateOnboard: undo a half-done onboarding in reverse order of creation: subscription, API
 * key, users, group, then the stack (polled until gone), then the vended account. Every part runs even when
 * another failed ("already gone" counts as done); the failures are reported together at the end.
 * The billing customer stays (with no subscription it is never charged).
 */
export const compensateOnboard: HandlerOf<'CompensateOnboard'> = async (input, deps): Promise<PollResult> => {
  const { tenant } = await loadScope(deps, input);
  const failures: string[] = [];
  const attempt = async <T>(part: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (e) {
      failures.push(`${part}: ${toTaskError(e).message}`);
      return undefined;
    }
  };
  await attempt('subscription', () => cancelSubscriptionForCompensation(deps, input));
  await attempt('api key', () => deleteApiKeyOf(deps, tenant));
  await attempt('users and group', () => deleteIdentityOf(deps, tenant));
  const stacks = (await attempt('stacks', () => retireStacks({ ...input, args: { role: 'all' } }, deps))) as
    | PollResult
    | undefined;
  if (stacks && !stacks.done) return stacks;
  // Last: the account the onboarding vended, once nothing runs in it (left open when a stack is stuck).
  if (stacks) await attempt('account', () => closeAccount({ ...input, args: {} }, deps));
  if (failures.length)
    throw new ControlPlaneError('WORKFLOW_FAILED', `compensation left things behind: ${failures.join('; ')}`);
  return { done: true, detail: 'nothing left behind' };
};

/** Throws unless the operation is of the expected type; guards handlers shared by several machines. */
export function requireType(actual: OperationType, ...allowed: OperationType[]): void {
  if (!allowed.includes(actual))
    throw new ControlPlaneError('WORKFLOW_FAILED', `step not valid for a ${actual} operation`);
}

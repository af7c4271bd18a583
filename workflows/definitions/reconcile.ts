import { type AslDefinition, RETRY, TASK_FUNCTION_PLACEHOLDER } from './builder.js';

/**
 * The reconcile machine (AWS; EventBridge Scheduler starts it, control-plane/infra): the task
 * function compares one page of tenants per call (`{ reconcile: { runId?, cursor? } }`, answering
 * `{ runId, cursor?, done }`), looped until the last page, which also lists orphans. Not an
 * operation: it changes nothing, so it has no failure ending; a failed run is recorded by the run
 * itself (GET /v1/reconcile/{runId}) and the execution fails with the task's error.
 */
export function reconcileDefinition(): AslDefinition {
  return {
    Comment: 'Reconcile the registry with AWS, one page of tenants per task call.',
    StartAt: 'ReconcilePage',
    TimeoutSeconds: 6 * 3600,
    States: {
      ReconcilePage: {
        Type: 'Task',
        Resource: TASK_FUNCTION_PLACEHOLDER,
        Parameters: { 'reconcile.$': '$' },
        ResultPath: '$',
        TimeoutSeconds: 120,
        Retry: RETRY,
        Next: 'MorePages?',
      },
      'MorePages?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.done', BooleanEquals: true, Next: 'Reconciled' }],
        Default: 'ReconcilePage',
      },
      Reconciled: { Type: 'Succeed' },
    },
  };
}

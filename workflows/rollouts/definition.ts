import { type AslDefinition, RETRY, TASK_FUNCTION_PLACEHOLDER } from '../definitions/builder.js';

/**
 * The rollout state machine: plan a wave, run it as a Distributed Map over its tenants, plan
 * again, until the record says the rollout ended, paused or finished. Everything the machine
 * decides comes from the registry (RolloutPlanWave), so a resumed or restarted execution picks up
 * where the last one stopped, and a tenant already updated is never updated again.
 *
 * On Step Functions the Map runs DISTRIBUTED (one child execution per tenant, MaxConcurrency and
 * ToleratedFailureCount from the plan). The embedded engine (aws-local-stepfunctions) runs the
 * same text as an inline Map with the same MaxConcurrency; it ignores ProcessorConfig and the
 * tolerated-failure fields, which is why the definition never relies on them: every item ends
 * successfully (a caught error is a Pass), and the strict failure budget is enforced by each
 * item's admission in the registry, stricter than ToleratedFailureCount (which only fails the Map
 * after the fact), on both engines alike.
 */

export const ROLLOUT_TASKS = ['RolloutBegin', 'RolloutPlanWave', 'RolloutTenant'] as const;
export type RolloutTaskName = (typeof ROLLOUT_TASKS)[number];
export const isRolloutTask = (task: unknown): task is RolloutTaskName =>
  (ROLLOUT_TASKS as readonly unknown[]).includes(task);

function task(
  name: RolloutTaskName,
  extra: Record<string, unknown>,
  next: string | undefined,
  resultPath: string | null,
) {
  return {
    Type: 'Task',
    Resource: TASK_FUNCTION_PLACEHOLDER,
    Parameters: {
      task: name,
      'rolloutId.$': '$.rolloutId',
      'pollSeconds.$': '$.pollSeconds',
      ...extra,
    },
    ResultPath: resultPath,
    TimeoutSeconds: 120,
    Retry: RETRY,
    ...(next ? { Next: next } : { End: true }),
  };
}

export function rolloutDefinition(): AslDefinition {
  const item = {
    ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
    StartAt: 'UpdateTenant',
    States: {
      UpdateTenant: {
        ...task(
          'RolloutTenant',
          { 'tenantId.$': '$.tenantId', 'wave.$': '$.wave', 'pass.$': '$.pass', 'targets.$': '$.targets' },
          'UpdateTenant: done?',
          '$.poll',
        ),
        // An item never fails the Map: its tenant stays `running` and the next pass polls it again.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ItemError' }],
      },
      'UpdateTenant: done?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.poll.done', BooleanEquals: true, Next: 'ItemDone' }],
        Default: 'UpdateTenant: wait',
      },
      'UpdateTenant: wait': { Type: 'Wait', SecondsPath: '$.poll.waitSeconds', Next: 'UpdateTenant' },
      ItemDone: { Type: 'Succeed' },
      ItemError: { Type: 'Pass', Result: { done: true, outcome: 'error' }, End: true },
    },
  };
  return {
    Comment:
      'Roll a template version out to tenant stacks in waves, with a canary and a strict failure budget.',
    StartAt: 'Begin',
    TimeoutSeconds: 14 * 24 * 3600,
    States: {
      Begin: task('RolloutBegin', {}, 'PlanWave', null),
      PlanWave: task('RolloutPlanWave', {}, 'Next?', '$.plan'),
      'Next?': {
        Type: 'Choice',
        Choices: [
          { Variable: '$.plan.next', StringEquals: 'run', Next: 'RunWave' },
          { Variable: '$.plan.next', StringEquals: 'wait', Next: 'Bake' },
        ],
        Default: 'Done',
      },
      Bake: { Type: 'Wait', SecondsPath: '$.plan.waitSeconds', Next: 'PlanWave' },
      RunWave: {
        Type: 'Map',
        ItemsPath: '$.plan.items',
        ItemSelector: {
          'rolloutId.$': '$.rolloutId',
          'pollSeconds.$': '$.pollSeconds',
          'tenantId.$': '$$.Map.Item.Value',
          // What every item of the pass shares, so an item need not read the record for it.
          'wave.$': '$.plan.wave',
          'pass.$': '$.plan.pass',
          'targets.$': '$.plan.targets',
        },
        MaxConcurrencyPath: '$.plan.maxConcurrency',
        ToleratedFailureCountPath: '$.plan.toleratedFailures',
        ItemProcessor: item,
        ResultPath: null,
        Next: 'PlanWave',
      },
      Done: { Type: 'Succeed' },
    },
  };
}

/** The definition as deployed (CDK's DefinitionString; `${TaskFunctionArn}` substituted by CloudFormation). */
export function rolloutDefinitionText(): string {
  return JSON.stringify(rolloutDefinition(), null, 2);
}

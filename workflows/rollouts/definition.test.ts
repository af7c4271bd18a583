import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { aslValidator, TEST_TASK_ARN } from '../../test/support/asl.js';
import { substitute, TASK_FUNCTION_PLACEHOLDER } from '../definitions/index.js';
import { ROLLOUT_TASKS, rolloutDefinition } from './definition.js';

const TASK_ARN = TEST_TASK_ARN;

const def = rolloutDefinition();
const text = substitute(JSON.stringify(def), TASK_ARN);
const map = def.States.RunWave as Record<string, unknown> & {
  ItemProcessor: { ProcessorConfig: Record<string, string>; States: Record<string, Record<string, unknown>> };
};
const allStates = { ...def.States, ...map.ItemProcessor.States };

describe('rollout definition', () => {
  it('is accepted by asl-validator, as Step Functions receives it', () => {
    expect(text).not.toContain(TASK_FUNCTION_PLACEHOLDER);
    const result = aslValidator(JSON.parse(text), { checkPaths: true, checkArn: true });
    expect(result.isValid, result.errorsText('\n')).toBe(true);
  });

  it('runs each wave as a Distributed Map with the plan’s concurrency and tolerated failures', () => {
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.MaxConcurrencyPath).toBe('$.plan.maxConcurrency');
    expect(map.ToleratedFailureCountPath).toBe('$.plan.toleratedFailures');
  });

  it('never lets an item fail the Map: every item error is caught (the budget lives in the registry)', () => {
    const update = map.ItemProcessor.States.UpdateTenant!;
    expect(update.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ItemError' }]);
  });

  it('names only rollout tasks, each used, and every transition lands on a state', () => {
    const tasks = Object.values(allStates)
      .filter((s) => s.Type === 'Task')
      .map((s) => (s.Parameters as { task: string }).task);
    expect([...new Set(tasks)].sort()).toEqual([...ROLLOUT_TASKS].sort());
    for (const [name, s] of Object.entries(allStates)) {
      const targets = [
        s.Next,
        s.Default,
        ...((s.Choices as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
        ...((s.Catch as { Next: string }[] | undefined) ?? []).map((c) => c.Next),
      ].filter((x): x is string => typeof x === 'string');
      for (const t of targets) expect(allStates[t as keyof typeof allStates], `${name} → ${t}`).toBeDefined();
    }
  });

  it('runs on the embedded engine: a wave’s items at most maxConcurrency at once, then the next plan', async () => {
    const machine = new StateMachine(JSON.parse(text), {
      validationOptions: { checkPaths: true, checkArn: true },
    });
    const plans = [
      {
        next: 'run',
        items: ['a', 'b', 'c', 'd'],
        maxConcurrency: 2,
        toleratedFailures: 0,
        wave: 0,
        pass: 1,
        targets: { pool: 'v2' },
      },
      { next: 'wait', waitSeconds: 1 },
      { next: 'end' },
    ];
    let running = 0;
    let peak = 0;
    const seen: string[] = [];
    const execution = machine.run(
      { rolloutId: 'ro_x', pollSeconds: 1 },
      {
        overrides: {
          taskResourceLocalHandlers: {
            Begin: async () => ({}),
            PlanWave: async () => plans.shift(),
            UpdateTenant: async (input: {
              tenantId: string;
              wave: number;
              pass: number;
              targets: object;
            }) => {
              // Every item gets the pass's shared facts from the plan, not from the record.
              expect([input.wave, input.pass, input.targets]).toEqual([0, 1, { pool: 'v2' }]);
              running += 1;
              peak = Math.max(peak, running);
              await new Promise((r) => setImmediate(r));
              running -= 1;
              seen.push(input.tenantId);
              if (input.tenantId === 'c') throw new Error('boom');
              return { done: true, waitSeconds: 1 };
            },
          } as never,
          waitTimeOverrides: { Bake: 1, 'UpdateTenant: wait': 1 },
        },
      },
    );
    await execution.result;
    expect(seen.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(peak).toBe(2);
    expect(plans).toEqual([]);
  });
});

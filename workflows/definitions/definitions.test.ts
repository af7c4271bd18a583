import { describe, expect, it } from 'vitest';
import { OPERATION_TYPES } from '../../core/lifecycle.js';
import { aslValidator, TEST_TASK_ARN } from '../../test/support/asl.js';
import { checkTaskArgs, isTaskName, TASK_NAMES } from '../tasks/contract.js';
import { createTaskRunner, TASK_HANDLERS, type TaskDeps, type TaskInput } from '../tasks/index.js';
import {
  type AslDefinition,
  type AslState,
  Flow,
  TASK_FUNCTION_PLACEHOLDER,
  TRANSIENT_ERRORS,
} from './builder.js';
import { reconcileDefinition, substitute, workflowDefinitions } from './index.js';

/**
 * The contract between the state machines and the task handlers, checked on every definition
 * without AWS: each Task state names a handler and passes args its schema accepts, every transition
 * lands on a state, every state is reachable and can reach an end, and asl-validator accepts the
 * text Step Functions receives.
 */

const TASK_ARN = TEST_TASK_ARN;
const definitions = Object.entries(workflowDefinitions()) as [string, AslDefinition][];

interface TaskParameters {
  readonly task: string;
  readonly step: string;
  readonly args: unknown;
  readonly poll: boolean;
  readonly 'operationId.$': string;
  readonly 'tenantId.$': string;
}

const tasksOf = (def: AslDefinition) =>
  Object.entries(def.States)
    .filter(([, s]) => s.Type === 'Task')
    .map(([name, s]) => ({ name, state: s, params: s.Parameters as TaskParameters }));

/** Every state a state can go to next: Next, Default, each Choice's and each Catch's Next. */
function targetsOf(state: AslState): string[] {
  const out: string[] = [];
  if (typeof state.Next === 'string') out.push(state.Next);
  if (typeof state.Default === 'string') out.push(state.Default);
  for (const c of (state.Choices as { Next: string }[] | undefined) ?? []) out.push(c.Next);
  for (const c of (state.Catch as { Next: string }[] | undefined) ?? []) out.push(c.Next);
  return out;
}

const isTerminal = (state: AslState) =>
  state.End === true || state.Type === 'Fail' || state.Type === 'Succeed';

function reachableFrom(def: AslDefinition, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name) || !def.States[name]) continue;
    seen.add(name);
    queue.push(...targetsOf(def.States[name]));
  }
  return seen;
}

describe('workflow definitions', () => {
  it('cover every operation type', () => {
    expect(definitions.map(([type]) => type).sort()).toEqual([...OPERATION_TYPES].sort());
  });

  it('TASK_HANDLERS has exactly the tasks of the contract', () => {
    expect(Object.keys(TASK_HANDLERS).sort()).toEqual([...TASK_NAMES].sort());
    for (const name of TASK_NAMES) expect(typeof TASK_HANDLERS[name], name).toBe('function');
  });

  it('every task of the contract is used by some definition (no dead handler)', () => {
    const used = new Set(definitions.flatMap(([, def]) => tasksOf(def).map((t) => t.params.task)));
    expect(TASK_NAMES.filter((n) => !used.has(n))).toEqual([]);
  });

  describe.each(definitions)('%s', (_type, def) => {
    it('is accepted by asl-validator, as Step Functions receives it', () => {
      const text = substitute(JSON.stringify(def), TASK_ARN);
      expect(text).not.toContain(TASK_FUNCTION_PLACEHOLDER);
      const result = aslValidator(JSON.parse(text), { checkPaths: true, checkArn: true });
      expect(result.isValid, result.errorsText('\n')).toBe(true);
    });

    it('names a known handler in every Task state, with args its schema accepts', () => {
      const tasks = tasksOf(def);
      expect(tasks.length).toBeGreaterThan(0);
      for (const { name, state, params } of tasks) {
        expect(state.Resource, name).toBe(TASK_FUNCTION_PLACEHOLDER);
        expect(isTaskName(params.task), `${name} names task ${params.task}`).toBe(true);
        if (!isTaskName(params.task)) continue;
        expect(TASK_HANDLERS[params.task], name).toBeTypeOf('function');
        const check = checkTaskArgs(params.task, params.args);
        expect(check.ok, `${name}: ${check.ok ? '' : check.message}`).toBe(true);
        expect(params.step, name).toBe(name);
        expect(params['operationId.$']).toBe('$.operationId');
        expect(params['tenantId.$']).toBe('$.tenantId');
      }
    });

    it("has the real task runner refuse any Task state's args with a key its task does not know", async () => {
      const failed: string[] = [];
      // Only the step's failure may be written: a handler that ran would reach for more than this.
      const registry = {
        stepEnded: async (_op: string, step: string, status: string, error?: { code: string }) => {
          failed.push(`${step} ${status} ${error?.code}`);
        },
      };
      const run = createTaskRunner({ registry, clock: () => new Date() } as unknown as TaskDeps);
      for (const { name, params } of tasksOf(def)) {
        const input = {
          ...params,
          operationId: 'op_1',
          tenantId: 't_1',
          args: { ...(params.args as object), unexpected: true },
        } as unknown as TaskInput;
        await expect(run(input), name).rejects.toMatchObject({
          name: 'TASK_ARGS_INVALID',
          message: expect.stringContaining('Unrecognized key: "unexpected"'),
        });
      }
      expect(failed).toEqual(tasksOf(def).map((t) => `${t.name} FAILED TASK_ARGS_INVALID`));
    });

    it('retries the transient errors in every Task and catches every failure before the failure ending', () => {
      for (const { name, state, params } of tasksOf(def)) {
        const retried = (state.Retry as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
        expect(retried, name).toEqual(expect.arrayContaining(['AWS_THROTTLED', 'AWS_TRANSIENT']));
        // A bad argument is a definition bug: retrying it would only fail again.
        expect(retried, name).not.toContain('TASK_ARGS_INVALID');
        if (params.task === 'RecordFailure') {
          // It reads the caught error (and the compensation's) from the whole execution state.
          expect(params, name).toMatchObject({ 'state.$': '$' });
          continue;
        }
        const caught = (state.Catch as { ErrorEquals: string[] }[] | undefined) ?? [];
        expect(
          caught.some((c) => c.ErrorEquals.includes('States.ALL')),
          `${name} catches States.ALL`,
        ).toBe(true);
      }
    });

    it('sends every transition to a state that exists', () => {
      expect(def.States[def.StartAt], def.StartAt).toBeDefined();
      for (const [name, state] of Object.entries(def.States)) {
        const targets = targetsOf(state);
        if (!isTerminal(state)) expect(targets.length, `${name} goes nowhere`).toBeGreaterThan(0);
        for (const target of targets) expect(def.States[target], `${name} → ${target}`).toBeDefined();
      }
    });

    it('reaches every state from StartAt, and an end from every state', () => {
      const reachable = reachableFrom(def, def.StartAt);
      expect(Object.keys(def.States).filter((s) => !reachable.has(s))).toEqual([]);
      for (const name of Object.keys(def.States)) {
        const ends = [...reachableFrom(def, name)].filter((s) => isTerminal(def.States[s]!));
        expect(ends.length, `${name} can reach an end`).toBeGreaterThan(0);
      }
    });

    it('loops every polled Task through a done? Choice and a Wait back to itself', () => {
      for (const { name, state, params } of tasksOf(def).filter((t) => t.params.poll)) {
        expect(state.ResultPath, name).toBe('$.poll');
        const choice = def.States[state.Next as string]!;
        expect(choice.Type, name).toBe('Choice');
        expect(choice.Choices).toEqual([
          expect.objectContaining({ Variable: '$.poll.done', BooleanEquals: true }),
        ]);
        const wait = def.States[choice.Default as string]!;
        expect(wait).toEqual({ Type: 'Wait', SecondsPath: '$.poll.waitSeconds', Next: name });
        expect(params.task).toBeTruthy();
      }
    });
  });
});

describe('the reconcile machine', () => {
  it('is accepted by asl-validator and loops its page task until done', () => {
    const def = reconcileDefinition();
    const result = aslValidator(JSON.parse(substitute(JSON.stringify(def), TASK_ARN)), {
      checkPaths: true,
      checkArn: true,
    });
    expect(result.isValid, result.errorsText('\n')).toBe(true);
    expect(def.States.ReconcilePage).toMatchObject({
      Parameters: { 'reconcile.$': '$' },
      Next: 'MorePages?',
    });
    expect(def.States['MorePages?']).toMatchObject({ Default: 'ReconcilePage' });
    expect(reachableFrom(def, def.StartAt)).toEqual(new Set(Object.keys(def.States)));
  });
});

describe('the builder', () => {
  it('writes the task, its args and the shared Retry into a Task state', () => {
    const def = new Flow()
      .task('Start', 'Stop', { task: 'SetUsersEnabled', args: { enabled: false }, catchTo: 'Stop' })
      .fail('Stop', 'X', 'y')
      .build('test', 'Start');
    const start = def.States.Start!;
    expect(start.Parameters).toMatchObject({
      task: 'SetUsersEnabled',
      step: 'Start',
      args: { enabled: false },
    });
    expect((start.Retry as { ErrorEquals: string[] }[])[0]!.ErrorEquals).toEqual(TRANSIENT_ERRORS);
    expect(start.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Stop' }]);
  });

  it('chains undo steps so that each runs whatever became of the one before', () => {
    const def = new Flow()
      .undo('UndoA', 'UndoB', { task: 'SetApiKeyEnabled', args: { enabled: true } })
      .undo('UndoB', 'End', { task: 'SetDatabaseRunning', args: { running: true }, poll: true })
      .fail('End', 'X', 'y')
      .build('test', 'UndoA');
    expect(def.States.UndoA).toMatchObject({
      Next: 'UndoB',
      Parameters: { undo: true },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.undoErrors.UndoA', Next: 'UndoB' }],
    });
    expect(def.States.UndoB).toMatchObject({
      Next: 'UndoB: done?',
      Parameters: { undo: true, poll: true },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.undoErrors.UndoB', Next: 'End' }],
    });
    expect(() => new Flow().undo('Undo B', 'End', { task: 'Finish' })).toThrow(/letters and digits/);
  });

  it('sends every undo step of every definition on to the next one, never to the failure ending', () => {
    for (const [type, def] of definitions) {
      for (const { name, state, params } of tasksOf(def)) {
        if (!(params as { undo?: boolean }).undo) continue;
        const caught = (state.Catch as { Next: string; ResultPath: string }[])[0]!;
        expect(caught.ResultPath, `${type} ${name}`).toBe(`$.undoErrors.${name}`);
        const onward = params.poll
          ? (def.States[state.Next as string]!.Choices as { Next: string }[])[0]!.Next
          : state.Next;
        expect(caught.Next, `${type} ${name}`).toBe(onward);
        expect(caught.Next, `${type} ${name}`).not.toBe('RecordFailure');
      }
    }
  });

  it('only takes TaskNames and their args (checked by the type checker)', () => {
    const flow = new Flow();
    // @ts-expect-error an unknown task named by its state
    flow.task('NoSuchTask', undefined);
    // @ts-expect-error an unknown task named in the options
    flow.task('Step', undefined, { task: 'EnsureStackk' });
    // @ts-expect-error a role RetireStacks does not accept
    flow.poll('Retire', 'Next', { task: 'RetireStacks', args: { role: 'everything' } });
    // @ts-expect-error SetUsersEnabled requires its args
    flow.task('SetUsersEnabled', undefined);
    // @ts-expect-error Finish takes no args
    flow.task('Finish', undefined, { args: { extra: 1 } });
    flow.task('Finish', undefined);
    flow.task('Erase', undefined, { task: 'EraseTenantData', args: { after: 'copy' } });
    expect(Object.keys(flow.states)).toEqual([
      'NoSuchTask',
      'Step',
      'Retire',
      'Retire: done?',
      'Retire: wait',
      'SetUsersEnabled',
      'Finish',
      'Erase',
    ]);
  });
});

/**
 * A small builder for the lifecycle state machines (Amazon States Language). Every Task state has
 * the same shape, so one Lambda (AWS) or one local dispatcher (embedded engine) serves them all:
 *
 *   Resource   ${TaskFunctionArn}             substituted at deploy time (CDK DefinitionSubstitutions)
 *   Parameters { task, step, operationId.$, tenantId.$, args }
 *
 * Long waits (stack creation, the migration hand-off) are Task → Choice → Wait loops, never a
 * sleeping task: a Lambda may run 15 minutes, an RDS instance takes longer.
 */

import type { TaskArgsInput, TaskName } from '../tasks/contract.js';

export const TASK_FUNCTION_PLACEHOLDER = '${TaskFunctionArn}';

export type AslState = Record<string, unknown>;
export interface AslDefinition {
  readonly Comment: string;
  readonly StartAt: string;
  readonly TimeoutSeconds?: number;
  readonly States: Record<string, AslState>;
}

/** Errors worth retrying: AWS (and billing provider) throttling, 5xx, timeouts, and Lambda's own transient faults. */
export const TRANSIENT_ERRORS = [
  'AWS_TRANSIENT',
  'AWS_THROTTLED',
  'BILLING_UNAVAILABLE',
  'States.Timeout',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

export const RETRY = [
  {
    ErrorEquals: TRANSIENT_ERRORS,
    IntervalSeconds: 2,
    MaxAttempts: 6,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: 'FULL',
  },
];

/** Where a Task state's failure goes and what it sees of the execution state. */
export interface StateOptions {
  /** Where a failure goes (Catch States.ALL); none = the execution fails. */
  readonly catchTo?: string;
  /** Catch ResultPath; `$.error` by default. */
  readonly errorPath?: string;
  /** Pass the whole state (with `error` / `undoErrors` when caught) to the handler. */
  readonly withError?: boolean;
}

/** The args of task `K`, required when its schema requires any (workflows/tasks/contract.ts). */
type ArgsOption<K extends TaskName> =
  Record<string, never> extends TaskArgsInput<K>
    ? { readonly args?: TaskArgsInput<K> }
    : { readonly args: TaskArgsInput<K> };

/** A Task state running task `K` (a handler of the contract) under another state name. */
export type TaskOptions<K extends TaskName> = StateOptions & { readonly task: K } & ArgsOption<K>;

/** A Task state named after its task. */
export type SameNameOptions<K extends TaskName> = StateOptions & {
  readonly task?: undefined;
} & ArgsOption<K>;

/** The options of a Task state named after its task: optional unless its task requires args. */
type SameNameRest<K extends TaskName> =
  Record<string, never> extends TaskArgsInput<K> ? [o?: SameNameOptions<K>] : [o: SameNameOptions<K>];

interface AnyTaskOptions extends StateOptions {
  readonly task?: TaskName;
  readonly args?: object;
  /** A compensation step (see Flow.undo): the runner counts a NotFound answer as done. */
  readonly undo?: boolean;
}

/** Where an undo step's failure is kept for RecordFailure: `$.undoErrors.<step>`. */
export const UNDO_ERRORS_PATH = '$.undoErrors';

export class Flow {
  readonly states: Record<string, AslState> = {};

  private taskState(
    step: string,
    next: string | undefined,
    o: AnyTaskOptions,
    resultPath: string | null,
    poll = false,
  ): AslState {
    const state: AslState = {
      Type: 'Task',
      Resource: TASK_FUNCTION_PLACEHOLDER,
      Parameters: {
        task: o.task ?? step,
        step,
        'operationId.$': '$.operationId',
        'tenantId.$': '$.tenantId',
        'pollSeconds.$': '$.pollSeconds',
        args: o.args ?? {},
        // Polled tasks record their step at the first call and on each new detail.
        poll,
        ...(o.undo ? { undo: true } : {}),
        // The whole state, not `$.error`: a path to a missing field fails the state on AWS.
        ...(o.withError ? { 'state.$': '$' } : {}),
      },
      ResultPath: resultPath,
      TimeoutSeconds: 120,
      Retry: RETRY,
    };
    if (o.catchTo)
      state.Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: o.errorPath ?? '$.error', Next: o.catchTo }];
    if (next) state.Next = next;
    else state.End = true;
    return state;
  }

  /**
   * A task that runs once; its result is discarded (handlers record what they did in the registry).
   * The task is `o.task`, or the state's own name, and either must be a TaskName.
   */
  task<K extends TaskName>(step: string, next: string | undefined, o: TaskOptions<K>): this;
  task<K extends TaskName>(step: K, next: string | undefined, ...o: SameNameRest<K>): this;
  task(step: string, next: string | undefined, o: AnyTaskOptions = {}): this {
    this.states[step] = this.taskState(step, next, o, null);
    return this;
  }

  /** A task whose result lands at `resultPath` for a following Choice. */
  taskWithResult<K extends TaskName>(step: string, resultPath: string, next: string, o: TaskOptions<K>): this;
  taskWithResult<K extends TaskName>(step: K, resultPath: string, next: string, ...o: SameNameRest<K>): this;
  taskWithResult(step: string, resultPath: string, next: string, o: AnyTaskOptions = {}): this {
    this.states[step] = this.taskState(step, next, o, resultPath);
    return this;
  }

  /**
   * A task called until it answers `{ done: true }`, with a Wait of `$.poll.waitSeconds` between calls:
   *   <step> → <step>: done? → (yes) next | (no) <step>: wait → <step>
   */
  poll<K extends TaskName>(step: string, next: string, o: TaskOptions<K>): this;
  poll<K extends TaskName>(step: K, next: string, ...o: SameNameRest<K>): this;
  poll(step: string, next: string, o: AnyTaskOptions = {}): this {
    const choice = `${step}: done?`;
    const wait = `${step}: wait`;
    this.states[step] = this.taskState(step, choice, o, '$.poll', true);
    this.states[choice] = {
      Type: 'Choice',
      Choices: [{ Variable: '$.poll.done', BooleanEquals: true, Next: next }],
      Default: wait,
    };
    // The task says how long to wait (its backoff): seconds, as Step Functions requires.
    this.states[wait] = { Type: 'Wait', SecondsPath: '$.poll.waitSeconds', Next: step };
    return this;
  }

  /**
   * One step of a compensation chain. Whatever becomes of it, the chain goes on to `next`: a
   * failure is caught into `$.undoErrors.<step>` (RecordFailure lists them), so every undo step runs
   * even when another one failed. The runner counts a NotFound answer as done (`undo: true`): what
   * it would undo is gone already.
   */
  undo<K extends TaskName>(
    step: string,
    next: string,
    o: TaskOptions<K> & { readonly poll?: boolean },
  ): this {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(step))
      throw new Error(`undo step name ${step} must be letters and digits (it is a JSONPath key)`);
    const options: AnyTaskOptions = {
      ...o,
      undo: true,
      catchTo: next,
      errorPath: `${UNDO_ERRORS_PATH}.${step}`,
    };
    if (!o.poll) {
      this.states[step] = this.taskState(step, next, options, null);
      return this;
    }
    return this.poll(step, next, options as TaskOptions<K>);
  }

  choice(name: string, variable: string, whenTrue: string, otherwise: string): this {
    this.states[name] = {
      Type: 'Choice',
      Choices: [{ Variable: variable, BooleanEquals: true, Next: whenTrue }],
      Default: otherwise,
    };
    return this;
  }

  /**
   * The ending every machine shares: RecordRollback (compensation undid everything; only when the
   * machine compensates), RecordFailure, then the Fail state, so the execution's status is truthful.
   */
  failureEnding(options: { rollback: boolean }): this {
    if (options.rollback) {
      this.task('RecordRollback', 'Failed', {
        task: 'RecordFailure',
        args: { outcome: 'rolled-back' },
        withError: true,
      });
    }
    return this.task('RecordFailure', 'Failed', { args: { outcome: 'failed' }, withError: true }).fail(
      'Failed',
      'OperationFailed',
      'see the operation record for the failing step and reason',
    );
  }

  fail(name: string, error: string, cause: string): this {
    this.states[name] = { Type: 'Fail', Error: error, Cause: cause };
    return this;
  }

  build(comment: string, startAt: string): AslDefinition {
    // Two weeks at most: the migration hand-off has its own, shorter, timeout.
    return { Comment: comment, StartAt: startAt, TimeoutSeconds: 14 * 24 * 3600, States: this.states };
  }
}

/** Every state (name, definition), branches included. */
export function allStates(def: AslDefinition): [string, AslState][] {
  return Object.entries(def.States);
}

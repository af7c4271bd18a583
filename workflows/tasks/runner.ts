import { backoffDelay, backoffSeconds, sleep } from '../../core/backoff.js';
import { describeError } from '../../core/errors.js';
import type { HandlerOf, StepCall, StepChange, TaskDeps, TaskInput, TaskResult } from './context.js';
import { depsInRegion, isGone, TaskError, toTaskError } from './context.js';
import { checkTaskArgs, isTaskName, TASK_NAMES, type TaskName } from './contract.js';

/** One handler per task of the contract, each receiving its own task's validated args. */
export type TaskHandlers = { readonly [K in TaskName]: HandlerOf<K> };

export interface TaskRunnerHooks {
  /** Called before each task runs; tests use it to crash the engine at a chosen step. */
  readonly beforeTask?: (input: TaskInput) => void | Promise<void>;
}

export type TaskRunner = (input: TaskInput) => Promise<TaskResult>;

export interface TaskRunnerOptions {
  /**
   * Local engine: its Wait states run a fixed interval (`baseMs`), so the rest of the backoff is
   * slept here, before a pending answer returns. On Step Functions the Wait itself backs off
   * (`waitSeconds`).
   */
  readonly localBackoff?: { readonly baseMs: number };
  /** The backoff's jitter source, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** How the local backoff waits. @default core/backoff.ts `sleep` */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The deps a tenant's step runs with: its region's clients and platform (deployed there on first
 * use, under the operation's lease). A tenant's region never changes, so it is read once per
 * tenant and process; a tenant not found (yet) is at home.
 */
function regionalDeps(deps: TaskDeps): (input: TaskInput) => Promise<TaskDeps> {
  const { regions } = deps;
  if (!regions) return async () => deps;
  const regionOf = new Map<string, string>();
  return async (input) => {
    let region = regionOf.get(input.tenantId);
    if (region === undefined) {
      const tenant = await deps.registry.getTenant(input.tenantId);
      region = tenant?.region || regions.home;
      // Bounded: a long-lived process that has seen many tenants reads one again, harmlessly.
      if (regionOf.size >= 10_000) regionOf.clear();
      if (tenant) regionOf.set(input.tenantId, region);
    }
    return depsInRegion(deps, region, `${input.operationId}/platform`);
  };
}

/**
 * The single entry point of every Task state, on both engines (a Lambda handler on AWS, the local
 * executor's override here). Checks the task's name and args against the contract (./contract.ts)
 * before its handler runs, records each step on the operation with as few writes as it can (one
 * for a quick step, one at a polled step's start, one per new detail, one at its end), backs a
 * pending polled step off with the one backoff (core/backoff.ts), and turns every failure into a
 * TaskError named by its catalogue code.
 */
export function createTaskRunnerWith(
  handlers: TaskHandlers,
  deps: TaskDeps,
  hooks: TaskRunnerHooks = {},
  options: TaskRunnerOptions = {},
): TaskRunner {
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? sleep;
  const regional = regionalDeps(deps);
  // Which polled steps this process has recorded as started, their last detail written and how
  // many pending answers in a row they gave. Lost on restart or in a new Lambda container: then a
  // step is written once more and its backoff starts over, harmlessly.
  const polled = new Map<
    string,
    {
      detail?: string | undefined;
      pending: number;
      startedAt?: string | undefined;
      /** When this process first called the step (ms): how long it has been waited on here. */
      firstCallMs: number;
    }
  >();

  /** Tells the live watchers (long polls, event stream) that a step changed; never fails the step. */
  const announce = (input: TaskInput, change: Omit<StepChange, 'operationId' | 'tenantId' | 'step'>) => {
    try {
      deps.onStep?.({
        operationId: input.operationId,
        tenantId: input.tenantId,
        step: input.step,
        ...change,
      });
    } catch {
      // A watcher's failure is its own.
    }
  };

  /** Records the step FAILED with the error's code and message, then answers the error to throw. */
  async function failed(input: TaskInput, e: unknown, startedAt: string | undefined): Promise<TaskError> {
    const err = toTaskError(e);
    await deps.registry
      .stepEnded(
        input.operationId,
        input.step,
        'FAILED',
        { code: err.code, message: err.message },
        undefined,
        startedAt,
      )
      .catch((recordError) => {
        // The registry being down must not hide the original error.
        err.message = `${err.message} (step not recorded: ${describeError(recordError)})`;
      });
    announce(input, { status: 'FAILED', error: { code: err.code, message: err.message } });
    return err;
  }

  return async (input) => {
    const key = `${input.operationId}/${input.step}`;
    // A step this process saw start keeps its recorded start; any other is written whole, now.
    const startOf = (now: string) => (input.poll && polled.has(key) ? undefined : now);
    if (!isTaskName(input.task)) {
      throw await failed(
        input,
        new TaskError(
          'WORKFLOW_FAILED',
          `no task handler named ${input.task}; known tasks: ${TASK_NAMES.join(', ')}`,
        ),
        startOf(deps.clock().toISOString()),
      );
    }
    await hooks.beforeTask?.(input);
    const checked = checkTaskArgs(input.task, input.args);
    if (!checked.ok) {
      const start = startOf(deps.clock().toISOString());
      polled.delete(key);
      throw await failed(input, new TaskError('TASK_ARGS_INVALID', checked.message), start);
    }
    const handler = handlers[input.task] as HandlerOf<TaskName>;
    const startedAt = deps.clock().toISOString();
    if (input.poll && !polled.has(key)) {
      const wrote = await deps.registry.recordStep(
        input.operationId,
        { name: input.step, status: 'RUNNING', startedAt },
        'start',
      );
      // Not written: the step was started by an earlier process, whose start time stays.
      polled.set(key, {
        pending: 0,
        startedAt: wrote ? startedAt : undefined,
        firstCallMs: Date.parse(startedAt),
      });
      if (wrote) announce(input, { status: 'RUNNING' });
    }
    // The start this process knows: a quick step's is now, a polled step's its first call's.
    const knownStart = input.poll ? polled.get(key)?.startedAt : startedAt;
    let endedByHandler = false;
    const step: StepCall = {
      end(detail) {
        if (!knownStart) return undefined;
        endedByHandler = true;
        return { name: input.step, startedAt: knownStart, detail };
      },
    };
    try {
      const result = await handler({ ...input, args: checked.args }, await regional(input), step);
      const poll = result as { done?: boolean; detail?: string } | undefined;
      if (input.poll && poll?.done === false) {
        const memo = polled.get(key) ?? { pending: 0, firstCallMs: Date.parse(startedAt) };
        memo.pending++;
        if (poll.detail && poll.detail !== memo.detail) {
          await deps.registry.recordStep(
            input.operationId,
            { name: input.step, status: 'RUNNING', startedAt, detail: poll.detail },
            'detail',
          );
          memo.detail = poll.detail;
          announce(input, { status: 'RUNNING', detail: poll.detail });
        }
        polled.set(key, memo);
        const attempt = memo.pending - 1;
        // The one backoff, its ceiling at most a quarter of how long the step has been waited on
        // (never under the base, never over 20×): a step is seen done at most ~25% after it
        // finished, where doubling alone could see a 60 s stack update at 100 s.
        const elapsedMs = deps.clock().getTime() - memo.firstCallMs;
        const policy = (baseMs: number) => ({
          baseMs,
          maxMs: Math.min(20 * baseMs, Math.max(baseMs, elapsedMs / 4)),
        });
        const waitSeconds = backoffSeconds(policy((input.pollSeconds ?? 1) * 1000), attempt, random);
        if (options.localBackoff) {
          const { baseMs } = options.localBackoff;
          const extra = backoffDelay(policy(baseMs), attempt, random) - baseMs;
          if (extra > 0) await wait(extra);
        }
        return { ...poll, waitSeconds };
      }
      polled.delete(key);
      // A handler that returned after writing its end with its last patch needs no second write.
      if (!endedByHandler)
        await deps.registry.stepEnded(
          input.operationId,
          input.step,
          'SUCCEEDED',
          undefined,
          poll?.detail,
          // A polled step keeps the start recorded at its first call; a quick step started just now.
          input.poll ? undefined : startedAt,
        );
      announce(input, { status: 'SUCCEEDED', detail: poll?.detail });
      return result ?? {};
    } catch (e) {
      const start = startOf(startedAt);
      polled.delete(key);
      if (input.undo && isGone(e)) {
        // An undo whose target is gone already has nothing left to undo: done, and said so.
        const detail = `already gone: ${toTaskError(e).message}`;
        await deps.registry.stepEnded(input.operationId, input.step, 'SUCCEEDED', undefined, detail, start);
        return { done: true, detail };
      }
      throw await failed(input, e, start);
    }
  };
}

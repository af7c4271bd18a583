import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../core/errors.js';
import type { ErrorInfo } from '../../core/registry/records.js';
import { TRANSIENT_ERRORS } from '../definitions/builder.js';
import type { TaskDeps, TaskInput, TaskResult } from './context.js';
import { TASK_NAMES, type TaskName } from './contract.js';
import { createTaskRunnerWith, type TaskHandlers, type TaskRunnerOptions } from './runner.js';

/**
 * The task runner without AWS: a registry that records what it is asked to write, handlers that
 * answer what each test scripts.
 */

type Write =
  | { kind: 'recordStep'; mode: string; name: string; detail?: string | undefined }
  | {
      kind: 'stepEnded';
      name: string;
      status: string;
      error?: ErrorInfo | undefined;
      detail?: string | undefined;
      startedAt?: string | undefined;
    };

function fakeRegistry(options: { down?: boolean; startedElsewhere?: boolean } = {}) {
  const writes: Write[] = [];
  return {
    writes,
    registry: {
      async recordStep(_op: string, step: { name: string; detail?: string }, mode: string) {
        writes.push({ kind: 'recordStep', mode, name: step.name, detail: step.detail });
        return !options.startedElsewhere;
      },
      async stepEnded(
        _op: string,
        name: string,
        status: string,
        error?: ErrorInfo,
        detail?: string,
        startedAt?: string,
      ) {
        if (options.down) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
        writes.push({ kind: 'stepEnded', name, status, error, detail, startedAt });
      },
    },
  };
}

const NOW = new Date('2026-11-24T12:00:00.000Z');

function setup(
  answer: (input: TaskInput) => Promise<TaskResult>,
  options: TaskRunnerOptions & { down?: boolean; startedElsewhere?: boolean; clock?: () => Date } = {},
) {
  const { writes, registry } = fakeRegistry(options);
  const calls: TaskInput[] = [];
  const handler = async (input: TaskInput) => {
    calls.push(input);
    return answer(input);
  };
  const handlers = Object.fromEntries(TASK_NAMES.map((n) => [n, handler])) as unknown as TaskHandlers;
  const deps = { registry, clock: options.clock ?? (() => NOW) } as unknown as TaskDeps;
  const run = createTaskRunnerWith(handlers, deps, {}, options);
  return { run, writes, calls };
}

/** What a run threw (it must throw). */
async function failure(run: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await run;
  } catch (e) {
    return e as Error & { code: string };
  }
  throw new Error('the task succeeded');
}

const input = (task: string, args: unknown, extra: Partial<TaskInput> = {}): TaskInput =>
  ({
    task,
    step: `Step${task}`,
    operationId: 'op_01',
    tenantId: 't_01',
    args,
    ...extra,
  }) as TaskInput;

describe('the task runner checks the contract before a handler runs', () => {
  it('hands a handler its validated args and records a quick step once', async () => {
    const { run, writes, calls } = setup(async () => ({ ok: 1 }));
    expect(await run(input('RetireStacks', { role: 'retiring' }))).toEqual({ ok: 1 });
    expect(calls.map((c) => c.args)).toEqual([{ role: 'retiring' }]);
    expect(writes).toEqual([
      {
        kind: 'stepEnded',
        name: 'StepRetireStacks',
        status: 'SUCCEEDED',
        error: undefined,
        detail: undefined,
        startedAt: NOW.toISOString(),
      },
    ]);
  });

  it.each<[TaskName, unknown, RegExp]>([
    ['RetireStacks', { role: 'everything' }, /args\.role: .*"all"\|"current"\|"target"\|"retiring"/],
    ['SetUsersEnabled', {}, /args\.enabled: .*expected boolean/],
    ['Finish', { extra: true }, /Unrecognized key: "extra"/],
    ['EraseTenantData', { after: 'copy', partItems: 0 }, /args\.partItems: /],
    ['EnsureStack', { which: 'tier', role: 'retiring' }, /args\.role: /],
  ])(
    'fails %s with %j as TASK_ARGS_INVALID, naming the field, without running the handler',
    async (task, args, message) => {
      const { run, writes, calls } = setup(async () => ({}));
      const err = await failure(run(input(task, args)));
      expect(err.code).toBe('TASK_ARGS_INVALID');
      // Step Functions (and the local executor) match Retry/Catch on the error's name.
      expect(err.name).toBe('TASK_ARGS_INVALID');
      expect(err.message).toMatch(message);
      expect(err.message).toContain(`task ${task}`);
      expect(calls).toEqual([]);
      expect(writes).toEqual([
        expect.objectContaining({
          kind: 'stepEnded',
          status: 'FAILED',
          error: { code: 'TASK_ARGS_INVALID', message: err.message },
          startedAt: NOW.toISOString(),
        }),
      ]);
    },
  );

  it('fails a task no handler serves, saying which exist, and records the step', async () => {
    const { run, writes, calls } = setup(async () => ({}));
    const err = await failure(run(input('EnsureStackk', {})));
    expect(err.code).toBe('WORKFLOW_FAILED');
    expect(err.message).toMatch(/no task handler named EnsureStackk; known tasks: .*EnsureStack/);
    expect(calls).toEqual([]);
    expect(writes).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        error: expect.objectContaining({ code: 'WORKFLOW_FAILED' }),
      }),
    ]);
  });

  it('is not retried by the definitions: a bad argument would only fail again', () => {
    expect(TRANSIENT_ERRORS).not.toContain('TASK_ARGS_INVALID');
  });
});

describe('an undo step (Flow.undo)', () => {
  const gone = () =>
    Object.assign(new Error('Invalid API Key identifier specified'), { name: 'NotFoundException' });

  it('counts a NotFound as done: its target is gone already, and the step says so', async () => {
    const { run, writes } = setup(async () => {
      throw gone();
    });
    const args = { enabled: true };
    expect(await run(input('SetApiKeyEnabled', args, { step: 'UndoApiKey', undo: true }))).toEqual({
      done: true,
      detail: 'already gone: AWS: NotFoundException: Invalid API Key identifier specified',
    });
    expect(writes).toEqual([
      expect.objectContaining({
        kind: 'stepEnded',
        name: 'UndoApiKey',
        status: 'SUCCEEDED',
        detail: 'already gone: AWS: NotFoundException: Invalid API Key identifier specified',
      }),
    ]);
  });

  it('a forward step with the same NotFound fails', async () => {
    const { run, writes } = setup(async () => {
      throw gone();
    });
    const err = await failure(run(input('SetApiKeyEnabled', { enabled: false }, { step: 'DisableApiKey' })));
    expect(err.message).toContain('Invalid API Key identifier specified');
    expect(writes).toEqual([expect.objectContaining({ name: 'DisableApiKey', status: 'FAILED' })]);
  });
});

describe('the task runner maps every failure to a catalogue code', () => {
  const throwing = (e: unknown) => setup(async () => Promise.reject(e));

  it.each<[string, unknown, string, RegExp]>([
    [
      'AWS throttling',
      new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }),
      'AWS_THROTTLED',
      /ProvisionedThroughputExceededException: slow down/,
    ],
    [
      'a server fault',
      Object.assign(new Error('we broke'), {
        name: 'InternalFailure',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
      'AWS_TRANSIENT',
      /InternalFailure: we broke/,
    ],
    [
      'a dropped connection',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      'AWS_TRANSIENT',
      /socket hang up/,
    ],
    [
      'any other AWS answer',
      Object.assign(new Error('Template format error'), { name: 'ValidationError', $fault: 'client' }),
      'AWS_ERROR',
      /ValidationError: Template format error/,
    ],
    [
      'one of ours',
      new ControlPlaneError('STACK_FAILED', 'stack x: ROLLBACK_COMPLETE'),
      'STACK_FAILED',
      /^stack x: ROLLBACK_COMPLETE$/,
    ],
    [
      'an error named by a catalogue code',
      Object.assign(new Error('the application plane said no'), { name: 'MIGRATION_REJECTED' }),
      'MIGRATION_REJECTED',
      /^the application plane said no$/,
    ],
  ])('%s', async (_what, thrown, code, message) => {
    const { run, writes } = throwing(thrown);
    const err = await failure(run(input('Finish', {})));
    expect(err.code).toBe(code);
    expect(err.name).toBe(code);
    expect(err.message).toMatch(message);
    expect(writes).toEqual([
      expect.objectContaining({ status: 'FAILED', error: { code, message: err.message } }),
    ]);
    // Exactly the transient codes are the ones every Task retries.
    expect(TRANSIENT_ERRORS.includes(code)).toBe(code === 'AWS_THROTTLED' || code === 'AWS_TRANSIENT');
  });

  it('keeps the original error when the registry cannot record the failure', async () => {
    const { run } = setup(async () => Promise.reject(new ControlPlaneError('STACK_FAILED', 'boom')), {
      down: true,
    });
    const err = await failure(run(input('Finish', {})));
    expect(err.code).toBe('STACK_FAILED');
    expect(err.message).toBe('boom (step not recorded: connect ECONNREFUSED)');
  });
});

describe('a polled step', () => {
  /** Answers pending with the scripted details, then done. */
  function script(details: (string | undefined)[], options: Parameters<typeof setup>[1] = {}) {
    let call = 0;
    return setup(async () => {
      const detail = details[call++];
      return call > details.length ? { done: true, detail: 'settled' } : { done: false, detail };
    }, options);
  }
  const poll = (task: TaskName = 'EnsureStack') =>
    input(task, { which: 'tier', role: 'current' }, { poll: true, pollSeconds: 2 });

  it('records its start once, each new detail once, and its end keeping the start', async () => {
    const { run, writes } = script(['CREATE_IN_PROGRESS', 'CREATE_IN_PROGRESS', 'waiting for a slot']);
    for (let i = 0; i < 4; i++) await run(poll());
    expect(
      writes.map((w) =>
        w.kind === 'recordStep' ? `${w.mode} ${w.detail ?? ''}` : `end ${w.status} ${w.detail}`,
      ),
    ).toEqual(['start ', 'detail CREATE_IN_PROGRESS', 'detail waiting for a slot', 'end SUCCEEDED settled']);
    // A polled step is closed in place: the start written at its first call stays.
    expect(writes.at(-1)).toMatchObject({ startedAt: undefined });
  });

  it('backs off with the one backoff, in whole seconds for the Wait state, and starts over when done', async () => {
    // The clock moves by each wait, as the Wait state would: 10 minutes of polls.
    let now = NOW.getTime();
    const { run } = script(Array(40).fill(undefined), { random: () => 0.999999, clock: () => new Date(now) });
    const waits: number[] = [];
    for (let i = 0; i < 40; i++) {
      const { waitSeconds } = (await run(poll())) as { waitSeconds: number };
      waits.push(waitSeconds);
      now += waitSeconds * 1000;
    }
    // Ceilings 2, 4, 8 … (core/backoff.ts) but never over a quarter of the time waited so far, so
    // an end is seen at most ~25% late; at most 20 × the 2 s base.
    expect(waits.slice(0, 8)).toEqual([2, 2, 2, 2, 2, 3, 3, 4]);
    let waited = 0;
    for (const w of waits) {
      expect(w).toBeLessThanOrEqual(Math.max(2, Math.round(waited / 4)));
      waited += w;
    }
    expect(waits.at(-1)).toBe(40);
    expect(await run(poll())).toEqual({ done: true, detail: 'settled' });
    const again = script([undefined], { random: () => 0 });
    expect(await again.run(poll())).toMatchObject({ done: false, waitSeconds: 1 });
  });

  it('locally, sleeps what the backoff adds to the Wait state fixed interval', async () => {
    const slept: number[] = [];
    let now = NOW.getTime();
    const { run } = script(Array(30).fill(undefined), {
      random: () => 0.999999,
      localBackoff: { baseMs: 100 },
      clock: () => new Date(now),
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    for (let i = 0; i < 30; i++) {
      const before = slept.length;
      await run(poll());
      // The Wait state's own 100 ms, then what the runner slept on top.
      now += 100;
      if (slept.length === before) slept.push(0);
    }
    // Nothing on top while the step has been waited on under 4 × 100 ms; then the quarter rule.
    expect(slept.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    let waited = 0;
    for (const extra of slept) {
      expect(100 + extra).toBeLessThanOrEqual(Math.max(100, waited / 4) + 1);
      waited += 100 + extra;
    }
    expect(Math.max(...slept)).toBeGreaterThan(0);
  });

  it('lets a handler end its step in its own last write only when this process knows its start', async () => {
    const ends: unknown[] = [];
    const handlerEnding = (startedElsewhere: boolean) => {
      const { registry, writes } = fakeRegistry({ startedElsewhere });
      const handlers = Object.fromEntries(
        TASK_NAMES.map((n) => [
          n,
          async (_i: TaskInput, _d: TaskDeps, step: { end(d?: string): unknown }) => {
            ends.push(step.end('made'));
            return { done: true };
          },
        ]),
      ) as unknown as TaskHandlers;
      const run = createTaskRunnerWith(handlers, { registry, clock: () => NOW } as unknown as TaskDeps);
      return { run, writes };
    };
    const here = handlerEnding(false);
    await here.run(poll());
    expect(ends.at(-1)).toEqual({ name: 'StepEnsureStack', startedAt: NOW.toISOString(), detail: 'made' });
    // The handler wrote the end: the runner writes nothing more than the start.
    expect(here.writes.map((w) => w.kind)).toEqual(['recordStep']);

    const elsewhere = handlerEnding(true);
    await elsewhere.run(poll());
    expect(ends.at(-1)).toBeUndefined();
    expect(elsewhere.writes.map((w) => w.kind)).toEqual(['recordStep', 'stepEnded']);
  });

  it('fails in place: the step keeps the start its first call recorded', async () => {
    let call = 0;
    const { run, writes } = setup(async () => {
      if (call++ === 0) return { done: false };
      throw new ControlPlaneError('STACK_FAILED', 'ROLLBACK_COMPLETE');
    });
    await run(poll());
    await expect(run(poll())).rejects.toMatchObject({ code: 'STACK_FAILED' });
    expect(writes.at(-1)).toMatchObject({ kind: 'stepEnded', status: 'FAILED', startedAt: undefined });
  });
});

describe('the region a step runs in', () => {
  /** A runner whose tenants live where `regionOf` says, with a fake set of regional platforms. */
  function regional(regionOf: Record<string, string | undefined>, ensureFails = false) {
    const { registry } = fakeRegistry();
    const reads: string[] = [];
    const ensured: { region: string; owner: string }[] = [];
    const homeClients = { target: { region: 'us-east-1' } };
    const euClients = { target: { region: 'eu-west-1' } };
    const regions = {
      home: 'us-east-1',
      clients: (r: string) => (r === 'eu-west-1' ? euClients : homeClients),
      ensure: async (region: string, owner: string) => {
        ensured.push({ region, owner });
        if (ensureFails) throw new ControlPlaneError('STACK_FAILED', `platform of ${region} failed`);
        return { stackName: `platform-${region}` };
      },
      read: async () => {
        throw new Error('steps ensure, never only read');
      },
    };
    const seen: { tenantId: string; region: string; platform: string }[] = [];
    const handler = async (i: TaskInput, d: TaskDeps) => {
      seen.push({
        tenantId: i.tenantId,
        region: d.clients.target.region,
        platform: d.platform().stackName,
      });
      return {};
    };
    const handlers = Object.fromEntries(TASK_NAMES.map((n) => [n, handler])) as unknown as TaskHandlers;
    const deps = {
      registry: {
        ...registry,
        async getTenant(tenantId: string) {
          reads.push(tenantId);
          return tenantId in regionOf ? { tenantId, region: regionOf[tenantId] } : undefined;
        },
      },
      clients: homeClients,
      platform: () => ({ stackName: 'platform-home' }),
      regions,
      clock: () => NOW,
    } as unknown as TaskDeps;
    return { run: createTaskRunnerWith(handlers, deps), seen, reads, ensured };
  }

  it("hands each handler its tenant's region's clients and platform; home tenants get the home deps", async () => {
    const r = regional({ t_eu: 'eu-west-1', t_home: 'us-east-1', t_old: undefined });
    for (const tenantId of ['t_eu', 't_home', 't_old', 't_eu'])
      await r.run(input('Finish', {}, { tenantId, operationId: `op_${tenantId}` }));
    expect(r.seen).toEqual([
      { tenantId: 't_eu', region: 'eu-west-1', platform: 'platform-eu-west-1' },
      { tenantId: 't_home', region: 'us-east-1', platform: 'platform-home' },
      // A record without a region is at home.
      { tenantId: 't_old', region: 'us-east-1', platform: 'platform-home' },
      { tenantId: 't_eu', region: 'eu-west-1', platform: 'platform-eu-west-1' },
    ]);
    // Each tenant's region is read once; the region's platform is ensured once, under the
    // lease of the operation whose step came first.
    expect(r.reads).toEqual(['t_eu', 't_home', 't_old']);
    expect(r.ensured).toEqual([{ region: 'eu-west-1', owner: 'op_t_eu/platform' }]);
  });

  it('a tenant not found is not remembered at home; a failed platform fails the step with its code', async () => {
    const missing = regional({});
    await missing.run(input('Finish', {}, { tenantId: 't_new' }));
    await missing.run(input('Finish', {}, { tenantId: 't_new' }));
    expect(missing.reads).toEqual(['t_new', 't_new']);

    const failing = regional({ t_eu: 'eu-west-1' }, true);
    const err = await failure(failing.run(input('Finish', {}, { tenantId: 't_eu' })));
    expect(err.code).toBe('STACK_FAILED');
    expect(failing.seen).toEqual([]);
  });
});

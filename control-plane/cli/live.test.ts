import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../core/registry/records.js';
import { startListeningTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { progressLines } from '../../test/support/cli.js';
import { EventTap } from '../../workflows/index.js';
import { type CliIo, runCli } from './main.js';
import { handoffCommands, ProgressView } from './render.js';

/** Live output of tenantctl: watch answering on each change, the hand-off commands, events --follow. */

const tap = new EventTap({ epoch: 'cli' });
let t: TestApp;
let url: string;

beforeAll(async () => {
  ({ t, url } = await startListeningTestApp({ deps: { events: { tap } } }));
});
afterAll(async () => t?.close());

async function cli(argv: string[], io: Partial<CliIo> & { tty?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: io.tty ?? false },
    stderr: { write: (s: string) => (stderr += s) },
    env: { TENANTCTL_URL: url, TENANTCTL_KEY: t.adminKey },
    ...(io.sleep ? { sleep: io.sleep } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  return { code, stdout, stderr };
}

const noSleep = async () => {
  throw new Error('watch slept: it should have been answered by the change itself');
};

async function onboarded(slug: string): Promise<Operation> {
  return (await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) })).json().operation;
}

/**
 * A fetch that runs the next scripted change once an answer about the operation has been read:
 * the change happens while the CLI's next long poll is open, as a workflow's would.
 */
function changingFetch(script: (() => Promise<unknown>)[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const body = await res.text();
    const next = script.shift();
    if (next) setImmediate(() => void next());
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

describe('tenantctl watch, live', () => {
  it('draws each step as it happens: answered by each change, never by sleeping', async () => {
    const op = await onboarded('live-watch');
    const id = op.operationId;
    const started = new Date().toISOString();
    const out = await cli(['watch', id], {
      sleep: noSleep,
      fetch: changingFetch([
        () => t.registry.stepStarted(id, 'CreateStack', 'waiting for a stack slot'),
        () =>
          t.registry.recordStep(
            id,
            { name: 'CreateStack', status: 'RUNNING', startedAt: started, detail: 'CREATE_IN_PROGRESS' },
            'detail',
          ),
        () => t.registry.stepEnded(id, 'CreateStack', 'SUCCEEDED'),
        () => t.registry.finishOperation({ operationId: id, outcome: 'succeeded' }),
      ]),
    });
    expect(out.code).toBe(0);
    const lines = progressLines(out.stdout);
    expect(lines).toEqual([
      `onboard ${id} PENDING`,
      `onboard ${id} RUNNING`,
      '• CreateStack RUNNING (waiting for a stack slot)',
      '• CreateStack RUNNING (CREATE_IN_PROGRESS)',
      expect.stringMatching(/^✔ CreateStack SUCCEEDED in [\d.]+s$/),
      `onboard ${id} SUCCEEDED`,
    ]);
  });

  it('prints the command that answers a migration hand-off', async () => {
    const op = await onboarded('live-handoff');
    const id = op.operationId;
    const out = await cli(['watch', id], {
      sleep: noSleep,
      fetch: changingFetch([
        () =>
          t.registry.stepStarted(
            id,
            'AwaitMigration',
            'waiting for the application plane to migrate the data',
          ),
        () => t.registry.updateOperation(id, () => ({ waitingFor: 'migration' })),
        () => t.registry.finishOperation({ operationId: id, outcome: 'succeeded' }),
      ]),
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`  tenantctl migration complete ${id}\n  tenantctl migration fail ${id}\n`);
    // Once, not on every later change.
    expect(out.stdout.split('tenantctl migration complete').length).toBe(2);
  });
});

describe('ProgressView on a terminal', () => {
  const op = (over: Partial<Operation>): Operation =>
    ({
      operationId: 'op_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      tenantId: 't_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      type: 'change-tier',
      status: 'RUNNING',
      steps: [
        {
          name: 'CreateTargetStack',
          status: 'RUNNING',
          startedAt: '2026-12-04T00:00:00.000Z',
          detail: 'CREATE_IN_PROGRESS',
        },
      ],
      createdAt: '2026-12-04T00:00:00.000Z',
      updatedAt: '2026-12-04T00:00:00.000Z',
      version: 1,
      actor: 'test',
      input: {},
      ...over,
    }) as Operation;

  it('turns the spinner and the running time on each tick, with the wait detail', () => {
    let written = '';
    let now = Date.parse('2026-12-04T00:00:01.000Z');
    const view = new ProgressView({ write: (s: string) => (written += s), isTTY: true }, () => now);
    view.update(op({}));
    now += 1000;
    view.tick();
    const frames = written.split('\x1b[2A\x1b[0J');
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/⠙ CreateTargetStack\s+1\.0s {2}CREATE_IN_PROGRESS/);
    expect(frames[1]).toMatch(/⠹ CreateTargetStack\s+2\.0s {2}CREATE_IN_PROGRESS/);
  });

  it('draws the hand-off commands under the steps while the operation waits on one', () => {
    let written = '';
    const view = new ProgressView({ write: (s: string) => (written += s), isTTY: true }, () => Date.now());
    const waiting = op({ waitingFor: 'migration' });
    view.update(waiting);
    expect(written).toContain(`    tenantctl migration complete ${waiting.operationId}\n`);
    expect(handoffCommands({ ...waiting, callback: { status: 'succeeded', actor: 'x', at: 'y' } })).toEqual(
      [],
    );
  });
});

describe('tenantctl events --follow', () => {
  /** Emits `events` once the CLI's stream is subscribed. */
  function emitWhenFollowing(events: Parameters<EventTap['emit']>[0][]) {
    const before = tap.subscribers;
    void (async () => {
      while (tap.subscribers <= before) await new Promise((r) => setImmediate(r));
      for (const e of events) tap.emit(e);
    })();
  }

  it('prints events as they come, the hand-off command for migration_requested, until --limit', async () => {
    emitWhenFollowing([
      {
        type: 'operation.started',
        tenantId: 't_x',
        operationId: 'op_x',
        data: { type: 'change-tier', status: 'PENDING' },
      },
      {
        type: 'operation.step',
        tenantId: 't_x',
        operationId: 'op_x',
        data: { step: 'CreateTargetStack', status: 'RUNNING', detail: 'CREATE_IN_PROGRESS' },
      },
      { type: 'tenant.migration_requested', tenantId: 't_x', operationId: 'op_x', data: {} },
    ]);
    const out = await cli(['events', '--follow', '--limit', '3']);
    expect(out.code).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\S+\s+/, ''));
    expect(lines).toEqual([
      expect.stringMatching(/^operation\.started\s+t_x {2}op_x {2}change-tier PENDING$/),
      expect.stringMatching(
        /^operation\.step\s+t_x {2}op_x {2}CreateTargetStack RUNNING \(CREATE_IN_PROGRESS\)$/,
      ),
      expect.stringMatching(
        /^tenant\.migration_requested\s+t_x {2}op_x {2}answer it: tenantctl migration complete op_x \| tenantctl migration fail op_x$/,
      ),
    ]);
  });

  it('prints rollout events by their rollout (the admin key reads rollouts)', async () => {
    emitWhenFollowing([
      {
        type: 'rollout.wave_completed',
        rolloutId: 'ro_01ARZ3NDEKTSV4RRFFQ69G5FAV',
        data: { wave: 'basic', index: 0, counts: { succeeded: 2 } },
      },
    ]);
    const out = await cli(['events', '--follow', '--limit', '1']);
    expect(out.code).toBe(0);
    expect(out.stdout.trim().replace(/^\S+\s+/, '')).toMatch(
      /^rollout\.wave_completed\s+ro_01ARZ3NDEKTSV4RRFFQ69G5FAV {2}wave=basic counts=\{"succeeded":2\}$/,
    );
  });

  it('--json prints one event per line; a tenant narrows the stream', async () => {
    const tenant = (
      await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('follow-one') })
    ).json().tenant;
    emitWhenFollowing([
      { type: 'operation.step', tenantId: 't_other', operationId: 'op_o', data: {} },
      { type: 'tenant.onboarded', tenantId: tenant.tenantId, operationId: 'op_f', data: { tier: 'basic' } },
    ]);
    const out = await cli(['events', 'follow-one', '--follow', '--limit', '1', '--json']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      type: 'tenant.onboarded',
      tenantId: tenant.tenantId,
      data: { tier: 'basic' },
    });
  });

  it('fails with the API error for a refused stream; events needs a tenant without --follow', async () => {
    const out = await cli(['events', 'no-such-tenant', '--follow']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/^error: TENANT_NOT_FOUND: /);
    const usage = await cli(['events']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('events takes <tenant>');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ONBOARD_STEPS,
  startTestControlPlane,
  type TestControlPlane,
} from '../test/support/control-plane.js';
import type { TappedEvent } from './index.js';

/** A real onboarding on moto feeds the tap (and so the event stream) and the watch, step by step. */

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp?.close());

describe('live progress of a real workflow', () => {
  it('taps the operation start, every step change, the EventBridge event and the end, in order', async () => {
    const seen: TappedEvent[] = [];
    // The last step's end is tapped when its task returns, just after the end it recorded.
    let lastStepEnded!: () => void;
    const lastStep = new Promise<void>((r) => {
      lastStepEnded = r;
    });
    const stop = cp.workflows.tap.subscribe((e) => {
      seen.push(e);
      if (
        e.type === 'operation.step' &&
        e.data.step === ONBOARD_STEPS.at(-1) &&
        e.data.status === 'SUCCEEDED'
      )
        lastStepEnded();
    });
    const started = await cp.workflows.lifecycle.onboard(
      { name: 'Tapped', slug: 'tapped', tier: 'basic', adminEmail: 'a@tapped.example.com' },
      { actor: 'test:ops' },
    );
    const id = started.operation.operationId;
    // Followed with since: every answer is a new version, until the end.
    const versions: number[] = [];
    let op = started.operation;
    while (op.status !== 'SUCCEEDED' && op.status !== 'FAILED') {
      op = await cp.workflows.lifecycle.awaitOperation(id, 20_000, op.version);
      versions.push(op.version);
    }
    await lastStep;
    stop();
    expect(op.status).toBe('SUCCEEDED');
    expect(versions.length).toBeGreaterThan(2);
    expect(new Set(versions).size).toBe(versions.length);
    const mine = seen.filter((e) => e.operationId === id);
    expect(mine[0]).toMatchObject({ type: 'operation.started', data: { type: 'onboard' } });
    expect(mine.at(-1)).toMatchObject({ type: 'operation.ended', data: { status: 'SUCCEEDED' } });
    const types = mine.map((e) => e.type);
    expect(types.indexOf('tenant.onboarded')).toBeGreaterThan(0);
    expect(types.indexOf('operation.ended')).toBeGreaterThan(types.indexOf('tenant.onboarded'));
    expect(mine.find((e) => e.type === 'operation.ended')).toMatchObject({ data: { status: 'SUCCEEDED' } });
    // Each step ends SUCCEEDED on the tap, in the workflow's order; a polled step is seen running first.
    const ends = mine.filter((e) => e.type === 'operation.step' && e.data.status === 'SUCCEEDED');
    expect(ends.map((e) => e.data.step)).toEqual(ONBOARD_STEPS);
    const stack = mine.filter((e) => e.type === 'operation.step' && e.data.step === 'CreateStack');
    expect(stack[0]?.data.status).toBe('RUNNING');
    // Ids increase: a client resuming with Last-Event-ID gets the rest in order.
    const seqs = mine.map((e) => Number(e.id.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});

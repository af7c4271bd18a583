import { describe, expect, it } from 'vitest';
import type { Operation } from '../core/registry/records.js';
import { EventTap, operationFeed, type TappedEvent } from './event-tap.js';

const ids = { tenantId: 't_1', operationId: 'op_1', data: {} };

describe('EventTap', () => {
  it('numbers events in order under its epoch and hands each to every listener', () => {
    const tap = new EventTap({ epoch: 'e1', clock: () => new Date('2026-12-04T00:00:00Z') });
    const got: TappedEvent[] = [];
    const stop = tap.subscribe((e) => got.push(e));
    tap.emit({ type: 'operation.started', ...ids });
    tap.emit({ type: 'tenant.onboarded', ...ids });
    stop();
    tap.emit({ type: 'operation.ended', ...ids });
    expect(got.map((e) => [e.id, e.type, e.version, e.time])).toEqual([
      ['e1-1', 'operation.started', 1, '2026-12-04T00:00:00.000Z'],
      ['e1-2', 'tenant.onboarded', 1, '2026-12-04T00:00:00.000Z'],
    ]);
    expect(tap.subscribers).toBe(0);
  });

  it('replays what came after an id it holds', () => {
    const tap = new EventTap({ epoch: 'e1' });
    for (let i = 0; i < 5; i++) tap.emit({ type: 'operation.step', ...ids });
    expect(tap.replay('e1-3')).toEqual({
      events: [expect.objectContaining({ id: 'e1-4' }), expect.objectContaining({ id: 'e1-5' })],
      gap: false,
    });
    expect(tap.replay('e1-5')).toEqual({ events: [], gap: false });
  });

  it('reports a gap for an evicted, foreign or malformed id', () => {
    const tap = new EventTap({ epoch: 'e1', capacity: 2 });
    for (let i = 0; i < 5; i++) tap.emit({ type: 'operation.step', ...ids });
    const evicted = tap.replay('e1-1');
    expect(evicted.gap).toBe(true);
    expect(evicted.events.map((e) => e.id)).toEqual(['e1-4', 'e1-5']);
    expect(tap.replay('e1-3')).toMatchObject({ gap: false });
    expect(tap.replay('other-3')).toEqual({ events: [], gap: true });
    expect(tap.replay('e1-99')).toEqual({ events: [], gap: true });
    expect(tap.replay('nonsense')).toEqual({ events: [], gap: true });
  });

  it('drops a listener that throws and keeps serving the others', () => {
    const tap = new EventTap({ epoch: 'e1' });
    const got: string[] = [];
    tap.subscribe(() => {
      throw new Error('broken consumer');
    });
    tap.subscribe((e) => got.push(e.id));
    tap.emit({ type: 'operation.step', ...ids });
    tap.emit({ type: 'operation.step', ...ids });
    expect(got).toEqual(['e1-1', 'e1-2']);
    expect(tap.subscribers).toBe(1);
  });
});

describe('operationFeed', () => {
  it('taps the steps an end closed before the end, and drops their late announcement', () => {
    const tap = new EventTap({ epoch: 'e1' });
    const got: TappedEvent[] = [];
    tap.subscribe((e) => got.push(e));
    const feed = operationFeed(tap);
    const change = { operationId: 'op_1', tenantId: 't_1' };
    feed.step({ ...change, step: 'CreateApiKey', status: 'SUCCEEDED' });
    const end = '2026-12-04T00:00:02.000Z';
    feed.ended({
      ...change,
      type: 'onboard',
      status: 'SUCCEEDED',
      endedAt: end,
      steps: [
        { name: 'CreateApiKey', status: 'SUCCEEDED', startedAt: 'a', endedAt: '2026-12-04T00:00:01.000Z' },
        { name: 'Activate', status: 'SUCCEEDED', startedAt: 'b', endedAt: end },
      ],
    } as unknown as Operation);
    // The runner announces the last step once its task returns: already told.
    feed.step({ ...change, step: 'Activate', status: 'SUCCEEDED' });
    expect(got.map((e) => [e.type, e.data.step ?? e.data.status])).toEqual([
      ['operation.step', 'CreateApiKey'],
      ['operation.step', 'Activate'],
      ['operation.ended', 'SUCCEEDED'],
    ]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../core/registry/records.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { EventTap } from '../../workflows/index.js';
import { readSse, type SseMessage, SseParser } from '../sse.js';

const tap = new EventTap({ epoch: 'test' });
let t: TestApp;
let base: string;

beforeAll(async () => {
  t = await startTestApp({ deps: { events: { tap, heartbeatMs: 40, maxStreams: 3 } } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await t?.close();
});

function open(query = '', options: { key?: string; lastEventId?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? t.adminKey}` };
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  return fetch(`${base}/v1/events/stream${query}`, { headers });
}

/** The next `n` events of a stream (comments skipped), then the stream is closed. */
async function take(res: Response, n: number, parser = new SseParser()): Promise<SseMessage[]> {
  const got: SseMessage[] = [];
  for await (const m of readSse(res.body!, parser)) {
    got.push(m);
    if (got.length === n) break;
  }
  return got;
}

/** Resolves once the tap has `n` subscribers: the streams opened are listening. */
async function subscribed(n: number): Promise<void> {
  while (tap.subscribers < n) await new Promise((r) => setImmediate(r));
}

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

async function tenant(slug: string): Promise<Tenant> {
  return (await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) })).json().tenant;
}

describe('GET /v1/events/stream', () => {
  it('streams events as they are published, as text/event-stream with ids and types', async () => {
    const res = await open();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await subscribed(1);
    tap.emit({ type: 'operation.started', tenantId: 't_a', operationId: 'op_a', data: { type: 'onboard' } });
    tap.emit({ type: 'tenant.onboarded', tenantId: 't_a', operationId: 'op_a', data: { tier: 'basic' } });
    const [started, onboarded] = await take(res, 2);
    expect(started).toMatchObject({ event: 'operation.started', id: expect.stringMatching(/^test-\d+$/) });
    expect(JSON.parse(onboarded!.data)).toMatchObject({
      type: 'tenant.onboarded',
      version: 1,
      tenantId: 't_a',
      operationId: 'op_a',
      data: { tier: 'basic' },
    });
  });

  it('sends heartbeat comments while nothing happens', async () => {
    const res = await open();
    const parser = new SseParser();
    const reader = readSse(res.body!, parser);
    // The first event only comes after heartbeats: emitted once two were seen.
    await subscribed(1);
    const watcher = (async () => {
      while (parser.comments < 3) await new Promise((r) => setTimeout(r, 10));
      tap.emit({ type: 'operation.ended', tenantId: 't_h', operationId: 'op_h', data: {} });
    })();
    const first = await reader.next();
    await watcher;
    expect(parser.comments).toBeGreaterThanOrEqual(3);
    expect(first.value).toMatchObject({ event: 'operation.ended' });
    await reader.return(undefined);
  });

  it('filters by tenant (id or slug) and by operation', async () => {
    const acme = await tenant('stream-acme');
    const res = await open(`?tenant=${acme.slug}`);
    const byOp = await open('?operation=op_01ARZ3NDEKTSV4RRFFQ69G5FAV');
    await subscribed(2);
    tap.emit({ type: 'operation.step', tenantId: 't_other', operationId: 'op_x', data: {} });
    tap.emit({
      type: 'operation.step',
      tenantId: acme.tenantId,
      operationId: 'op_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      data: { step: 'Begin' },
    });
    const [mine] = await take(res, 1);
    expect(JSON.parse(mine!.data)).toMatchObject({ tenantId: acme.tenantId, data: { step: 'Begin' } });
    const [op] = await take(byOp, 1);
    expect(JSON.parse(op!.data)).toMatchObject({ operationId: 'op_01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    const missing = await open('?tenant=no-such-tenant');
    expect(missing.status).toBe(404);
    expect(await codeOf(missing)).toBe('TENANT_NOT_FOUND');
  });

  it('carries rollout events to credentials with rollouts:read, by rollout when asked, never to a tenant filter', async () => {
    const rolloutId = 'ro_01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const other = 'ro_01ARZ3NDEKTSV4RRFFQ69G5FAW';
    const tenantsOnly = await t.keyWith(['tenants:read']);
    const both = await t.keyWith(['tenants:read', 'rollouts:read']);
    const all = await open('', { key: both });
    const one = await open(`?rollout=${rolloutId}`, { key: both });
    const noScope = await open('', { key: tenantsOnly });
    await subscribed(3);
    tap.emit({ type: 'rollout.started', rolloutId: other, data: { waves: [] } });
    tap.emit({ type: 'rollout.wave_completed', rolloutId, data: { wave: 'basic', index: 0 } });
    // The tenants:read-only stream sees the next tenant event, not the rollout events before it.
    tap.emit({ type: 'operation.step', tenantId: 't_ro', operationId: 'op_ro', data: { step: 'Begin' } });
    const [started, completed] = await take(all, 2);
    expect(started).toMatchObject({ event: 'rollout.started' });
    expect(JSON.parse(completed!.data)).toMatchObject({
      type: 'rollout.wave_completed',
      version: 1,
      rolloutId,
      data: { wave: 'basic' },
    });
    expect(JSON.parse(completed!.data)).not.toHaveProperty('tenantId');
    const [mine] = await take(one, 1);
    expect(JSON.parse(mine!.data)).toMatchObject({ rolloutId, type: 'rollout.wave_completed' });
    const [first] = await take(noScope, 1);
    expect(first).toMatchObject({ event: 'operation.step' });
    const refused = await open(`?rollout=${rolloutId}`, { key: tenantsOnly });
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe('FORBIDDEN');
    const bad = await open('?rollout=ro_nope', { key: both });
    expect(bad.status).toBe(400);
  });

  it('resumes after Last-Event-ID, and says stream.gap for an id it no longer holds', async () => {
    const first = tap.emit({ type: 'operation.step', tenantId: 't_r', operationId: 'op_r', data: { n: 1 } });
    tap.emit({ type: 'operation.step', tenantId: 't_r', operationId: 'op_r', data: { n: 2 } });
    tap.emit({ type: 'operation.step', tenantId: 't_r', operationId: 'op_r', data: { n: 3 } });
    const resumed = await take(await open('', { lastEventId: first.id }), 2);
    expect(resumed.map((m) => JSON.parse(m.data).data.n)).toEqual([2, 3]);
    const [gap] = await take(await open('', { lastEventId: 'an-old-process-7' }), 1);
    expect(gap).toMatchObject({ event: 'stream.gap' });
  });

  it('needs tenants:read, refuses unknown parameters, and bounds the streams open at once', async () => {
    const callbackOnly = await t.keyWith(['operations:callback']);
    const forbidden = await open('', { key: callbackOnly });
    expect(forbidden.status).toBe(403);
    const bad = await open('?follow=1');
    expect(bad.status).toBe(400);
    expect(await codeOf(bad)).toBe('UNKNOWN_QUERY_PARAMETER');
    const reader = await t.keyWith(['tenants:read']);
    const streams = await Promise.all([open('', { key: reader }), open(), open()]);
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
    const fourth = await open();
    expect(fourth.status).toBe(503);
    expect(await codeOf(fourth)).toBe('EVENT_STREAM_UNAVAILABLE');
    for (const s of streams) await s.body!.cancel();
  });
});

describe('GET /v1/events/stream without a tap, and on shutdown', () => {
  it('answers EVENT_STREAM_UNAVAILABLE where no workflows run', async () => {
    const app = await startTestApp({ registry: t.registry });
    try {
      const res = await app.call({ method: 'GET', url: '/v1/events/stream' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('EVENT_STREAM_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });

  it('lets go of a client that stops reading once too much waits for it', async () => {
    const ownTap = new EventTap();
    const app = await startTestApp({
      registry: t.registry,
      deps: { events: { tap: ownTap, maxBufferedBytes: 64 * 1024 } },
    });
    try {
      const url = await app.app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${url}/v1/events/stream`, {
        headers: { authorization: `Bearer ${app.adminKey}` },
      });
      while (ownTap.subscribers < 1) await new Promise((r) => setImmediate(r));
      // Nothing is read while 200 events of 64 KiB are published: far more than the socket holds.
      const big = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 200; i++)
        ownTap.emit({ type: 'operation.step', tenantId: 't_s', operationId: 'op_s', data: { big } });
      // What was sent before the cut still arrives, then the stream ends with the reason.
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) text += decoder.decode(chunk, { stream: true });
      expect(text.trimEnd().endsWith(': too far behind; reconnect with Last-Event-ID')).toBe(true);
      expect(text.split('event: operation.step').length - 1).toBeLessThan(200);
      expect(ownTap.subscribers).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('ends open streams when the control plane closes', async () => {
    const ownTap = new EventTap();
    const app = await startTestApp({ registry: t.registry, deps: { events: { tap: ownTap } } });
    const url = await app.app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${url}/v1/events/stream`, {
      headers: { authorization: `Bearer ${app.adminKey}` },
    });
    while (ownTap.subscribers < 1) await new Promise((r) => setImmediate(r));
    const drained = (async () => {
      for await (const _ of readSse(res.body!)) {
        // nothing is published: the loop ends when the server ends the stream
      }
    })();
    await app.close();
    await drained;
    expect(ownTap.subscribers).toBe(0);
  });
});

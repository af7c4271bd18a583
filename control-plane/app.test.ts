import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../core/errors.js';
import { ADMIN_KEY, startTestApp, type TestApp, tenantBody } from '../test/api/harness.js';
import { lifecycleWith, RegistryOnlyLifecycle, signal } from '../test/api/registry-only-lifecycle.js';

let t: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  t = await startTestApp({
    overrides: { bodyLimit: 2048, logLevel: 'info' },
    deps: { logger: { stream } },
    lifecycle: (registry, catalog) => {
      const inner = new RegistryOnlyLifecycle(registry, catalog);
      // A tenant named "Crash" makes the lifecycle fail in an unexpected way.
      return Object.assign(Object.create(inner) as RegistryOnlyLifecycle, {
        onboard: (
          request: Parameters<RegistryOnlyLifecycle['onboard']>[0],
          ctx: Parameters<RegistryOnlyLifecycle['onboard']>[1],
        ) => {
          if (request.name === 'Crash') throw new Error('secret internal detail');
          if (request.name === 'Aws')
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
          return inner.onboard(request, ctx);
        },
      });
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const errorOf = (res: { json(): unknown }) =>
  (res.json() as { error: { code: string; message: string } }).error;

describe('HTTP error mapping', () => {
  it('answers 400 INVALID_JSON for a body that is not JSON', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('INVALID_JSON');
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a body that is not application/json', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers: { 'content-type': 'text/plain' },
      payload: 'name=acme',
    });
    expect(res.statusCode).toBe(415);
    expect(errorOf(res).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 BODY_TOO_LARGE over the configured limit, and writes nothing', async () => {
    const before = await t.countItems();
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('big', { name: 'x'.repeat(4000) }),
    });
    expect(res.statusCode).toBe(413);
    expect(errorOf(res)).toMatchObject({
      code: 'BODY_TOO_LARGE',
      message: expect.stringContaining('2048 bytes'),
    });
    expect(await t.countItems()).toBe(before);
  });

  it('answers 404 ROUTE_NOT_FOUND for an unknown route', async () => {
    const res = await t.call({ method: 'GET', url: '/v2/nothing' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers 500 INTERNAL without the internal message, naming the request id', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers: { 'x-request-id': 'req-crash-1' },
      payload: tenantBody('crash', { name: 'Crash' }),
    });
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).code).toBe('INTERNAL');
    expect(errorOf(res).message).toContain('req-crash-1');
    expect(res.body).not.toContain('secret internal detail');
    expect(logLines.some((l) => l.includes('secret internal detail') && l.includes('req-crash-1'))).toBe(
      true,
    );
  });

  it('maps an AWS throttling error to 503 AWS_THROTTLED', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('aws-throttled', { name: 'Aws' }),
    });
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe('AWS_THROTTLED');
  });

  it('renders a ControlPlaneError with its catalogue status', () => {
    const e = new ControlPlaneError('OPERATION_IN_PROGRESS', 'busy', { details: { operationId: 'op_x' } });
    expect(e.status).toBe(409);
    expect(e.toJSON()).toEqual({
      code: 'OPERATION_IN_PROGRESS',
      message: 'busy',
      details: { operationId: 'op_x' },
    });
  });
});

describe('request ids and logs', () => {
  it('echoes a sane X-Request-Id and makes one otherwise', async () => {
    const given = await t.call({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await t.call({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const onError = await t.call({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'on-error' } });
    expect(onError.headers['x-request-id']).toBe('on-error');
  });

  it('logs tenantId and operationId, and never the credential', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/tenants',
      headers: { 'x-request-id': 'req-logged' },
      payload: tenantBody('logged'),
    });
    const { tenant, operation } = res.json() as {
      tenant: { tenantId: string };
      operation: { operationId: string };
    };
    const mine = logLines
      .filter((l) => l.includes('req-logged'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const completed = mine.find((l) => l.msg === 'request completed');
    expect(completed).toMatchObject({
      tenantId: tenant.tenantId,
      operationId: operation.operationId,
      requestId: 'req-logged',
    });
    expect(logLines.some((l) => l.includes(ADMIN_KEY))).toBe(false);
  });
});

describe('shutdown', () => {
  it('lets an in-flight request finish, then closes and stops listening', async () => {
    const gate = signal();
    // The request signals when its handler runs: it is in flight when close() starts.
    const inFlightNow = signal();
    const other = await startTestApp({
      registry: t.registry,
      lifecycle: lifecycleWith('onboard', () => {
        inFlightNow.fire();
        return gate.wait;
      }),
    });
    const url = await other.app.listen({ host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(tenantBody('drained')),
    });
    await inFlightNow.wait;
    const closed = other.close();
    gate.fire();
    expect((await inFlight).status).toBe(202);
    await closed;
    expect(other.app.server.listening).toBe(false);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

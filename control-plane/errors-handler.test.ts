import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../core/aws/clients.js';
import { ControlPlaneError, ERROR_CATALOGUE } from '../core/errors.js';
import { Registry } from '../core/registry/registry.js';
import { ADMIN_KEY, startTestApp, type TestApp, tenantBody } from '../test/api/harness.js';
import { testRegistry } from '../test/support/aws.js';
import { toControlPlaneError } from './errors-handler.js';

/**
 * Every 4xx/5xx answers the catalogue's shape, `{ error: { code, message, requestId } }` with the
 * code's status and the same id in X-Request-Id, including the errors Node and Fastify raise before
 * a route runs. Sent over a real socket: some of them never reach an `inject`ed request.
 */

let t: TestApp;
let base: string;

beforeAll(async () => {
  t = await startTestApp();
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => t?.close());

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly requestId: string | undefined;
  readonly body: string;
}

/** A raw HTTP/1.1 request, so headers Node refuses still get sent. */
function raw(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      {
        method: options.method ?? 'GET',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            requestId: res.headers['x-request-id'] as string | undefined,
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function expectCatalogued(answer: Answer, code: keyof typeof ERROR_CATALOGUE): void {
  const where = `${answer.status} ${answer.body.slice(0, 300)}`;
  expect(answer.status, where).toBe(ERROR_CATALOGUE[code].status);
  expect(answer.contentType, where).toMatch(/^application\/json/);
  const { error } = JSON.parse(answer.body);
  expect(error.code, where).toBe(code);
  expect(error.message, where).toEqual(expect.any(String));
  expect(error.requestId, where).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(error.requestId, where).toBe(answer.requestId);
}

describe('errors raised before a route runs', () => {
  it('431 HEADERS_TOO_LARGE for headers over 16 KiB', async () => {
    expectCatalogued(
      await raw('/v1/tenants', { headers: { 'x-padding': 'a'.repeat(20_000) } }),
      'HEADERS_TOO_LARGE',
    );
  });

  it('414 URI_TOO_LONG for a path segment longer than any id', async () => {
    const answer = await raw(`/v1/tenants/${'a'.repeat(150)}`);
    expectCatalogued(answer, 'URI_TOO_LONG');
    expect(JSON.parse(answer.body).error.message).toContain('100 characters');
  });

  it('400 BAD_REQUEST for a URL with bad percent-encoding', async () => {
    expectCatalogued(await raw('/v1/tenants/%zz'), 'BAD_REQUEST');
  });

  it('404 ROUTE_NOT_FOUND', async () => {
    expectCatalogued(await raw('/v1/nothing-here'), 'ROUTE_NOT_FOUND');
  });

  it('413 BODY_TOO_LARGE, 415 UNSUPPORTED_MEDIA_TYPE and 400 INVALID_JSON', async () => {
    const json = { 'content-type': 'application/json' };
    const big = JSON.stringify(tenantBody('big', { name: 'x'.repeat(t.config.bodyLimit + 1) }));
    expectCatalogued(
      await raw('/v1/tenants', { method: 'POST', headers: json, body: big }),
      'BODY_TOO_LARGE',
    );
    expectCatalogued(
      await raw('/v1/tenants', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expectCatalogued(
      await raw('/v1/tenants', { method: 'POST', headers: json, body: '{"name":' }),
      'INVALID_JSON',
    );
  });

  it('keeps a sane caller X-Request-Id in the body and the header', async () => {
    const answer = await raw('/v1/nothing-here', { headers: { 'x-request-id': 'trace-1234' } });
    expectCatalogued(answer, 'ROUTE_NOT_FOUND');
    expect(answer.requestId).toBe('trace-1234');
  });
});

describe('AWS unreachable', () => {
  /** The API with its registry pointed at a port nothing listens on (API keys stay on moto). */
  async function withDeadRegistry(target: 'local' | 'aws'): Promise<TestApp> {
    const real = await testRegistry();
    const dead = createAwsClients({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const registry = new Registry({ documents: dead.documents, tableName: real.tableName });
    return startTestApp({ registry, overrides: { target } });
  }

  it('answers 503 LOCAL_AWS_UNAVAILABLE in local mode, as docs/errors.md promises', async () => {
    const app = await withDeadRegistry('local');
    try {
      const res = await app.call({ method: 'GET', url: '/v1/tenants' });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json().error.code).toBe('LOCAL_AWS_UNAVAILABLE');
      expect(res.json().error.message).toContain('ECONNREFUSED');
    } finally {
      await app.close();
    }
  });

  it('answers 503 AWS_TRANSIENT against AWS (a refused connection there is not the emulator)', async () => {
    const app = await withDeadRegistry('aws');
    try {
      const res = await app.call({ method: 'GET', url: '/v1/tenants' });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json().error.code).toBe('AWS_TRANSIENT');
    } finally {
      await app.close();
    }
  });
});

describe('toControlPlaneError', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
    code: 'ECONNREFUSED',
    $metadata: { attempts: 3 },
  });

  it('reads a refused connection through an error a lower layer already classified', () => {
    const wrapped = new ControlPlaneError('AWS_TRANSIENT', 'reading tenants: ECONNREFUSED', {
      cause: refused,
    });
    expect(toControlPlaneError(wrapped, 'r1', { localAws: true }).code).toBe('LOCAL_AWS_UNAVAILABLE');
    expect(toControlPlaneError(wrapped, 'r1', { localAws: false }).code).toBe('AWS_TRANSIENT');
    expect(toControlPlaneError(refused, 'r1', { localAws: true }).code).toBe('LOCAL_AWS_UNAVAILABLE');
  });

  it('classifies other AWS errors with the one classifier (core/aws/errors.ts)', () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: {} });
    const denied = Object.assign(new Error('no'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    expect(toControlPlaneError(throttled, 'r1').code).toBe('AWS_THROTTLED');
    expect(toControlPlaneError(denied, 'r1').code).toBe('AWS_ERROR');
  });
});

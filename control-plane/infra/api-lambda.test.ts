import {
  CreateSecretCommand,
  type GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { testEndpoint, uniqueName } from '../../test/support/aws.js';
import {
  createHandler,
  type HttpApiEvent,
  readSecretSettings,
  toHttpApiResult,
  toInjectOptions,
} from '../lambda.js';
import { RESUME_OPEN_EVENT, SECRET_ARN_VARIABLES } from './contract.js';

/** The API function's adapter between API Gateway HTTP API events (payload 2.0) and Fastify. */

const event = (overrides: Partial<HttpApiEvent> & { method?: string } = {}): HttpApiEvent => ({
  rawPath: overrides.rawPath ?? '/echo',
  rawQueryString: overrides.rawQueryString ?? '',
  headers: overrides.headers ?? {},
  ...(overrides.cookies ? { cookies: overrides.cookies } : {}),
  ...(overrides.body !== undefined ? { body: overrides.body } : {}),
  ...(overrides.isBase64Encoded !== undefined ? { isBase64Encoded: overrides.isBase64Encoded } : {}),
  requestContext: { http: { method: overrides.method ?? 'GET', sourceIp: '198.51.100.7' } },
});

async function echoApp() {
  const app = Fastify();
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.all('/echo', async (request, reply) => {
    reply.header('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    reply.header('x-multi', ['one', 'two']);
    const body = request.body;
    return {
      method: request.method,
      url: request.url,
      query: request.query,
      ip: request.ip,
      cookie: request.headers.cookie ?? null,
      signature: request.headers['webhook-signature'] ?? null,
      body: Buffer.isBuffer(body) ? body.toString('hex') : (body ?? null),
    };
  });
  app.get('/png', async (_request, reply) =>
    reply.type('image/png').send(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0])),
  );
  await app.ready();
  return app;
}

describe('HTTP API events ↔ Fastify', () => {
  it('passes method, path, query, headers, cookies, source ip and a JSON body through unchanged', async () => {
    const app = await echoApp();
    const result = toHttpApiResult(
      await app.inject(
        toInjectOptions(
          event({
            method: 'POST',
            rawQueryString: 'limit=5&tier=basic',
            headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,abc' },
            cookies: ['s=1', 't=2'],
            body: '{"name":"Acme"}',
          }),
        ),
      ),
    );
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(false);
    expect(JSON.parse(result.body)).toEqual({
      method: 'POST',
      url: '/echo?limit=5&tier=basic',
      query: { limit: '5', tier: 'basic' },
      ip: '198.51.100.7',
      cookie: 's=1; t=2',
      signature: 'v1,abc',
      body: { name: 'Acme' },
    });
    expect(result.cookies).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(result.headers['x-multi']).toBe('one, two');
    expect(result.headers['set-cookie']).toBeUndefined();
    await app.close();
  });

  it('decodes base64 request bodies and encodes binary responses', async () => {
    const app = await echoApp();
    const raw = Buffer.from([0, 1, 2, 250]);
    const echoed = toHttpApiResult(
      await app.inject(
        toInjectOptions(
          event({
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream' },
            body: raw.toString('base64'),
            isBase64Encoded: true,
          }),
        ),
      ),
    );
    expect(JSON.parse(echoed.body).body).toBe('000102fa');
    const png = toHttpApiResult(await app.inject(toInjectOptions(event({ rawPath: '/png' }))));
    expect(png).toMatchObject({
      statusCode: 200,
      isBase64Encoded: true,
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0]).toString('base64'),
    });
    await app.close();
  });
});

describe('createHandler', () => {
  it('builds the runtime once, retries a failed build, and answers the resume schedule', async () => {
    const app = await echoApp();
    let builds = 0;
    let resumed = 0;
    const handler = createHandler(async () => {
      builds += 1;
      if (builds === 1) throw new Error('secrets unreachable');
      return {
        app,
        engine: { resumeOpen: async () => ++resumed },
        rolloutEngine: { resumeOpen: async () => 2 },
      };
    });
    await expect(handler(event())).rejects.toThrow('secrets unreachable');
    expect(await handler(event())).toMatchObject({ statusCode: 200 });
    expect(await handler(event())).toMatchObject({ statusCode: 200 });
    expect(await handler(RESUME_OPEN_EVENT)).toEqual({ resumed: 1, rollouts: 2 });
    expect(builds).toBe(2);
    await app.close();
  });
});

describe('readSecretSettings', () => {
  it('reads the secrets the environment names, and only those', async () => {
    const asked: string[] = [];
    const client = {
      send: async (command: GetSecretValueCommand) => {
        asked.push(String(command.input.SecretId));
        return { SecretString: `value-of-${command.input.SecretId}` };
      },
    } as never;
    expect(await readSecretSettings({ [SECRET_ARN_VARIABLES.adminKey]: 'arn:admin' }, client)).toEqual({
      adminKey: 'value-of-arn:admin',
    });
    expect(asked).toEqual(['arn:admin']);
    expect(await readSecretSettings({}, client)).toEqual({});
  });

  it('the Stripe key and webhook secret in Secrets Manager (moto) become the billing settings', async () => {
    const client = new SecretsManagerClient({
      endpoint: testEndpoint(),
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const create = async (name: string, value: string) =>
      (await client.send(new CreateSecretCommand({ Name: uniqueName(name), SecretString: value }))).ARN!;
    const env = {
      [SECRET_ARN_VARIABLES.stripeSecretKey]: await create('stripe-key', 'sk_test_0123456789abcdef'),
      [SECRET_ARN_VARIABLES.stripeWebhookSecret]: await create('stripe-webhook', 'whsec_0123456789abcdef'),
    };
    const secrets = await readSecretSettings(env, client);
    expect(secrets).toEqual({
      stripeSecretKey: 'sk_test_0123456789abcdef',
      stripeWebhookSecret: 'whsec_0123456789abcdef',
    });
    // The values are checked as if they had been set in the environment.
    const config = loadConfig({ env: {}, overrides: { target: 'aws', ...secrets } });
    expect(config.stripeSecretKey).toBe('sk_test_0123456789abcdef');
    expect(() =>
      loadConfig({ env: {}, overrides: { target: 'aws', ...secrets, stripeSecretKey: 'pk_test_nope' } }),
    ).toThrow(/stripeSecretKey|STRIPE_SECRET_KEY/);
  });

  it('refuses a secret without a string value', async () => {
    const client = { send: async () => ({}) } as never;
    await expect(
      readSecretSettings({ [SECRET_ARN_VARIABLES.signupWebhookSecret]: 'arn:webhook' }, client),
    ).rejects.toThrow(/holds no string value/);
  });
});

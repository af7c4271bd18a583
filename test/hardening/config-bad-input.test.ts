import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, tenantBody } from '../api/harness.js';
import { BAD_TENANT_REFS, expectCataloguedRefusal, writesNothing } from './support/refusals.js';

/**
 * Bad input to the config and quota routes (GET/PATCH /v1/tenants/:id/config, GET /v1/quotas),
 * generated with fast-check, each case invalid by construction: every answer is a 4xx with a
 * catalogued code and its status, and the registry table holds exactly the items it held before
 * (as test/hardening/bad-input.test.ts proves for the tenant routes).
 */

const SEED = Number(process.env.HARDENING_SEED ?? 20261204);
const RUNS = 60;
const runs = { numRuns: RUNS, seed: SEED, endOnFailure: true };

let h: TestApp;
let slug: string;
let readOnlyKey: string;
let configReader: string;
const sent = new Map<string, number>();

beforeAll(async () => {
  h = await startTestApp();
  slug = 'config-bad-input';
  const res = await h.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) });
  await h.registry.finishOperation({ operationId: res.json().operation.operationId, outcome: 'succeeded' });
  // A config that exists, so a refusal is never "nothing to patch".
  expect(
    (await h.call({ method: 'PATCH', url: `/v1/tenants/${slug}/config`, payload: { flags: { sso: true } } }))
      .statusCode,
  ).toBe(200);
  readOnlyKey = await h.keyWith(['tenants:read']);
  configReader = await h.keyWith(['tenants:config:read']);
});
afterAll(async () => h?.close());

interface Case {
  readonly label: string;
  readonly request: InjectOptions & { key?: string | null };
}

async function refused(route: string, c: Case): Promise<void> {
  sent.set(route, (sent.get(route) ?? 0) + 1);
  expectCataloguedRefusal(await h.call(c.request), c.label);
}

const unchanged = (property: () => Promise<void>): Promise<void> => writesNothing(h, property);

const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { minKeys: 1, maxKeys: 2 }),
);
const CONTROL = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const badFlagName = fc.oneof(
  fc.constantFrom('', 'Sso', '1flag', '-x', '.x', 'a b', 'a/b', 'é', '$where', '__proto__x!', 'x'.repeat(65)),
  fc
    .tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.constantFrom(' ', '/', ':', '#', '\u0000', '日'))
    .map(([a, b]) => `${a}${b}`),
);
const badFlagValue = fc.oneof(
  fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.boolean(), { minKeys: 1, maxKeys: 2 }),
  fc.string({ minLength: 257, maxLength: 400 }),
  fc.tuple(fc.stringMatching(/^[a-z]{1,8}$/), CONTROL).map(([a, c]) => `${a}${c}`),
);
const badUrl = fc.constantFrom(
  'http://cdn.example.com/logo.png',
  'ftp://cdn.example.com/logo.png',
  'javascript:alert(1)',
  'data:image/png;base64,AAAA',
  '//cdn.example.com/logo.png',
  'https://',
  'https://user:secret@cdn.example.com/l.png',
  'not a url',
  `https://cdn.example.com/${'x'.repeat(2100)}`,
  '',
);
const badColour = fc.constantFrom(
  'red',
  '#fff',
  '#12345',
  '#1234567',
  '123456',
  '#gg0000',
  'rgb(0,0,0)',
  '',
  '#12 456',
);
const badHostname = fc.constantFrom(
  'localhost',
  '*.acme.example.com',
  '-a.example.com',
  'a-.example.com',
  'a..example.com',
  'example.com.',
  '10.0.0.1',
  '[::1]',
  'https://app.example.com',
  'app.example.com/path',
  'app_1.example.com',
  'app.exa mple.com',
  `${'a'.repeat(64)}.example.com`,
  `${'a.'.repeat(127)}com`,
  'app.example.com:443',
  'ü.example.com',
  '',
);

const badPatch = fc.oneof(
  fc.tuple(badFlagName, fc.boolean()).map(([name, v]) => ({
    label: `flag name ${JSON.stringify(name)}`,
    body: { flags: { [name]: v } } as unknown,
  })),
  badFlagValue.map((v) => ({
    label: `flag value ${JSON.stringify(v).slice(0, 40)}`,
    body: { flags: { beta: v } } as unknown,
  })),
  fc
    .oneof(
      wrongType.filter((v) => v !== null && !(typeof v === 'object' && !Array.isArray(v))),
      fc.string(),
    )
    .map((v) => ({
      label: `flags ${JSON.stringify(v).slice(0, 30)}`,
      body: { flags: v } as unknown,
    })),
  fc.constant({
    label: 'more than 100 flags',
    body: { flags: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, true])) } as unknown,
  }),
  badUrl.map((u) => ({ label: `logoUrl ${u.slice(0, 40)}`, body: { branding: { logoUrl: u } } as unknown })),
  fc
    .tuple(fc.constantFrom('primary', 'secondary', 'accent', 'background', 'text'), badColour)
    .map(([role, c]) => ({
      label: `colour ${role}=${c}`,
      body: { branding: { colours: { [role]: c } } } as unknown,
    })),
  fc.constantFrom('shadow', 'Primary', 'link').map((role) => ({
    label: `unknown colour role ${role}`,
    body: { branding: { colours: { [role]: '#000000' } } } as unknown,
  })),
  fc
    .oneof(
      fc.constantFrom('', '   ', 'x'.repeat(101)),
      fc.tuple(fc.stringMatching(/^[A-Za-z]{2,10}$/), CONTROL).map(([a, c]) => `${a}${c}b`),
    )
    .map((n) => ({
      label: `branding name ${JSON.stringify(n).slice(0, 30)}`,
      body: { branding: { name: n } } as unknown,
    })),
  fc
    .constantFrom('title', 'favicon', 'css')
    .map((k) => ({ label: `unknown branding ${k}`, body: { branding: { [k]: 'x' } } as unknown })),
  badHostname.map((host) => ({
    label: `hostname ${JSON.stringify(host).slice(0, 40)}`,
    body: { domain: { hostname: host } } as unknown,
  })),
  fc
    .oneof(
      wrongType.filter((v) => v !== null),
      fc.string(),
    )
    .map((v) => ({
      label: `domain ${JSON.stringify(v).slice(0, 30)}`,
      body: { domain: v } as unknown,
    })),
  fc.constantFrom('status', 'certificateArn', 'validationRecords').map((k) => ({
    label: `domain with ${k}`,
    body: { domain: { hostname: 'app.example.com', [k]: 'ISSUED' } } as unknown,
  })),
  fc
    .tuple(
      fc.constantFrom(
        'version',
        'tenantId',
        'tier',
        'overrides',
        'flagSources',
        'updatedBy',
        'etag',
        'Flags',
      ),
      wrongType,
    )
    .map(([k, v]) => ({
      label: `unknown field ${k}`,
      body: { [k]: v } as unknown,
    })),
  fc
    .constantFrom({}, [], 'flags', 42, true, [{ flags: {} }])
    .map((b) => ({ label: `body ${JSON.stringify(b)}`, body: b as unknown })),
);

const patchRequest = (body: unknown, extra: Record<string, string> = {}): InjectOptions => ({
  method: 'PATCH',
  url: `/v1/tenants/${slug}/config`,
  payload: JSON.stringify(body),
  headers: { 'content-type': 'application/merge-patch+json', ...extra },
});

const badRef = fc.constantFrom(...BAD_TENANT_REFS, 'acme--corp', 'a_b', 'a.b');
const badQueryName = fc.stringMatching(/^[a-z]{1,12}$/).filter((n) => n.length > 0);

describe('generated bad input to the config and quota routes: a catalogued 4xx, nothing written', () => {
  it(`PATCH /v1/tenants/:id/config: ${RUNS} bad patches, media types, JSON and headers`, async () => {
    const caseArb = fc.oneof(
      { weight: 6, arbitrary: badPatch.map(({ label, body }) => ({ label, request: patchRequest(body) })) },
      fc
        .constantFrom('{', '{"flags":', "{'flags':{}}", '{"flags":{}},', 'NaN', '[1,', '\u0000')
        .map((raw) => ({
          label: `bad JSON ${JSON.stringify(raw)}`,
          request: { ...patchRequest({}), payload: raw },
        })),
      fc
        .constantFrom(
          'text/plain',
          'application/xml',
          'application/json-patch+json',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
        )
        .map((type) => ({
          label: `content type ${type}`,
          request: patchRequest({ flags: { sso: false } }, { 'content-type': type }),
        })),
      fc.constantFrom('x'.repeat(513), '"'.repeat(600)).map((tag) => ({
        label: `If-Match of ${tag.length} characters`,
        request: patchRequest({ flags: { sso: false } }, { 'if-match': tag }),
      })),
      fc.constantFrom('"0-stale"', '"1-AAAAAAAAAAAAAAAA"', 'W/"9-x"').map((tag) => ({
        label: `stale If-Match ${tag}`,
        request: patchRequest({ flags: { sso: false } }, { 'if-match': tag }),
      })),
      fc.tuple(badRef, fc.constant({ flags: { sso: false } })).map(([ref, body]) => ({
        label: `PATCH path ${ref}`,
        request: { ...patchRequest(body), url: `/v1/tenants/${ref}/config` },
      })),
      fc.constantFrom(null, 'read-only', 'config-reader', 'unknown').map((who) => ({
        label: `PATCH as ${who}`,
        request: {
          ...patchRequest({ flags: { sso: false } }),
          key:
            who === null
              ? null
              : who === 'read-only'
                ? readOnlyKey
                : who === 'config-reader'
                  ? configReader
                  : 'tcp_unknown',
        },
      })),
      badQueryName.map((q) => ({
        label: `PATCH ?${q}=1`,
        request: { ...patchRequest({ flags: { sso: false } }), url: `/v1/tenants/${slug}/config?${q}=1` },
      })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async (c) => refused('patch', c)),
        runs,
      ),
    );
  });

  it(`GET /v1/tenants/:id/config: ${RUNS} bad paths, queries, headers and credentials`, async () => {
    const caseArb = fc.oneof(
      badRef.map((ref) => ({
        label: `GET path ${ref}`,
        request: { method: 'GET' as const, url: `/v1/tenants/${ref}/config` },
      })),
      fc.constantFrom('no-such-tenant', 't_01ARZ3NDEKTSV4RRFFQ69G5FAV').map((ref) => ({
        label: `GET unknown tenant ${ref}`,
        request: { method: 'GET' as const, url: `/v1/tenants/${ref}/config` },
      })),
      badQueryName.map((q) => ({
        label: `GET ?${q}=1`,
        request: { method: 'GET' as const, url: `/v1/tenants/${slug}/config?${q}=1` },
      })),
      fc.constantFrom('x'.repeat(513), 'W/'.repeat(300)).map((tag) => ({
        label: `If-None-Match of ${tag.length} characters`,
        request: {
          method: 'GET' as const,
          url: `/v1/tenants/${slug}/config`,
          headers: { 'if-none-match': tag },
        },
      })),
      fc.constantFrom(null, 'read-only', 'unknown', 'Basic abc').map((who) => ({
        label: `GET as ${who}`,
        request: {
          method: 'GET' as const,
          url: `/v1/tenants/${slug}/config`,
          ...(who === 'Basic abc'
            ? { key: null, headers: { authorization: 'Basic abc' } }
            : { key: who === null ? null : who === 'read-only' ? readOnlyKey : 'tcp_unknown' }),
        },
      })),
      fc.constantFrom('PUT', 'POST').map((method) => ({
        label: `${method} /config`,
        request: {
          method: method as 'PUT',
          url: `/v1/tenants/${slug}/config`,
          payload: '{}',
          headers: { 'content-type': 'application/json' },
        },
      })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async (c) => refused('get-config', c)),
        runs,
      ),
    );
  });

  it(`GET /v1/quotas: ${RUNS} bad queries, credentials and methods`, async () => {
    const caseArb = fc.oneof(
      fc.tuple(badQueryName, fc.stringMatching(/^[a-z0-9]{0,6}$/)).map(([q, v]) => ({
        label: `?${q}=${v}`,
        request: { method: 'GET' as const, url: `/v1/quotas?${q}=${v}` },
      })),
      fc.constantFrom(null, 'unknown', 'Bearer', 'config-reader').map((who) => ({
        label: `quotas as ${who}`,
        request: {
          method: 'GET' as const,
          url: '/v1/quotas',
          ...(who === 'Bearer'
            ? { key: null, headers: { authorization: 'Bearer' } }
            : { key: who === null ? null : who === 'config-reader' ? configReader : 'tcp_unknown' }),
        },
      })),
      fc.constantFrom('POST', 'PATCH', 'DELETE', 'PUT').map((method) => ({
        label: `${method} /v1/quotas`,
        request: {
          method: method as 'POST',
          url: '/v1/quotas',
          payload: '{}',
          headers: { 'content-type': 'application/json' },
        },
      })),
      fc
        .constantFrom('/v1/quotas/vpc.vpcs', '/v1/quota', '/v1/quotas/..%2f')
        .map((u) => ({ label: `GET ${u}`, request: { method: 'GET' as const, url: u } })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(caseArb, async (c) => refused('quotas', c)),
        runs,
      ),
    );
  });

  it('sent at least 50 generated cases to each route', () => {
    expect(Object.fromEntries(sent)).toEqual({ patch: RUNS, 'get-config': RUNS, quotas: RUNS });
  });
});

import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutStore } from '../../core/rollouts/store.js';
import { TemplateVersionStore } from '../../core/rollouts/template-versions.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { createRolloutService } from '../../workflows/rollouts/service.js';
import { startTestApp, type TestApp, tenantBody } from '../api/harness.js';
import { testClients, testRegistry } from '../support/aws.js';
import { seedTenants } from '../support/seed.js';
import { BAD_TENANT_REFS, expectCatalogued4xx, writesNothing, wrongType } from './support/refusals.js';

/**
 * Bad input to the day-2 routes, generated with fast-check, each case invalid by construction:
 * rollouts (start, brake, pause/resume/abort), operation retry/cancel and history, tenant updates,
 * tenant users, reconcile, orphans, repair and credentials, quotas by region and the event
 * stream's filters. Every answer is a 4xx with a catalogued
 * code of that status (never a 5xx), and the registry table holds exactly the items it held before.
 * As bad-input.test.ts does for the onboarding routes.
 */

const SEED = Number(process.env.HARDENING_SEED ?? 20261205);
const runs = (n: number) => ({ numRuns: n, seed: SEED, endOnFailure: true });

let h: TestApp;
let tenantId: string;
let operationId: string;

beforeAll(async () => {
  const clients = testClients();
  const registry = await testRegistry(clients);
  const io = { db: clients.documents, tableName: registry.tableName, clock: () => new Date() };
  const versions = new TemplateVersionStore(io);
  await versions.register('pool', { versionId: 'aaaaaaaaaaa1', body: '{"Resources":{}}' }, 'test');
  // The rollout service over the real stores; a start is refused in these tests before it runs.
  const rollouts = createRolloutService({
    store: new RolloutStore(io),
    versions,
    registry,
    catalog: TierCatalog.load(),
    events: { publish: async (e) => ({ ...e, version: 1 as const, time: new Date().toISOString() }) },
    start: () => {
      throw new Error('no rollout may start from bad input');
    },
    clock: () => new Date(),
  });
  h = await startTestApp({ registry, deps: { rollouts } });
  const [active] = await seedTenants(clients.documents, h.registry.tableName, 2, () => ({
    tier: 'basic',
    state: 'ACTIVE',
  }));
  clients.destroy();
  tenantId = active!.tenantId;
  const started = await h.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('day2-bad-ok') });
  expect(started.statusCode, started.body).toBe(202);
  operationId = started.json().operation.operationId;
}, 60_000);
afterAll(async () => h?.close());

let sent = 0;
async function expectRefused(label: string, request: InjectOptions & { key?: string | null }): Promise<void> {
  sent += 1;
  await expectCatalogued4xx(h, label, request);
}
const unchanged = (property: () => Promise<void>) => writesNothing(h, property);

const send = (method: InjectOptions['method'], url: string, payload?: unknown): InjectOptions => ({
  method,
  url,
  ...(payload === undefined
    ? {}
    : { headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) }),
});

const INJECTIONS = ["' OR '1'='1", '$(rm -rf /)', '../../etc/passwd', '{"$ne":null}', '<script>', '\u0000'];
/** Ids of the wrong shape: another kind's prefix, bad ULID letters, traversal, injections. */
const badId = (prefix: string) =>
  fc.oneof(
    fc.constantFrom(
      `${prefix}_`,
      `${prefix}_${'0'.repeat(25)}`,
      `${prefix}_${'0'.repeat(25)}I`,
      `${prefix}_${'0'.repeat(27)}`,
      `${prefix.toUpperCase()}_${'0'.repeat(26)}`,
      `xx_${'0'.repeat(26)}`,
      '..%2F..',
      'a%00b',
    ),
    fc.constantFrom(...INJECTIONS).map(encodeURIComponent),
  );
/** Well-formed ids that name nothing: 404 with the kind's code. */
const unknownId = (prefix: string) =>
  fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/).map((u) => `${prefix}_${u}`);

/** A rollout request with one field made bad (value or type), or an unknown field. */
const goodRollout = () => ({ tiers: ['basic'], targetVersion: 'latest', maxConcurrency: 5 });
const BAD_ROLLOUT: Record<string, fc.Arbitrary<unknown>> = {
  tiers: fc.constantFrom([], [''], ['gold'], 'basic', [1]),
  isolation: fc.constantFrom([], ['shared'], ['POOL '], 'pool'),
  targetVersion: fc.oneof(
    fc.constantFrom('v2', 'LATEST', 'abcdefabcdef', 'ABCDEFABCDEF', ''),
    fc.stringMatching(/^([0-9a-f]{1,11}|[0-9a-f]{13,20})$/),
  ),
  waves: fc.constantFrom(
    {},
    [{}],
    [{ percent: 0 }],
    [{ percent: 101 }],
    [{ tiers: [] }],
    [{ tenants: [] }],
    [{ tenants: ['nobody-here'] }],
    [{ percent: 50, tiers: ['basic'] }],
    Array.from({ length: 21 }, () => ({ percent: 5 })),
  ),
  maxConcurrency: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 1001 }), fc.constantFrom(1.5, '5')),
  failureBudget: fc.constantFrom(
    { percent: 150 },
    { percent: -1 },
    { count: -1 },
    { count: 1.5 },
    { count: 1, percent: 5 },
    5,
  ),
  canary: fc.constantFrom({ count: 0 }, { count: 101 }, { count: 1, bakeSeconds: -1 }, { bake: 5 }, 1),
  bakeSeconds: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 86_401 })),
  onFailure: fc.constantFrom('retry', 'PAUSE', '', 'rollback '),
};
const badRollout = fc
  .tuple(fc.constantFrom(...Object.keys(BAD_ROLLOUT)), fc.constantFrom('value', 'type', 'extra'))
  .chain(([field, how]) => {
    if (how === 'extra') return wrongType.map((v) => ({ ...goodRollout(), pk: v }));
    const base: Record<string, unknown> = goodRollout();
    // isolation alongside tiers is bad by itself; give it alone so only its value is wrong.
    if (field === 'isolation') delete base.tiers;
    return (how === 'type' ? wrongType : BAD_ROLLOUT[field]!).map((v) => ({ ...base, [field]: v }));
  });

/** Updates made bad: an empty body, a bad name, email or principals, or an unknown field. */
const badUpdate = fc.oneof(
  fc.constant({}),
  fc.constantFrom('', ' ', 'x'.repeat(101)).map((name) => ({ name })),
  fc
    .constantFrom('not-an-email', 'a@', '@b.example', 'a b@c.example', `${'x'.repeat(250)}@e.example`)
    .map((adminEmail) => ({ adminEmail })),
  fc
    .constantFrom(
      ['not-an-arn'],
      'arn:aws:iam::123456789012:root',
      Array.from({ length: 21 }, () => '123456789012'),
      [''],
    )
    .map((allowedPrincipals) => ({ allowedPrincipals })),
  fc
    .constantFrom('slug', 'tier', 'state', 'tenantId')
    .chain((f) => wrongType.map((v) => ({ name: 'Ok', [f]: v }))),
  fc.constantFrom('name', 'adminEmail', 'allowedPrincipals').chain((f) => wrongType.map((v) => ({ [f]: v }))),
);

const badUserBody = fc.oneof(
  fc
    .constantFrom('', 'ab', 'no-at-sign', 'a@', `${'x'.repeat(250)}@e.example`, ...INJECTIONS)
    .map((email) => ({ email })),
  wrongType.map((email) => ({ email })),
  fc.constant({}),
  wrongType.map((v) => ({ email: 'ok@tenant.example.com', role: v })),
);

const OPERATION_QUERY_BAD: Record<string, fc.Arbitrary<string>> = {
  status: fc.constantFrom('DONE', 'succeeded ', '', ...INJECTIONS.map(encodeURIComponent)),
  type: fc.constantFrom('upgrade', 'ONBOARDX', '', 'delete'),
  limit: fc.constantFrom('0', '-1', '201', '1.5', 'ten', ''),
  cursor: fc.constantFrom('not-a-cursor', 'eyJ9', '%00', 'x'.repeat(2100)),
  tenant: fc.constantFrom('', 'x'.repeat(65)),
  unknown: fc.constantFrom('1', 'true'),
};

describe('generated bad input to the day-2 routes is refused with a catalogued 4xx and writes nothing', () => {
  it('POST /v1/rollouts: one bad field (value, type) or an unknown field', async () => {
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(badRollout, (payload) =>
          expectRefused('POST /v1/rollouts', send('POST', '/v1/rollouts', payload)),
        ),
        runs(60),
      ),
    );
  });

  it('rollout brake and controls: bad ids, unknown rollouts and bad PATCH bodies', async () => {
    const badPatch = fc.oneof(
      fc.constant({}),
      fc.constantFrom(0, 1001, 2.5, '5').map((maxConcurrency) => ({ maxConcurrency })),
      fc.constantFrom({ percent: 101 }, { count: -1 }, 3).map((failureBudget) => ({ failureBudget })),
      wrongType.map((v) => ({ maxConcurrency: 2, status: v })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(
          fc.oneof(badId('ro'), unknownId('ro')),
          badPatch,
          fc.constantFrom('pause', 'resume', 'abort'),
          async (id, patch, action) => {
            await expectRefused(`PATCH rollout ${id}`, send('PATCH', `/v1/rollouts/${id}`, patch));
            await expectRefused(`GET rollout ${id}`, send('GET', `/v1/rollouts/${id}`));
            await expectRefused(`GET rollout tenants ${id}`, send('GET', `/v1/rollouts/${id}/tenants`));
            await expectRefused(`${action} rollout ${id}`, send('POST', `/v1/rollouts/${id}/${action}`, {}));
          },
        ),
        runs(25),
      ),
    );
  });

  it('operation retry/cancel: bad or unknown ids, bodies, and an operation that cannot be retried', async () => {
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(
          fc.oneof(badId('op'), unknownId('op')),
          fc.constantFrom('retry', 'cancel'),
          async (id, action) => {
            await expectRefused(`${action} ${id}`, send('POST', `/v1/operations/${id}/${action}`, {}));
          },
        ),
        runs(20),
      ),
    );
    // A running onboarding is not failed: retry is refused; a body with fields is refused for both.
    await unchanged(async () => {
      await expectRefused(
        'retry a running operation',
        send('POST', `/v1/operations/${operationId}/retry`, {}),
      );
      for (const action of ['retry', 'cancel'])
        await expectRefused(
          `${action} with a body`,
          send('POST', `/v1/operations/${operationId}/${action}`, { force: true }),
        );
    });
  });

  it('operation history: bad filters, limits and cursors, on the fleet list and the tenant list', async () => {
    const badQuery = fc
      .constantFrom(...Object.keys(OPERATION_QUERY_BAD))
      .chain((k) => OPERATION_QUERY_BAD[k]!.map((v) => `${k}=${v}`));
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(badQuery, async (query) => {
          await expectRefused(`GET /v1/operations?${query}`, send('GET', `/v1/operations?${query}`));
          if (!query.startsWith('tenant='))
            await expectRefused(
              `GET tenant operations ?${query}`,
              send('GET', `/v1/tenants/${tenantId}/operations?${query}`),
            );
        }),
        runs(30),
      ),
    );
    // `/v1/tenants/../operations` is `/v1/operations` once the URL is normalized: a list, not a bad ref.
    await unchanged(async () => {
      for (const ref of BAD_TENANT_REFS.filter((r) => r !== '..'))
        await expectRefused(`tenant operations of ${ref}`, send('GET', `/v1/tenants/${ref}/operations`));
    });
  });

  it('PATCH /v1/tenants/:id: bad bodies on an existing tenant, bad refs with a good body', async () => {
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(badUpdate, (payload) =>
          expectRefused('PATCH tenant', send('PATCH', `/v1/tenants/${tenantId}`, payload)),
        ),
        runs(40),
      ),
    );
    await unchanged(async () => {
      for (const ref of BAD_TENANT_REFS)
        await expectRefused(`PATCH ${ref}`, send('PATCH', `/v1/tenants/${ref}`, { name: 'Renamed' }));
    });
  });

  it('tenant users: bad emails, wrong types, unknown fields, bad tenants and usernames', async () => {
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(badUserBody, (payload) =>
          expectRefused('POST users', send('POST', `/v1/tenants/${tenantId}/users`, payload)),
        ),
        runs(30),
      ),
    );
    await unchanged(async () => {
      for (const ref of BAD_TENANT_REFS) {
        await expectRefused(`users of ${ref}`, send('GET', `/v1/tenants/${ref}/users`));
        await expectRefused(
          `add user to ${ref}`,
          send('POST', `/v1/tenants/${ref}/users`, { email: 'a@b.example' }),
        );
      }
      for (const username of ['x'.repeat(129), encodeURIComponent(' ')])
        await expectRefused(
          `disable ${username}`,
          send('POST', `/v1/tenants/${tenantId}/users/${username}/disable`, {}),
        );
    });
  });

  it('reconcile, orphans, repair and credentials: bad bodies, ids and tenant refs', async () => {
    const badReconcile = fc.oneof(
      fc.constantFrom(...BAD_TENANT_REFS).map((tenant) => ({ tenant })),
      wrongType.map((fix) => ({ fix })),
      wrongType.map((v) => ({ all: v })),
    );
    const badOrphans = fc.oneof(
      fc.constant({ ids: [] }),
      fc
        .constantFrom('f_123', 'F_0123456789abcdef', 'f_0123456789ABCDEF', '', ...INJECTIONS)
        .map((id) => ({ ids: [id] })),
      fc.constant({ ids: Array.from({ length: 101 }, (_, i) => `f_${i.toString(16).padStart(16, '0')}`) }),
      wrongType.map((ids) => ({ ids })),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(badReconcile, badOrphans, badId('rc'), async (reconcile, orphans, runId) => {
          await expectRefused('POST /v1/reconcile', send('POST', '/v1/reconcile', reconcile));
          await expectRefused('POST /v1/orphans/delete', send('POST', '/v1/orphans/delete', orphans));
          await expectRefused(`GET run ${runId}`, send('GET', `/v1/reconcile/${runId}`));
        }),
        runs(25),
      ),
    );
    await unchanged(async () => {
      for (const ref of BAD_TENANT_REFS) {
        await expectRefused(`repair ${ref}`, send('POST', `/v1/tenants/${ref}/repair`, {}));
        await expectRefused(`health of ${ref}`, send('GET', `/v1/tenants/${ref}/health`));
        await expectRefused(`credentials of ${ref}`, send('POST', `/v1/tenants/${ref}/credentials`, {}));
      }
      await expectRefused('repair with a body', send('POST', `/v1/tenants/${tenantId}/repair`, { force: 1 }));
    });
  });

  it('quotas by region and the event stream: bad or unallowed regions, bad rollout and operation ids', async () => {
    const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
    const badRegion = fc.oneof(
      fc.constantFrom(
        'EU',
        'us-east',
        'eu-west-1a',
        'US-EAST-1',
        'ap-south-1',
        'eu-central-9',
        ...INJECTIONS,
      ),
      fc.string({ minLength: 1, maxLength: 20 }).filter((r) => !REGION.test(r)),
    );
    await unchanged(() =>
      fc.assert(
        fc.asyncProperty(
          badRegion,
          fc.oneof(badId('ro'), fc.constantFrom('ro_nope')),
          badId('op'),
          async (region, ro, op) => {
            const q = (v: unknown) =>
              encodeURIComponent(String(typeof v === 'string' ? v : JSON.stringify(v)));
            await expectRefused(`quotas in ${region}`, send('GET', `/v1/quotas?region=${q(region)}`));
            await expectRefused(`stream of rollout ${ro}`, send('GET', `/v1/events/stream?rollout=${q(ro)}`));
            await expectRefused(
              `stream of operation ${op}`,
              send('GET', `/v1/events/stream?operation=${q(op)}`),
            );
          },
        ),
        runs(25),
      ),
    );
  });

  it('sent at least 300 generated cases', () => {
    expect(sent).toBeGreaterThanOrEqual(300);
  });
});

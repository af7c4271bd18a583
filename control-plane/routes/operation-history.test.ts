import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../core/registry/records.js';
import {
  ensureRegistryTable,
  OPERATION_INDEXES,
  registryTableDefinition,
} from '../../core/registry/table.js';
import { startTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testClients, uniqueName } from '../../test/support/aws.js';

/** Operation history on moto: 60 operations of 20 tenants, paged, filtered and per tenant. */

let t: TestApp;
/** Every operation made, newest first (ULIDs sort by creation). */
const made: Operation[] = [];

beforeAll(async () => {
  t = await startTestApp();
  for (let i = 0; i < 20; i++) {
    const slug = `hist-${String(i).padStart(2, '0')}`;
    const { operation } = (
      await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) })
    ).json();
    made.push(
      (await t.registry.finishOperation({ operationId: operation.operationId, outcome: 'succeeded' }))
        .operation,
    );
    const suspended = await t.registry.startOperation(slug, 'suspend', {
      actor: 'test',
      input: { reason: 'x' },
    });
    // Every third suspension fails: a status filter has something to find.
    made.push(
      (
        await t.registry.finishOperation({
          operationId: suspended.operation.operationId,
          outcome: i % 3 === 0 ? 'rolled-back' : 'succeeded',
          ...(i % 3 === 0 ? { error: { code: 'WORKFLOW_FAILED', message: 'no' } } : {}),
        })
      ).operation,
    );
    if (i % 3 !== 0) {
      const resumed = await t.registry.startOperation(slug, 'resume', { actor: 'test' });
      made.push(resumed.operation); // left PENDING
    } else {
      const retried = await t.registry.startOperation(slug, 'suspend', {
        actor: 'test',
        input: { reason: 'y' },
      });
      made.push(retried.operation);
    }
  }
  made.sort((a, b) => (a.operationId < b.operationId ? 1 : -1));
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error;

async function pageAll(url: string, key?: string): Promise<{ pages: Operation[][] }> {
  const pages: Operation[][] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await t.call({
      method: 'GET',
      url: `${url}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`,
      ...(key ? { key } : {}),
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { items: Operation[]; nextCursor: string | null };
    pages.push(body.items);
    cursor = body.nextCursor;
  } while (cursor && pages.length < 100);
  return { pages };
}

describe('GET /v1/operations', () => {
  it('pages across all 60 operations, newest first, each once', async () => {
    expect(made).toHaveLength(60);
    const { pages } = await pageAll('/v1/operations?limit=7');
    expect(pages.flat().map((o) => o.operationId)).toEqual(made.map((o) => o.operationId));
    expect(pages).toHaveLength(9);
    expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    // The records are whole: steps, status, input.
    expect(pages[0]![0]).toMatchObject({ operationId: made[0]!.operationId, status: made[0]!.status });
  });

  it('filters by status and type, with full pages', async () => {
    const failed = await pageAll('/v1/operations?status=FAILED&limit=3');
    expect(failed.pages.flat().map((o) => o.operationId)).toEqual(
      made.filter((o) => o.status === 'FAILED').map((o) => o.operationId),
    );
    expect(failed.pages.flat()).toHaveLength(7);
    expect(failed.pages.slice(0, -1).every((p) => p.length === 3)).toBe(true);

    const pendingSuspends = await pageAll('/v1/operations?status=PENDING&type=suspend');
    expect(pendingSuspends.pages.flat().map((o) => o.operationId)).toEqual(
      made.filter((o) => o.status === 'PENDING' && o.type === 'suspend').map((o) => o.operationId),
    );
    const resumes = await pageAll('/v1/operations?type=resume&limit=5');
    expect(resumes.pages.flat()).toHaveLength(13);
  });

  it('one tenant’s operations, by slug in both routes; with a type filter', async () => {
    const tenant = await t.registry.requireTenant('hist-04');
    const mine = made.filter((o) => o.tenantId === tenant.tenantId).map((o) => o.operationId);
    expect(mine).toHaveLength(3);
    for (const url of ['/v1/tenants/hist-04/operations?limit=2', `/v1/operations?tenant=hist-04&limit=2`]) {
      const { pages } = await pageAll(url);
      expect(pages.flat().map((o) => o.operationId)).toEqual(mine);
    }
    const { pages } = await pageAll(`/v1/tenants/${tenant.tenantId}/operations?type=onboard`);
    expect(pages.flat().map((o) => o.type)).toEqual(['onboard']);
  });

  it('refuses bad filters, unknown tenants and a cursor of another query', async () => {
    const bad = await t.call({ method: 'GET', url: '/v1/operations?status=running' });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).code).toBe('VALIDATION_FAILED');
    const unknown = await t.call({ method: 'GET', url: '/v1/operations?tenant=no-such-tenant' });
    expect(errorOf(unknown).code).toBe('TENANT_NOT_FOUND');
    const first = (await t.call({ method: 'GET', url: '/v1/operations?limit=2' })).json();
    const other = await t.call({
      method: 'GET',
      url: `/v1/tenants/hist-01/operations?cursor=${encodeURIComponent(first.nextCursor)}`,
    });
    expect(errorOf(other).code).toBe('VALIDATION_FAILED');
    const reader = await t.keyWith(['operations:callback']);
    expect((await t.call({ method: 'GET', url: '/v1/operations', key: reader })).statusCode).toBe(403);
  });
});

describe('GET /v1/operations/:id/callback', () => {
  it('lets an operations:callback key read the operation it answers, and no other', async () => {
    const callbackKey = await t.keyWith(['operations:callback']);
    const pending = made.find((o) => o.status === 'PENDING')!;
    const hidden = await t.call({
      method: 'GET',
      url: `/v1/operations/${pending.operationId}/callback`,
      key: callbackKey,
    });
    expect(hidden.statusCode).toBe(404);
    expect(errorOf(hidden).code).toBe('OPERATION_NOT_FOUND');
    // Its plain GET needs tenants:read.
    expect(
      (await t.call({ method: 'GET', url: `/v1/operations/${pending.operationId}`, key: callbackKey }))
        .statusCode,
    ).toBe(403);

    await t.registry.updateOperation(pending.operationId, () => ({
      waitingFor: 'callback',
      waitingSince: new Date().toISOString(),
    }));
    const read = await t.call({
      method: 'GET',
      url: `/v1/operations/${pending.operationId}/callback`,
      key: callbackKey,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ operationId: pending.operationId, waitingFor: 'callback' });
  });
});

describe('ensureRegistryTable on a table made before the history indexes', () => {
  it('adds the missing indexes', async () => {
    const clients = testClients();
    try {
      const name = uniqueName('registry-old');
      const definition = registryTableDefinition(name);
      const history = new Set(Object.keys(OPERATION_INDEXES));
      const historyKeys = new Set(Object.values(OPERATION_INDEXES).flatMap((i) => [i.pk, i.sk] as string[]));
      await clients.dynamodb.send(
        new CreateTableCommand({
          ...definition,
          AttributeDefinitions: definition.AttributeDefinitions!.filter(
            (a) => !historyKeys.has(a.AttributeName!),
          ),
          GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes!.filter(
            (i) => !history.has(i.IndexName!),
          ),
        }),
      );
      expect(await ensureRegistryTable(clients.dynamodb, name)).toBe('exists');
      const out = await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
      expect(out.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(
        expect.arrayContaining([...history]),
      );
    } finally {
      clients.destroy();
    }
  });
});

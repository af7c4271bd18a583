import { createHash } from 'node:crypto';
import { BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getObjectBytes, readManifest, s3TenantExports } from '../core/tenant-data/exports.js';
import { exportLayout } from '../core/tenant-data/layout.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { eraseTenantData, exportTenantData } from './tasks/tenant-data.js';

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => cp?.close());

const ITEMS = 23;
const OBJECTS = 4;

async function onboard(slug: string, tier = 'basic') {
  const started = await cp.workflows.lifecycle.onboard(
    { name: `Tenant ${slug}`, slug, tier, adminEmail: `admin@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return started.tenant.tenantId;
}

/** Items pk = "<TenantId>#…" in several partitions, and objects under tenants/<TenantId>/. */
async function seed(tenantId: string) {
  const { dynamodb, s3 } = cp.aws.clients;
  const items = Array.from({ length: ITEMS }, (_, i) => ({
    pk: { S: `${tenantId}#order-${i % 5}` },
    sk: { S: `line-${String(i).padStart(3, '0')}` },
    qty: { N: String(i) },
    blob: { B: new Uint8Array([i, 1, 2]) },
  }));
  for (let i = 0; i < items.length; i += 25)
    await dynamodb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [cp.platform.pooledTableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
        },
      }),
    );
  for (let i = 0; i < OBJECTS; i++)
    await s3.send(
      new PutObjectCommand({
        Bucket: cp.platform.artifactBucketName,
        Key: `tenants/${tenantId}/docs/file ${i}.txt`,
        Body: `object ${i} of ${tenantId}`,
      }),
    );
}

async function pooledItems(tenantId: string) {
  const out = await cp.aws.clients.dynamodb.send(
    new ScanCommand({
      TableName: cp.platform.pooledTableName,
      FilterExpression: 'begins_with(pk, :t)',
      ExpressionAttributeValues: { ':t': { S: `${tenantId}#` } },
    }),
  );
  return out.Items ?? [];
}

async function keysUnder(bucket: string, prefix: string) {
  const out = await cp.aws.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

const input = (tenantId: string, operationId: string, args: Record<string, unknown> = {}) => ({
  task: 'ExportTenantData',
  step: 'ExportData',
  tenantId,
  operationId,
  args,
  poll: true,
});

describe('offboarding exports, then erases, one pool tenant’s pooled data', () => {
  it('exports exactly the offboarded tenant’s items and objects, erases them, leaves the other tenant’s alone', async () => {
    const gone = await onboard('data-gone');
    const kept = await onboard('data-kept');
    await seed(gone);
    await seed(kept);

    const started = await cp.workflows.lifecycle.offboard('data-gone', actor);
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const steps = op.steps.map((s) => s.name);
    expect(steps.indexOf('ExportData')).toBeGreaterThan(steps.indexOf('DeleteStacks'));
    expect(steps.indexOf('EraseData')).toBeGreaterThan(steps.indexOf('ExportData'));
    expect(op.steps.find((s) => s.name === 'ExportData')?.detail).toMatch(/exported 23 items, 4 objects/);
    expect(op.steps.find((s) => s.name === 'EraseData')?.detail).toMatch(/erased 23 items, 4 objects/);

    const bucket = cp.platform.artifactBucketName;
    const manifest = await s3TenantExports(cp.aws.clients.s3, () => bucket).latest(gone);
    expect(manifest).toMatchObject({
      tenantId: gone,
      operationId: op.operationId,
      counts: { items: ITEMS, objects: OBJECTS },
      retentionDays: 90,
    });
    expect(Date.parse(manifest!.expiresAt) - Date.parse(manifest!.created)).toBe(90 * 86_400_000);
    // Every part is there, with the size and hash the manifest says; the items are the tenant's own.
    const exported: string[] = [];
    for (const part of manifest!.parts) {
      const bytes = await getObjectBytes(cp.aws.clients.s3, bucket, manifest!.location.prefix + part.name);
      expect(bytes?.length).toBe(part.bytes);
      expect(createHash('sha256').update(bytes!).digest('hex')).toBe(part.sha256);
      const lines = Buffer.from(bytes!).toString('utf8').trim().split('\n');
      expect(lines).toHaveLength(part.count);
      if (part.kind === 'items')
        for (const l of lines) exported.push((JSON.parse(l) as { Item: { pk: { S: string } } }).Item.pk.S);
    }
    expect(exported).toHaveLength(ITEMS);
    expect(exported.every((pk) => pk.startsWith(`${gone}#`))).toBe(true);
    expect(await keysUnder(bucket, `${manifest!.location.prefix}objects/`)).toHaveLength(OBJECTS);
    expect(
      Buffer.from(
        (await getObjectBytes(
          cp.aws.clients.s3,
          bucket,
          `${manifest!.location.prefix}objects/docs/file 2.txt`,
        ))!,
      ).toString(),
    ).toBe(`object 2 of ${gone}`);

    // Erased from the pooled stores; the other tenant untouched.
    expect(await pooledItems(gone)).toEqual([]);
    expect(await keysUnder(bucket, `tenants/${gone}/`)).toEqual([]);
    expect(await pooledItems(kept)).toHaveLength(ITEMS);
    expect(await keysUnder(bucket, `tenants/${kept}/`)).toHaveLength(OBJECTS);
    expect(await s3TenantExports(cp.aws.clients.s3, () => bucket).latest(kept)).toBeUndefined();

    // Erasing again finds nothing and settles.
    const again = await eraseTenantData(
      { ...input(gone, op.operationId, { after: 'export' }), task: 'EraseTenantData' },
      cp.workflows.deps,
    );
    expect(again).toMatchObject({ done: true });
  }, 180_000);
});

describe('the export step is crash-safe', () => {
  it('pages, resumes after a crash with the same part names and content, and never erases without a manifest', async () => {
    const tenantId = 't_01CRASHEXPORT00000000000000';
    await seed(tenantId);
    // Another tenant's items in the same table, whatever else this file ran.
    await seed('t_01NEIGHBOUR0000000000000000');
    const deps = cp.workflows.deps;
    const bucket = cp.platform.artifactBucketName;
    const args = { partItems: 2, partObjects: 1 };

    // The reference: an uninterrupted run.
    let clean = await exportTenantData(input(tenantId, 'op_CLEAN', args), deps);
    let calls = 1;
    while (!(clean as { done: boolean }).done) {
      expect((clean as { detail: string }).detail).toMatch(/^exported \d+ items, \d+ objects$/);
      clean = await exportTenantData(input(tenantId, 'op_CLEAN', args), deps);
      calls++;
    }
    expect(calls).toBeGreaterThan(1);
    const reference = await readManifest(cp.aws.clients.s3, bucket, tenantId, 'op_CLEAN');

    // A crashed run: one call, then the cursor lost (as if the process died after writing a part
    // but before the cursor), then the rest.
    const first = await exportTenantData(input(tenantId, 'op_CRASH', args), deps);
    expect(first).toMatchObject({ done: false });
    await expect(
      eraseTenantData({ ...input(tenantId, 'op_CRASH', { after: 'export' }), task: 'EraseTenantData' }, deps),
    ).rejects.toThrow(/no completed export manifest/);
    await cp.aws.clients.s3.send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: exportLayout.prefix(tenantId, 'op_CRASH') + exportLayout.progress,
      }),
    );
    let result = await exportTenantData(input(tenantId, 'op_CRASH', args), deps);
    while (!(result as { done: boolean }).done)
      result = await exportTenantData(input(tenantId, 'op_CRASH', args), deps);
    const crashed = await readManifest(cp.aws.clients.s3, bucket, tenantId, 'op_CRASH');
    expect(crashed?.parts).toEqual(reference?.parts);
    expect(crashed?.counts).toEqual({ items: ITEMS, objects: OBJECTS });
    // No duplicates: the parts listed are the parts written.
    const written = (await keysUnder(bucket, exportLayout.prefix(tenantId, 'op_CRASH'))).filter((k) =>
      /\/(items|objects)-\d{4}\.jsonl$/.test(k),
    );
    expect(written.map((k) => k.split('/').pop())).toEqual(crashed!.parts.map((p) => p.name).sort());

    // A finished export answers its manifest and writes nothing more.
    const rerun = await exportTenantData(input(tenantId, 'op_CRASH', args), deps);
    expect(rerun).toMatchObject({ done: true });
    expect(await readManifest(cp.aws.clients.s3, bucket, tenantId, 'op_CRASH')).toEqual(crashed);

    // Erasing in pages of 2 evaluated items (8 a call) through a table that holds other tenants'
    // items too: each call goes on from where the last stopped, so it ends.
    const others = (
      await cp.aws.clients.dynamodb.send(new ScanCommand({ TableName: cp.platform.pooledTableName }))
    ).Items!.filter((i) => !i.pk?.S?.startsWith(`${tenantId}#`));
    expect(others.length).toBeGreaterThan(16);
    const erase = () =>
      eraseTenantData(
        { ...input(tenantId, 'op_CRASH', { after: 'export', partItems: 2 }), task: 'EraseTenantData' },
        deps,
      );
    let erased = await erase();
    let eraseCalls = 1;
    while (!(erased as { done: boolean }).done && eraseCalls < 40) {
      erased = await erase();
      eraseCalls++;
    }
    expect(erased).toMatchObject({ done: true });
    expect(eraseCalls).toBeGreaterThan(1);
    expect(await pooledItems(tenantId)).toEqual([]);
    expect(await keysUnder(bucket, `tenants/${tenantId}/`)).toEqual([]);
    const stillThere = (
      await cp.aws.clients.dynamodb.send(new ScanCommand({ TableName: cp.platform.pooledTableName }))
    ).Items!.filter((i) => !i.pk?.S?.startsWith(`${tenantId}#`));
    expect(stillThere).toHaveLength(others.length);
  }, 120_000);
});

describe('pool → bridge moves the pooled data into the dedicated stores', () => {
  it('copies items and objects before the cut-over and erases the pooled copies after it', async () => {
    const tenantId = await onboard('data-mover');
    await seed(tenantId);
    // Small pages, so the copy takes more than one call of its polled step (8 pages a call).
    let copyCalls = 0;
    cp.restart({
      beforeTask: (task) => {
        if (task.task !== 'CopyTenantData') return;
        copyCalls++;
        Object.assign(task.args, { partItems: 3, partObjects: 1 });
      },
    });
    const started = await cp.workflows.lifecycle.changeTier('data-mover', 'premium', actor);
    await cp.answerMigration(started.operation.operationId);
    const op = await cp.waitForOperation(started.operation.operationId, 120_000);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const steps = op.steps.map((s) => s.name);
    expect(steps.indexOf('CopyPooledData')).toBeLessThan(steps.indexOf('CutOver'));
    expect(steps.indexOf('ErasePooledData')).toBeGreaterThan(steps.indexOf('CutOver'));
    expect(copyCalls).toBeGreaterThan(1);
    expect(op.steps.find((s) => s.name === 'CopyPooledData')?.detail).toMatch(
      /^copied 23 items to .+, 4 objects to /,
    );

    const tenant = await cp.aws.registry.requireTenant('data-mover');
    const table = tenant.outputs.DataTableName!;
    const bucket = tenant.outputs.DataBucketName!;
    expect(table).toBeTruthy();
    expect(bucket).toBeTruthy();
    const copied = await cp.aws.clients.dynamodb.send(new ScanCommand({ TableName: table }));
    expect(copied.Items).toHaveLength(ITEMS);
    expect(copied.Items?.every((i) => i.pk?.S?.startsWith(`${tenantId}#`))).toBe(true);
    expect(await keysUnder(bucket, '')).toEqual([0, 1, 2, 3].map((i) => `docs/file ${i}.txt`));
    expect(await pooledItems(tenantId)).toEqual([]);
    expect(await keysUnder(cp.platform.artifactBucketName, `tenants/${tenantId}/`)).toEqual([]);
  }, 240_000);
});

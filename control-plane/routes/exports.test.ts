import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3TenantExports } from '../../core/tenant-data/exports.js';
import { type ExportManifest, exportLayout } from '../../core/tenant-data/layout.js';
import { startListeningTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { testClients, uniqueName } from '../../test/support/aws.js';
import { tenantctl as tenantctlAt } from '../../test/support/cli.js';

const clients = testClients();
const bucket = uniqueName('exports').toLowerCase();
let t: TestApp;
let url: string;
let tenantId = '';
let manifest: ExportManifest;

const items = '{"Item":{"pk":{"S":"x#1"},"sk":{"S":"a"}}}\n{"Item":{"pk":{"S":"x#2"},"sk":{"S":"b"}}}\n';
const objectsPart = '{"key":"docs/a.txt","size":5,"etag":null,"lastModified":null}\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function put(key: string, body: string) {
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

beforeAll(async () => {
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  ({ t, url } = await startListeningTestApp({
    deps: { exports: s3TenantExports(clients.s3, () => bucket) },
  }));
  for (const slug of ['exported', 'not-exported']) {
    const res = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) });
    expect(res.statusCode, res.body).toBe(202);
  }
  tenantId = (await t.registry.requireTenant('exported')).tenantId;
  const prefix = exportLayout.prefix(tenantId, 'op_01');
  manifest = {
    format: 'tenant-export/1',
    tenantId,
    operationId: 'op_01',
    created: '2026-11-24T00:00:00.000Z',
    completed: '2026-11-24T00:00:01.000Z',
    retentionDays: 30,
    expiresAt: '2026-12-24T00:00:00.000Z',
    source: { table: 'pooled', bucket, objectPrefix: `tenants/${tenantId}/` },
    location: { bucket, prefix },
    counts: { items: 2, objects: 1 },
    sizes: { itemBytes: items.length, objectBytes: 5 },
    parts: [
      { name: 'items-0001.jsonl', kind: 'items', count: 2, bytes: items.length, sha256: sha(items) },
      {
        name: 'objects-0001.jsonl',
        kind: 'objects',
        count: 1,
        bytes: objectsPart.length,
        sha256: sha(objectsPart),
        objectBytes: 5,
      },
    ],
  };
  await put(prefix + 'items-0001.jsonl', items);
  await put(prefix + 'objects-0001.jsonl', objectsPart);
  await put(`${prefix}objects/docs/a.txt`, 'hello');
  await put(prefix + exportLayout.manifest, JSON.stringify(manifest));
  // An export still running (no manifest) is not the latest complete one.
  await put(`${exportLayout.prefix(tenantId, 'op_02')}items-0001.jsonl`, items);
});
afterAll(async () => {
  await t?.close();
  clients.destroy();
});

describe('GET /v1/tenants/:tenantId/export', () => {
  it('answers the latest complete manifest and its files, by id or slug', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/tenants/exported/export' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      manifest,
      files: [
        { name: 'items-0001.jsonl', href: `/v1/tenants/${tenantId}/export/file?path=items-0001.jsonl` },
        { name: 'objects-0001.jsonl', href: `/v1/tenants/${tenantId}/export/file?path=objects-0001.jsonl` },
      ],
    });
    const part = await t.call({
      method: 'GET',
      url: `/v1/tenants/${tenantId}/export/file?path=items-0001.jsonl`,
    });
    expect(part.statusCode).toBe(200);
    expect(part.body).toBe(items);
  });

  it('needs the tenants:export scope; tenants:read is not enough', async () => {
    const reader = await t.keyWith(['tenants:read']);
    const exporter = await t.keyWith(['tenants:export']);
    const refused = await t.call({ method: 'GET', url: '/v1/tenants/exported/export', key: reader });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('FORBIDDEN');
    expect(
      (await t.call({ method: 'GET', url: '/v1/tenants/exported/export', key: exporter })).statusCode,
    ).toBe(200);
  });

  it('answers 404 EXPORT_NOT_FOUND without an export or file, 400 for a path outside the export', async () => {
    const none = await t.call({ method: 'GET', url: '/v1/tenants/not-exported/export' });
    expect(none.statusCode).toBe(404);
    expect(none.json().error.code).toBe('EXPORT_NOT_FOUND');
    const missing = await t.call({
      method: 'GET',
      url: '/v1/tenants/exported/export/file?path=items-0009.jsonl',
    });
    expect(missing.json().error.code).toBe('EXPORT_NOT_FOUND');
    const outside = await t.call({
      method: 'GET',
      url: `/v1/tenants/exported/export/file?path=${encodeURIComponent('objects/../../other/manifest.json')}`,
    });
    expect(outside.statusCode).toBe(400);
    expect(outside.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('tenantctl export', () => {
  const cli = (argv: string[]) => tenantctlAt(url, t.adminKey, argv);

  it('prints the manifest, and with --out writes the manifest, parts and objects through the API', async () => {
    const shown = await cli(['export', 'exported']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/items {5}2 .*\n {2}objects {3}1 /);
    const json = await cli(['export', 'exported', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(manifest);

    const dir = mkdtempSync(join(tmpdir(), 'tcp-export-'));
    const wrote = await cli(['export', 'exported', '--out', dir]);
    expect(wrote.code, wrote.stderr).toBe(0);
    expect(readFileSync(join(dir, 'items-0001.jsonl'), 'utf8')).toBe(items);
    expect(readFileSync(join(dir, 'objects', 'docs', 'a.txt'), 'utf8')).toBe('hello');
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('fails when a part does not match its sha256, and with EXPORT_NOT_FOUND when there is none', async () => {
    await put(`${manifest.location.prefix}items-0001.jsonl`, `${items}{"tampered":true}\n`);
    const bad = await cli(['export', 'exported', '--out', mkdtempSync(join(tmpdir(), 'tcp-export-'))]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/sha256 .* does not match/);
    await put(`${manifest.location.prefix}items-0001.jsonl`, items);
    const none = await cli(['export', 'not-exported']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/EXPORT_NOT_FOUND/);
  });
});

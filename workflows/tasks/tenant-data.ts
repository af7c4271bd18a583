import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { AwsClients } from '../../core/aws/clients.js';
import { backoffDelay, sleep } from '../../core/backoff.js';
import { ControlPlaneError } from '../../core/errors.js';
import { getObjectBytes, readManifest } from '../../core/tenant-data/exports.js';
import {
  EXPORT_RETENTION_DAYS_DEFAULT,
  type ExportManifest,
  type ExportPart,
  type ExportProgress,
  ExportProgressSchema,
  expiryDate,
  exportLayout,
  partTotals,
} from '../../core/tenant-data/layout.js';
import { loadScope, type PollResult, type TaskDeps, type TaskHandler, type TaskInput } from './context.js';
import { observeRef, stackOf } from './stacks.js';

/**
 * The data lifecycle of the pooled stores: a pool or bridge tenant's items in the pooled table
 * (pk = "<TenantId>#…") and objects under `tenants/<TenantId>/` in the artifact bucket.
 *
 *  ExportTenantData  offboarding: copy them to exports/<tenantId>/<operationId>/ with a manifest.
 *  CopyTenantData    pool → bridge/silo: copy them into the tenant's dedicated table and bucket.
 *  EraseTenantData   after either: delete them from the pooled stores, only once the copy is proven
 *                    (the manifest, or the copy marker, exists).
 *
 * Every handler is a polled "ensure" that does a bounded amount of work per call and keeps its
 * cursor in S3 beside what it wrote, so a crash at any point resumes where the last part ended and
 * writes the same part names with the same content.
 *
 * The pooled table's partition key starts with the tenant id but holds more after it, so a tenant's
 * items span many partitions and no Query selects them all: the handlers Scan with a
 * begins_with(pk) filter, paged by Limit and ExclusiveStartKey.
 */

/** Items per part (and per Scan page); args.partItems overrides it (tests). */
const PART_ITEMS = 1000;
/** Objects per listing page and objects part (each copied one by one: a part stays well under a minute). */
const PART_OBJECTS = 250;
/**
 * Parts written (or delete rounds run) per call, and a time budget after which a call stops at the
 * next part boundary: each call stays well inside its Task's 120 s timeout whatever the part sizes.
 * Parts are defined by the cursor, not by the call, so neither limit changes what is written.
 */
const PARTS_PER_CALL = 8;
const CALL_BUDGET_MS = 45_000;
/** True while a call that started at `started` may begin another part. */
const withinBudget = (deps: TaskDeps, started: number, n: number) =>
  n < PARTS_PER_CALL && deps.clock().getTime() - started < CALL_BUDGET_MS;
const BATCH_WRITE_MAX = 25;
const UNPROCESSED_RETRIES = 8;
const UNPROCESSED_BACKOFF = { baseMs: 50, maxMs: 2000 };

interface Stores {
  readonly table: string;
  readonly bucket: string;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const positiveArg = (v: unknown, fallback: number) =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fallback;

function pooledStores(deps: TaskDeps): Stores {
  const p = deps.platform();
  return { table: p.pooledTableName, bucket: p.artifactBucketName };
}

/** DynamoDB's JSON, with binary as base64 (the format of DynamoDB's own export to S3). */
function itemJson(item: Record<string, AttributeValue>): string {
  return JSON.stringify({ Item: item }, (_k, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
  );
}

async function putJson(s3: S3Client, bucket: string, key: string, body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body, null, 2),
      ContentType: 'application/json',
    }),
  );
}

/** One Scan page of the tenant's items. */
async function scanTenantItems(
  aws: AwsClients,
  table: string,
  tenantId: string,
  limit: number,
  startKey: Record<string, AttributeValue> | undefined,
) {
  const out = await aws.dynamodb.send(
    new ScanCommand({
      TableName: table,
      FilterExpression: 'begins_with(pk, :tenant)',
      ExpressionAttributeValues: { ':tenant': { S: exportLayout.pooledKeyPrefix(tenantId) } },
      Limit: limit,
      ConsistentRead: true,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
  );
  return { items: out.Items ?? [], next: out.LastEvaluatedKey };
}

/**
 * The items of the next part: Scan pages from `startKey` until `partItems` items or the end. The
 * same start gives the same part (the tenant's data no longer changes while it is exported).
 */
async function nextItemsPart(
  aws: AwsClients,
  table: string,
  tenantId: string,
  partItems: number,
  startKey: Record<string, AttributeValue> | undefined,
) {
  const items: Record<string, AttributeValue>[] = [];
  let next = startKey;
  do {
    const page = await scanTenantItems(aws, table, tenantId, partItems, next);
    items.push(...page.items);
    next = page.next;
  } while (next && items.length < partItems);
  return { items, next };
}

/** One page of the tenant's objects after `startAfter`. */
async function listTenantObjects(
  s3: S3Client,
  bucket: string,
  tenantId: string,
  maxKeys: number,
  startAfter: string | undefined,
) {
  const out = await s3.send(
    new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: exportLayout.pooledObjects(tenantId),
      MaxKeys: maxKeys,
      ...(startAfter ? { StartAfter: startAfter } : {}),
    }),
  );
  return { objects: out.Contents ?? [], more: out.IsTruncated === true };
}

const copySource = (bucket: string, key: string) =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** A JSON document this step keeps in the bucket (progress, a cursor), parsed; undefined when absent. */
async function readJson<T>(
  s3: S3Client,
  bucket: string,
  key: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  const bytes = await getObjectBytes(s3, bucket, key);
  return bytes ? schema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))) : undefined;
}

/** Writes BatchWriteItem requests, retrying UnprocessedItems with the one backoff. */
export async function batchWrite(
  aws: AwsClients,
  table: string,
  requests: WriteRequest[],
  wait: (ms: number) => Promise<void> = sleep,
): Promise<void> {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
    let pending: WriteRequest[] = requests.slice(i, i + BATCH_WRITE_MAX);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES)
        throw new ControlPlaneError(
          'AWS_THROTTLED',
          `${pending.length} writes to ${table} stayed unprocessed after ${UNPROCESSED_RETRIES} retries`,
        );
      if (attempt > 0) await wait(backoffDelay(UNPROCESSED_BACKOFF, attempt - 1));
      const out = await aws.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
    }
  }
}

const keyOf = (item: Record<string, AttributeValue>): Record<string, AttributeValue> => ({
  pk: item.pk as AttributeValue,
  sk: item.sk as AttributeValue,
});

/**
 * ExportTenantData: the tenant's pooled items and objects to exports/<tenantId>/<operationId>/,
 * then manifest.json. Settled once the manifest exists; a re-run after that does nothing.
 */
export const exportTenantData: TaskHandler = async (input, deps): Promise<PollResult> => {
  const { tenantId, operationId } = input;
  const s3 = deps.clients.s3;
  const source = pooledStores(deps);
  const bucket = source.bucket;
  const prefix = exportLayout.prefix(tenantId, operationId);
  const done = await readManifest(s3, bucket, tenantId, operationId);
  if (done) return { done: true, detail: manifestDetail(done) };

  const partItems = positiveArg(input.args.partItems, PART_ITEMS);
  const partObjects = positiveArg(input.args.partObjects, PART_OBJECTS);
  const progressKey = prefix + exportLayout.progress;
  const progress: ExportProgress = (await readJson(s3, bucket, progressKey, ExportProgressSchema)) ?? {
    created: deps.clock().toISOString(),
    parts: [],
    items: { done: false },
    objects: { done: false },
  };
  const countOf = (kind: ExportPart['kind']) => progress.parts.filter((p) => p.kind === kind).length;
  /** Writes one NDJSON part of the export and records it in the progress (name, count, size, sha256). */
  const writePart = async (
    name: string,
    kind: ExportPart['kind'],
    lines: readonly string[],
    extra: Partial<ExportPart> = {},
  ): Promise<void> => {
    const body = `${lines.join('\n')}\n`;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: prefix + name,
        Body: body,
        ContentType: 'application/x-ndjson',
      }),
    );
    progress.parts.push({
      name,
      kind,
      count: lines.length,
      bytes: Buffer.byteLength(body),
      sha256: sha256(body),
      ...extra,
    });
  };

  const started = deps.clock().getTime();
  for (let n = 0; withinBudget(deps, started, n) && !(progress.items.done && progress.objects.done); n++) {
    if (!progress.items.done) {
      const { items, next } = await nextItemsPart(
        deps.clients,
        source.table,
        tenantId,
        partItems,
        progress.items.startKey as Record<string, AttributeValue> | undefined,
      );
      if (items.length > 0) {
        await writePart(exportLayout.itemsPart(countOf('items') + 1), 'items', items.map(itemJson));
      }
      progress.items = next ? { done: false, startKey: next } : { done: true };
    } else {
      const { objects, more } = await listTenantObjects(
        s3,
        bucket,
        tenantId,
        partObjects,
        progress.objects.startAfter,
      );
      if (objects.length > 0) {
        const base = exportLayout.pooledObjects(tenantId);
        const lines: string[] = [];
        let objectBytes = 0;
        for (const o of objects) {
          const key = o.Key ?? '';
          await s3.send(
            new CopyObjectCommand({
              Bucket: bucket,
              Key: prefix + exportLayout.objectCopy(key.slice(base.length)),
              CopySource: copySource(bucket, key),
            }),
          );
          objectBytes += o.Size ?? 0;
          lines.push(
            JSON.stringify({
              key: key.slice(base.length),
              size: o.Size ?? 0,
              etag: o.ETag ?? null,
              lastModified: o.LastModified?.toISOString() ?? null,
            }),
          );
        }
        await writePart(exportLayout.objectsPart(countOf('objects') + 1), 'objects', lines, { objectBytes });
      }
      const last = objects.at(-1)?.Key;
      progress.objects = more && last ? { done: false, startAfter: last } : { done: true };
    }
    // The cursor after the part: a crash before this line rewrites the same part, same name.
    await putJson(s3, bucket, progressKey, progress);
  }

  const totals = partTotals(progress.parts);
  if (!(progress.items.done && progress.objects.done))
    return {
      done: false,
      detail: `exported ${fmt(totals.items)} items, ${fmt(totals.objects)} objects`,
    };
  const retentionDays = deps.exportRetentionDays ?? EXPORT_RETENTION_DAYS_DEFAULT;
  const manifest: ExportManifest = {
    format: 'tenant-export/1',
    tenantId,
    operationId,
    created: progress.created,
    completed: deps.clock().toISOString(),
    retentionDays,
    expiresAt: expiryDate(progress.created, retentionDays),
    source: { table: source.table, bucket, objectPrefix: exportLayout.pooledObjects(tenantId) },
    location: { bucket, prefix },
    counts: { items: totals.items, objects: totals.objects },
    sizes: { itemBytes: totals.itemBytes, objectBytes: totals.objectBytes },
    parts: progress.parts,
  };
  await putJson(s3, bucket, prefix + exportLayout.manifest, manifest);
  return { done: true, detail: manifestDetail(manifest) };
};

function manifestDetail(m: ExportManifest): string {
  return `exported ${fmt(m.counts.items)} items, ${fmt(m.counts.objects)} objects to s3://${m.location.bucket}/${m.location.prefix}`;
}

/** Where CopyTenantData records that the copy into dedicated stores is complete. */
const copyMarkerKey = (tenantId: string, operationId: string) =>
  `${exportLayout.prefix(tenantId, operationId)}copied.json`;

/** The tenant's dedicated stores, from the outputs of the stack that will serve it. */
/**
 * The tenant's dedicated stores, from the outputs of the stack it moves to; undefined when there
 * is nothing to copy (the tenant was a silo, or the new stack has no data stores, e.g. into the pool).
 */
async function dedicatedStores(deps: TaskDeps, input: TaskInput): Promise<Stores | undefined> {
  const { tenant } = await loadScope(deps, input);
  if (tenant.isolation === 'silo') return undefined;
  const ref = stackOf(tenant, 'target');
  if (!ref) return undefined;
  // Another account's stores are not writable from here: the application plane moves that data.
  if (ref.accountId) return undefined;
  const outputs = (await observeRef(deps, tenant, ref))?.outputs ?? {};
  const table = outputs.DataTableName;
  const bucket = outputs.DataBucketName;
  return table && bucket ? { table, bucket } : undefined;
}

/**
 * CopyTenantData (pool → bridge/silo): the pooled items into the dedicated table (same key schema)
 * and the objects into the dedicated bucket (same keys without the `tenants/<id>/` prefix). Puts
 * and copies are idempotent, so a re-run from the start is harmless; a marker records completion.
 */
export const copyTenantData: TaskHandler = async (input, deps): Promise<PollResult> => {
  const { tenantId, operationId } = input;
  const s3 = deps.clients.s3;
  const source = pooledStores(deps);
  const markerKey = copyMarkerKey(tenantId, operationId);
  const marker = await getObjectBytes(s3, source.bucket, markerKey);
  if (marker) return { done: true, detail: JSON.parse(Buffer.from(marker).toString('utf8')).detail };
  const target = await dedicatedStores(deps, input);
  if (!target) {
    const detail = 'no dedicated data stores to copy pooled data into';
    await putJson(s3, source.bucket, markerKey, { tenantId, operationId, skipped: true, detail });
    return { done: true, detail };
  }
  const partItems = positiveArg(input.args.partItems, PART_ITEMS);
  const partObjects = positiveArg(input.args.partObjects, PART_OBJECTS);

  // The cursor between calls, beside the marker: puts and copies are idempotent, so a crash after
  // a page and before its cursor only copies that page again.
  const cursorKey = `${exportLayout.prefix(tenantId, operationId)}copy-progress.json`;
  const cursor: CopyCursor = (await readJson(s3, source.bucket, cursorKey, CopyCursorSchema)) ?? {
    items: 0,
    objects: 0,
    itemsDone: false,
    objectsDone: false,
  };
  const base = exportLayout.pooledObjects(tenantId);
  const started = deps.clock().getTime();
  for (let n = 0; withinBudget(deps, started, n) && !cursor.objectsDone; n++) {
    if (!cursor.itemsDone) {
      const page = await nextItemsPart(
        deps.clients,
        source.table,
        tenantId,
        partItems,
        cursor.startKey as Record<string, AttributeValue> | undefined,
      );
      await batchWrite(
        deps.clients,
        target.table,
        page.items.map((Item) => ({ PutRequest: { Item } })),
      );
      cursor.items += page.items.length;
      cursor.startKey = page.next;
      cursor.itemsDone = page.next === undefined;
    } else {
      const page = await listTenantObjects(s3, source.bucket, tenantId, partObjects, cursor.startAfter);
      for (const o of page.objects) {
        await s3.send(
          new CopyObjectCommand({
            Bucket: target.bucket,
            Key: (o.Key ?? '').slice(base.length),
            CopySource: copySource(source.bucket, o.Key ?? ''),
          }),
        );
        cursor.objects++;
      }
      cursor.startAfter = page.objects.at(-1)?.Key ?? cursor.startAfter;
      cursor.objectsDone = !page.more || page.objects.length === 0;
    }
    await putJson(s3, source.bucket, cursorKey, cursor);
  }
  if (!cursor.objectsDone)
    return { done: false, detail: `copied ${fmt(cursor.items)} items, ${fmt(cursor.objects)} objects` };
  const detail = `copied ${fmt(cursor.items)} items to ${target.table}, ${fmt(cursor.objects)} objects to ${target.bucket}`;
  await putJson(s3, source.bucket, markerKey, {
    tenantId,
    operationId,
    items: cursor.items,
    objects: cursor.objects,
    target,
    detail,
  });
  return { done: true, detail };
};

const EraseCursorSchema = z.object({
  itemsDone: z.boolean(),
  startKey: z.record(z.string(), z.unknown()).optional(),
});
type EraseCursor = z.infer<typeof EraseCursorSchema>;

const CopyCursorSchema = z.object({
  items: z.number().int().nonnegative(),
  objects: z.number().int().nonnegative(),
  itemsDone: z.boolean(),
  objectsDone: z.boolean().default(false),
  startKey: z.record(z.string(), z.unknown()).optional(),
  startAfter: z.string().optional(),
});
type CopyCursor = z.infer<typeof CopyCursorSchema>;

/**
 * EraseTenantData: deletes the tenant's items from the pooled table and every version of its
 * objects from the artifact bucket (it is versioned). Runs only once the data is safe elsewhere:
 * args.after = 'export' needs this operation's manifest, 'copy' its copy marker. Erasing what is
 * already gone finds nothing and settles.
 */
export const eraseTenantData: TaskHandler = async (input, deps): Promise<PollResult> => {
  const { tenantId, operationId } = input;
  const s3 = deps.clients.s3;
  const source = pooledStores(deps);
  const after = input.args.after === 'copy' ? 'copy' : 'export';
  const proof =
    after === 'copy'
      ? await getObjectBytes(s3, source.bucket, copyMarkerKey(tenantId, operationId))
      : await readManifest(s3, source.bucket, tenantId, operationId);
  if (proof && after === 'copy' && JSON.parse(Buffer.from(proof as Uint8Array).toString('utf8')).skipped)
    return { done: true, detail: 'nothing was copied, so nothing is erased' };
  if (!proof)
    throw new ControlPlaneError(
      'WORKFLOW_FAILED',
      `refusing to erase tenant ${tenantId}'s pooled data: operation ${operationId} has no completed ${after === 'copy' ? 'copy' : 'export manifest'}`,
    );
  const partItems = positiveArg(input.args.partItems, PART_ITEMS);

  // The Scan's cursor between calls, beside the proof: without it every call would re-read the
  // table from its start and a tenant whose items sit past the first pages would never finish.
  const cursorKey = `${exportLayout.prefix(tenantId, operationId)}erase-progress.json`;
  const cursor: EraseCursor = (await readJson(s3, source.bucket, cursorKey, EraseCursorSchema)) ?? {
    itemsDone: false,
  };
  let items = 0;
  let objects = 0;
  let rounds = 0;
  let more = !cursor.itemsDone;
  const started = deps.clock().getTime();
  while (more && withinBudget(deps, started, rounds)) {
    rounds++;
    const page = await scanTenantItems(
      deps.clients,
      source.table,
      tenantId,
      partItems,
      cursor.startKey as Record<string, AttributeValue> | undefined,
    );
    await batchWrite(
      deps.clients,
      source.table,
      page.items.map((item) => ({ DeleteRequest: { Key: keyOf(item) } })),
    );
    items += page.items.length;
    cursor.startKey = page.next;
    cursor.itemsDone = page.next === undefined;
    more = !cursor.itemsDone;
    await putJson(s3, source.bucket, cursorKey, cursor);
  }
  let objectsMore = false;
  if (!more) {
    objectsMore = true;
    while (objectsMore && withinBudget(deps, started, rounds)) {
      rounds++;
      const out = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: source.bucket,
          Prefix: exportLayout.pooledObjects(tenantId),
          MaxKeys: PART_OBJECTS,
        }),
      );
      const versions = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]
        .filter((v) => v.Key)
        .map((v) => ({ Key: v.Key as string, ...(v.VersionId ? { VersionId: v.VersionId } : {}) }));
      if (versions.length > 0) {
        const res = await s3.send(
          new DeleteObjectsCommand({ Bucket: source.bucket, Delete: { Objects: versions, Quiet: true } }),
        );
        if (res.Errors?.length)
          throw new ControlPlaneError(
            'AWS_ERROR',
            `S3 did not delete ${res.Errors.length} of tenant ${tenantId}'s objects: ${res.Errors[0]?.Code} ${res.Errors[0]?.Message}`,
          );
        objects += (out.Versions ?? []).filter((v) => v.IsLatest).length;
      }
      objectsMore = out.IsTruncated === true;
    }
  }
  if (more || objectsMore)
    return {
      done: false,
      detail: `erasing: ${fmt(items)} items, ${fmt(objects)} objects deleted in this pass`,
    };
  const counts =
    after === 'export' && typeof proof === 'object' && 'counts' in proof
      ? (proof as ExportManifest).counts
      : undefined;
  return {
    done: true,
    detail: counts
      ? `erased ${fmt(counts.items)} items, ${fmt(counts.objects)} objects from the pooled stores (the export's counts)`
      : 'erased the pooled copies',
  };
};

import { z } from 'zod';

/**
 * Where a tenant's data export lives and what its manifest says. Shared by the workflows (which
 * write it) and the API (which answers it). An export sits in the platform's artifact bucket:
 *
 *   exports/<tenantId>/<operationId>/items-0001.jsonl …   pooled table items, one JSON object a line
 *   exports/<tenantId>/<operationId>/objects-0001.jsonl … one line per copied object (key, size, etag)
 *   exports/<tenantId>/<operationId>/objects/<key>         the tenant's objects, copied
 *   exports/<tenantId>/<operationId>/progress.json         the cursor while the export runs
 *   exports/<tenantId>/<operationId>/manifest.json         written last: the export is complete
 *
 * The platform stack expires everything under `exports/` after EXPORT_RETENTION_DAYS (its S3
 * lifecycle rule); the manifest records the expiry the control plane was configured with.
 */

export const EXPORT_OBJECT_PREFIX = 'exports';
/** Key prefix of pool tenants' objects in the artifact bucket (templates/constants.ts agrees). */
export const POOLED_OBJECT_PREFIX = 'tenants';
/** The S3 lifecycle expiry of exports in the platform stack, and the configuration's default. */
export const EXPORT_RETENTION_DAYS_DEFAULT = 90;

export const exportLayout = {
  /** Every export of a tenant. */
  tenantPrefix: (tenantId: string) => `${EXPORT_OBJECT_PREFIX}/${tenantId}/`,
  /** One export (one operation). */
  prefix: (tenantId: string, operationId: string) => `${EXPORT_OBJECT_PREFIX}/${tenantId}/${operationId}/`,
  /** Part names are numbered from 1 and deterministic: a re-run writes the same names. */
  itemsPart: (n: number) => `items-${String(n).padStart(4, '0')}.jsonl`,
  objectsPart: (n: number) => `objects-${String(n).padStart(4, '0')}.jsonl`,
  objectCopy: (relativeKey: string) => `objects/${relativeKey}`,
  manifest: 'manifest.json',
  progress: 'progress.json',
  /** The tenant's objects in the pooled bucket. */
  pooledObjects: (tenantId: string) => `${POOLED_OBJECT_PREFIX}/${tenantId}/`,
  /** Pooled table items of a tenant have pk = "<TenantId>#…" (the tenant role's LeadingKeys). */
  pooledKeyPrefix: (tenantId: string) => `${tenantId}#`,
};

export const ExportPartSchema = z.object({
  name: z.string(),
  kind: z.enum(['items', 'objects']),
  /** Items (items part) or objects listed (objects part). */
  count: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Objects part: the bytes of the objects it lists (copied under objects/). */
  objectBytes: z.number().int().nonnegative().optional(),
});
export type ExportPart = z.infer<typeof ExportPartSchema>;

export const ExportManifestSchema = z.object({
  format: z.literal('tenant-export/1'),
  tenantId: z.string(),
  operationId: z.string(),
  created: z.string(),
  completed: z.string(),
  retentionDays: z.number().int().positive(),
  expiresAt: z.string(),
  source: z.object({ table: z.string(), bucket: z.string(), objectPrefix: z.string() }),
  location: z.object({ bucket: z.string(), prefix: z.string() }),
  counts: z.object({ items: z.number().int().nonnegative(), objects: z.number().int().nonnegative() }),
  sizes: z.object({
    itemBytes: z.number().int().nonnegative(),
    objectBytes: z.number().int().nonnegative(),
  }),
  parts: z.array(ExportPartSchema),
});
export type ExportManifest = z.infer<typeof ExportManifestSchema>;

/** The cursor of an export in progress, kept in S3 beside its parts. */
export const ExportProgressSchema = z.object({
  created: z.string(),
  parts: z.array(ExportPartSchema),
  items: z.object({
    done: z.boolean(),
    /** The Scan's LastEvaluatedKey at the end of the last part written. */
    startKey: z.record(z.string(), z.unknown()).optional(),
  }),
  objects: z.object({
    done: z.boolean(),
    /** The last object key copied (ListObjectsV2 StartAfter). */
    startAfter: z.string().optional(),
  }),
});
export type ExportProgress = z.infer<typeof ExportProgressSchema>;

export function expiryDate(created: string, retentionDays: number): string {
  return new Date(Date.parse(created) + retentionDays * 86_400_000).toISOString();
}

/** Summary counts of a set of parts. */
export function partTotals(parts: readonly ExportPart[]): {
  items: number;
  objects: number;
  itemBytes: number;
  objectBytes: number;
} {
  let items = 0;
  let objects = 0;
  let itemBytes = 0;
  let objectBytes = 0;
  for (const p of parts) {
    if (p.kind === 'items') {
      items += p.count;
      itemBytes += p.bytes;
    } else {
      objects += p.count;
      objectBytes += p.objectBytes ?? 0;
    }
  }
  return { items, objects, itemBytes, objectBytes };
}

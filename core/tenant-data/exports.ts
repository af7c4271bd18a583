import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound } from '../aws/errors.js';
import { type ExportManifest, ExportManifestSchema, exportLayout } from './layout.js';

/** Reads tenant exports back (the API's GET /v1/tenants/:id/export); writes nothing. */
export interface TenantExports {
  /** The newest complete export of the tenant (operation ids sort by time), if any. */
  latest(tenantId: string): Promise<ExportManifest | undefined>;
  /**
   * One file of an export: a part the manifest lists, the manifest, or a copied object
   * (`objects/<key>`); undefined when absent. Never reads outside the export's own prefix.
   */
  file(manifest: ExportManifest, path: string): Promise<Uint8Array | undefined>;
}

export async function getObjectBytes(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Uint8Array | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function readManifest(
  s3: S3Client,
  bucket: string,
  tenantId: string,
  operationId: string,
): Promise<ExportManifest | undefined> {
  const bytes = await getObjectBytes(
    s3,
    bucket,
    exportLayout.prefix(tenantId, operationId) + exportLayout.manifest,
  );
  return bytes ? ExportManifestSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))) : undefined;
}

export function s3TenantExports(s3: S3Client, bucket: () => string): TenantExports {
  return {
    async latest(tenantId) {
      const operations: string[] = [];
      let token: string | undefined;
      do {
        const out = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket(),
            Prefix: exportLayout.tenantPrefix(tenantId),
            Delimiter: '/',
            ContinuationToken: token,
          }),
        );
        for (const p of out.CommonPrefixes ?? []) {
          const op = p.Prefix?.slice(exportLayout.tenantPrefix(tenantId).length).replace(/\/$/, '');
          if (op) operations.push(op);
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      // Newest first; an export still running has no manifest yet and is skipped.
      for (const op of operations.sort().reverse()) {
        const manifest = await readManifest(s3, bucket(), tenantId, op);
        if (manifest) return manifest;
      }
      return undefined;
    },
    async file(manifest, path) {
      const listed =
        path === exportLayout.manifest ||
        manifest.parts.some((p) => p.name === path) ||
        (path.startsWith(exportLayout.objectCopy('')) && !path.split('/').includes('..'));
      if (!listed) return undefined;
      return getObjectBytes(s3, manifest.location.bucket, manifest.location.prefix + path);
    },
  };
}

/**
 * Exports read where each tenant's were written: its region's artifact bucket (`where` answers
 * the reader of a tenant's region).
 */
export function tenantExportsByTenant(where: (tenantId: string) => Promise<TenantExports>): TenantExports {
  return {
    latest: async (tenantId) => (await where(tenantId)).latest(tenantId),
    file: async (manifest, path) => (await where(manifest.tenantId)).file(manifest, path),
  };
}

import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors.js';
import type { TenantExports } from '../../core/tenant-data/exports.js';
import { type ExportManifest, ExportManifestSchema } from '../../core/tenant-data/layout.js';
import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { TenantRefParamsSchema } from '../schemas.js';

const tags = ['tenants'];

const ExportResponseSchema = z
  .object({
    manifest: ExportManifestSchema,
    /** Each part with the API path that answers its bytes. */
    files: z.array(z.object({ name: z.string(), href: z.string() })),
  })
  .meta({ id: 'TenantExport' });

const ExportFileQuerySchema = z.object({
  path: z
    .string()
    .min(1)
    .max(1024)
    .regex(
      /^((items|objects)-\d{4}\.jsonl|manifest\.json|objects\/[^\0]+)$/,
      'a part name from the manifest (items-0001.jsonl, objects-0001.jsonl), manifest.json, or objects/<key> as listed in an objects part',
    )
    .refine((p) => !p.split('/').includes('..'), 'no .. segments'),
});

function require(exports: TenantExports | undefined): TenantExports {
  if (!exports)
    throw new ControlPlaneError(
      'EXPORTS_UNAVAILABLE',
      'this API instance has no access to the export location; ask the instance that runs the workflows',
    );
  return exports;
}

async function latest(exports: TenantExports, tenantId: string): Promise<ExportManifest> {
  const manifest = await exports.latest(tenantId);
  if (!manifest)
    throw new ControlPlaneError(
      'EXPORT_NOT_FOUND',
      `tenant ${tenantId} has no complete data export; offboarding writes one`,
    );
  return manifest;
}

/** GET /v1/tenants/:tenantId/export and its files: the data offboarding exported, read through the API. */
export function exportRoutes(router: Router, ctx: RouteContext, exports: TenantExports | undefined): void {
  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/export',
    operationId: 'getTenantExport',
    summary: "A tenant's latest data export: its manifest and where its parts are",
    description:
      "Offboarding exports a tenant's pooled items and objects before erasing them. The manifest gives counts, sizes, the sha256 of each part and the expiry; each file is answered by `GET /v1/tenants/{tenantId}/export/file?path=…`.",
    tags,
    auth: 'tenants:export',
    params: TenantRefParamsSchema,
    responses: { 200: { description: 'The manifest and its files.', schema: ExportResponseSchema } },
    errors: ['TENANT_NOT_FOUND', 'EXPORT_NOT_FOUND', 'EXPORTS_UNAVAILABLE'],
    handler: async ({ params }, request, reply) => {
      const reader = require(exports);
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      const manifest = await latest(reader, tenant.tenantId);
      const href = (path: string) =>
        `/v1/tenants/${tenant.tenantId}/export/file?path=${encodeURIComponent(path)}`;
      return { manifest, files: manifest.parts.map((p) => ({ name: p.name, href: href(p.name) })) };
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/export/file',
    operationId: 'getTenantExportFile',
    summary: "One file of a tenant's latest data export",
    description:
      'A part (`items-0001.jsonl`: one `{"Item": …}` in DynamoDB JSON a line; `objects-0001.jsonl`: one object a line), `manifest.json`, or a copied object (`objects/<key>`).',
    tags,
    auth: 'tenants:export',
    params: TenantRefParamsSchema,
    query: ExportFileQuerySchema,
    responses: { 200: { description: 'The file, as stored.', contentType: 'application/octet-stream' } },
    errors: ['TENANT_NOT_FOUND', 'EXPORT_NOT_FOUND', 'EXPORTS_UNAVAILABLE'],
    handler: async ({ params, query }, request, reply) => {
      const reader = require(exports);
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      const manifest = await latest(reader, tenant.tenantId);
      const bytes = await reader.file(manifest, query.path);
      if (!bytes)
        throw new ControlPlaneError(
          'EXPORT_NOT_FOUND',
          `export ${manifest.operationId} of tenant ${tenant.tenantId} has no file ${query.path}`,
        );
      return reply
        .type(query.path.endsWith('.json') ? 'application/json' : 'application/octet-stream')
        .send(Buffer.from(bytes));
    },
  });
}

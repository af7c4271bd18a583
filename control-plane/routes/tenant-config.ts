import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { etagMatches } from '../../core/tenant-config/resolve.js';
import { ConfigPatchSchema, ResolvedConfigSchema } from '../../core/tenant-config/schema.js';
import type { TenantConfigStore } from '../../core/tenant-config/store.js';
import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { TenantRefParamsSchema } from '../schemas.js';

/** RFC 7386's media type, and plain JSON for clients that cannot set it. */
export const MERGE_PATCH_TYPE = 'application/merge-patch+json';

const ETagHeader = z.string().min(1).max(512);
const GetConfigHeadersSchema = z.object({
  'if-none-match': ETagHeader.optional().describe('An ETag from an earlier answer: 304 while it is current.'),
});
const PatchConfigHeadersSchema = z.object({
  'if-match': ETagHeader.optional().describe(
    'The ETag the patch was made against: VERSION_CONFLICT when the config has changed since.',
  ),
});

/**
 * A tenant's configuration (core/tenant-config): flags resolved against its current tier, branding
 * and custom domain. GET is the applications' cheap read path (ETag, If-None-Match → 304); PATCH is
 * a JSON merge patch, optionally conditioned on If-Match.
 */
export async function tenantConfigRoutes(
  app: FastifyInstance,
  router: Router,
  _ctx: RouteContext,
  store: TenantConfigStore,
): Promise<void> {
  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/config',
    operationId: 'getTenantConfig',
    summary: "A tenant's configuration, flags resolved for its current tier",
    description:
      'Answers an ETag; send it back as If-None-Match to get 304 (no body) while the config is unchanged. A tier change gives a new ETag.',
    tags: ['config'],
    auth: 'tenants:config:read',
    params: TenantRefParamsSchema,
    headers: GetConfigHeadersSchema,
    responses: {
      200: { description: 'The resolved config (ETag header).', schema: ResolvedConfigSchema },
      304: { description: 'Not modified: the If-None-Match ETag is current.' },
    },
    errors: ['TENANT_NOT_FOUND'],
    handler: async ({ params, headers }, request, reply) => {
      const view = await store.read(params.tenantId);
      logContext(request, reply, { tenantId: view.tenant.tenantId });
      reply.header('etag', view.etag).header('cache-control', 'private, no-cache');
      const ifNoneMatch = headers['if-none-match'];
      if (ifNoneMatch && etagMatches(ifNoneMatch, view.etag)) return reply.code(304).send();
      return view.config;
    },
  });

  // Its own content-type parser: merge patches arrive as application/merge-patch+json.
  await app.register(async (scoped) => {
    const json = scoped.getDefaultJsonParser('error', 'error');
    scoped.addContentTypeParser(MERGE_PATCH_TYPE, { parseAs: 'string' }, (request, body, done) => {
      if ((body as string).trim() === '') return done(null, undefined);
      json(request, body as string, done);
    });
    router.on(scoped).add({
      method: 'PATCH',
      url: '/v1/tenants/:tenantId/config',
      operationId: 'patchTenantConfig',
      summary: "Change a tenant's configuration (JSON merge patch)",
      description:
        'RFC 7386: members given replace, objects merge, null removes (a flag back to its tier default, `domain: null` drops the custom domain). A new domain requests its ACM certificate. With If-Match the patch applies only to that ETag.',
      tags: ['config'],
      auth: 'tenants:config:write',
      params: TenantRefParamsSchema,
      headers: PatchConfigHeadersSchema,
      body: ConfigPatchSchema,
      bodyTypes: [MERGE_PATCH_TYPE, 'application/json'],
      responses: {
        200: { description: 'The config after the patch (ETag header).', schema: ResolvedConfigSchema },
      },
      errors: [
        'TENANT_NOT_FOUND',
        'VERSION_CONFLICT',
        'INVALID_STATE_TRANSITION',
        'CAPABILITY_UNAVAILABLE',
        'AWS_ERROR',
      ],
      handler: async ({ params, headers, body }, request, reply) => {
        const view = await store.patch(params.tenantId, body, {
          actor: request.principal!.actor,
          ifMatch: headers['if-match'],
        });
        logContext(request, reply, { tenantId: view.tenant.tenantId });
        request.log.info({ changed: view.changed, version: view.config.version }, 'tenant config patched');
        return reply.header('etag', view.etag).send(view.config);
      },
    });
  });
}

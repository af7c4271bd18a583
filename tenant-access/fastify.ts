import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ControlPlaneError } from '../core/errors.js';
import { resolveTenantContext, type TenantContext, type TenantContextOptions } from './context.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's tenant, set by the tenant-context plugin before any handler runs. */
    tenant: TenantContext;
  }
}

export interface TenantContextPluginOptions extends TenantContextOptions {
  /** Routes that need no tenant (health checks), by URL path. @default ['/health'] */
  readonly publicPaths?: readonly string[];
}

/** Refusals answer in the control plane's error shape: `{ error: { code, message, details? } }`. */
function refuse(reply: FastifyReply, e: unknown): FastifyReply {
  const error =
    e instanceof ControlPlaneError
      ? e
      : new ControlPlaneError('INTERNAL', 'tenant context could not be resolved');
  return reply.code(error.status).send({ error: error.toJSON() });
}

/**
 * The tenant context on every request of the app it is registered on (not encapsulated, through
 * fastify-plugin): `request.tenant`, and `tenantId` on every later log line of the request.
 */
export const tenantContextPlugin = fp<TenantContextPluginOptions>(
  async (app: FastifyInstance, options: TenantContextPluginOptions) => {
    const publicPaths = new Set(options.publicPaths ?? ['/health']);
    app.decorateRequest('tenant', null as unknown as TenantContext);
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (publicPaths.has(request.url.split('?')[0]!)) return;
      try {
        const header = (name: string) => {
          const v = request.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        request.tenant = await resolveTenantContext(
          { authorization: header('authorization'), apiKey: header('x-api-key'), host: header('host') },
          options,
        );
      } catch (e) {
        request.log.info({ code: (e as ControlPlaneError).code }, 'tenant context refused');
        return refuse(reply, e);
      }
      const log = request.log.child({ tenantId: request.tenant.tenantId });
      request.log = log;
      reply.log = log;
    });
  },
  { name: 'tenant-context', fastify: '5.x' },
);

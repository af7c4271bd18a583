import { z } from 'zod';
import type { HealthInfo } from '../../core/runtime.js';
import type { RouteContext } from '../context.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import type { Router } from '../route.js';
import { HealthSchema, ReadinessSchema } from '../schemas.js';

export type { HealthInfo };

export interface MetaDeps {
  /** The one health source: AwsRuntime.health (core/runtime.ts); tests pass their own. */
  readonly health: () => Promise<HealthInfo>;
  readonly metrics: ControlPlaneMetrics;
  /** The OpenAPI document, built once every route is registered. */
  readonly openapi: () => Record<string, unknown>;
  /** How long a health probe may take before the registry counts as unreachable. */
  readonly healthTimeoutMs?: number;
}

/** The health probe, bounded in time: a hung AWS endpoint must not hang the probe. */
async function probe(deps: MetaDeps, table: string): Promise<HealthInfo & { ok: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('health probe timed out')), deps.healthTimeoutMs ?? 2000);
  });
  try {
    const info = await Promise.race([deps.health(), timeout]);
    return { ...info, ok: info.registry.status === 'ACTIVE' };
  } catch {
    return { awsEndpoint: null, registry: { table, status: 'UNREACHABLE' }, ok: false };
  } finally {
    clearTimeout(timer);
  }
}

export function metaRoutes(router: Router, ctx: RouteContext, deps: MetaDeps): void {
  const tags = ['meta'];
  router.add({
    method: 'GET',
    url: '/healthz',
    operationId: 'health',
    summary: 'Liveness and where AWS calls go',
    description:
      'Always 200 while the process serves; status is degraded when the registry table is not ACTIVE.',
    tags,
    auth: 'public',
    responses: { 200: { description: 'The process is up.', schema: HealthSchema } },
    handler: async (): Promise<z.output<typeof HealthSchema>> => {
      const info = await probe(deps, ctx.config.registryTable);
      return {
        status: info.ok ? 'ok' : 'degraded',
        awsEndpoint: info.awsEndpoint,
        registry: info.registry,
        ...(info.localAws ? { localAws: info.localAws } : {}),
      };
    },
  });

  router.add({
    method: 'GET',
    url: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: the registry is reachable',
    tags,
    auth: 'public',
    responses: {
      200: { description: 'Ready for traffic.', schema: ReadinessSchema },
      503: { description: 'The registry is not reachable (or not ACTIVE).', schema: ReadinessSchema },
    },
    handler: async (_input, _request, reply) => {
      const info = await probe(deps, ctx.config.registryTable);
      return reply
        .code(info.ok ? 200 : 503)
        .send({ status: info.ok ? 'ready' : 'not-ready', registry: info.registry });
    },
  });

  router.add({
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tags,
    auth: 'public',
    responses: { 200: { description: 'Prometheus text exposition format.', contentType: 'text/plain' } },
    handler: async (_input, _request, reply) =>
      reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  });

  router.add({
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openapi',
    summary: 'This OpenAPI document',
    tags,
    auth: 'public',
    responses: { 200: { description: 'OpenAPI 3.1 document.', schema: z.record(z.string(), z.unknown()) } },
    handler: async () => deps.openapi(),
  });
}

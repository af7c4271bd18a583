import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors.js';
import { type HealthStatus, TenantHealthSchema } from '../../core/reconcile/findings.js';
import { type FindingsStore, OrphanSchema, ReconcileRunSchema } from '../../core/reconcile/store.js';
import type { Page, Tenant } from '../../core/registry/records.js';
import type { TenantListQuery } from '../../core/registry/registry.js';
import type { Reconciler } from '../../workflows/index.js';
import { answerStarted, idempotent, logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import {
  EmptyBodySchema,
  IdempotencyHeadersSchema,
  StartedSchema,
  TenantRefParamsSchema,
} from '../schemas.js';

/** Reconcile, tenant health, repair and orphans (docs/reconcile.md). */

const tags = ['reconcile'];

export const ReconcileRequestSchema = z
  .object({
    /** One tenant (id or slug), compared at once; every tenant in the background when absent. */
    tenant: TenantRefParamsSchema.shape.tenantId.optional(),
    /** Start a repair operation for each tenant with repairable findings. */
    fix: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'ReconcileRequest' });

const RunParamsSchema = z.object({
  runId: z.string().regex(/^rc_[0-9A-HJKMNP-TV-Z]{26}$/, 'rc_ followed by a ULID'),
});
const OrphansSchema = z
  .object({ checkedAt: z.string().optional(), runId: z.string().optional(), orphans: z.array(OrphanSchema) })
  .meta({ id: 'Orphans' });
const DeleteOrphansSchema = z
  .object({
    ids: z
      .array(z.string().regex(/^f_[0-9a-f]{16}$/, 'an orphan id (f_…) from GET /v1/orphans'))
      .min(1)
      .max(100),
  })
  .strict()
  .meta({ id: 'DeleteOrphans' });
const DeletedOrphansSchema = z
  .object({ results: z.array(z.object({ id: z.string(), stackId: z.string(), result: z.string() })) })
  .meta({ id: 'DeletedOrphans' });

export interface ReconcileServices {
  readonly reconciler: Reconciler;
  readonly findings: FindingsStore;
}

function require(services: ReconcileServices | undefined): ReconcileServices {
  if (!services)
    throw new ControlPlaneError(
      'RECONCILE_UNAVAILABLE',
      'this API instance does not run the reconciler; ask the instance that runs the workflows',
    );
  return services;
}

/** Underlying pages read at most for one filtered page: a rare health is answered in short pages. */
const MAX_PAGES = 10;

/**
 * The tenant list filtered on health (GET /v1/tenants?health=…): whole pages of the tenant list
 * are read and filtered, and a page of them is never split, so the cursor always points at a page
 * start; a page may hold fewer than `limit` tenants while `nextCursor` is set.
 */
export async function tenantsWithHealth(
  ctx: RouteContext,
  services: ReconcileServices | undefined,
  query: TenantListQuery & { health: HealthStatus },
): Promise<Page<Tenant>> {
  const { findings } = require(services);
  const limit = query.limit ?? 50;
  const items: Tenant[] = [];
  let cursor = query.cursor;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await ctx.registry.listTenants({ ...query, limit, ...(cursor ? { cursor } : {}) });
    const health = await findings.healthOf(page.items.map((t) => t.tenantId));
    const matches = page.items.filter((t) => health.get(t.tenantId)?.status === query.health);
    if (items.length + matches.length > limit) return { items, nextCursor: cursor };
    items.push(...matches);
    cursor = page.nextCursor;
    if (!cursor || items.length === limit) break;
  }
  return { items, nextCursor: cursor };
}

export function reconcileRoutes(
  router: Router,
  ctx: RouteContext,
  services: ReconcileServices | undefined,
): void {
  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/health',
    operationId: 'getTenantHealth',
    summary: "A tenant's health: what the last reconcile found",
    description:
      '`healthy` (nothing differs), `drifted` (AWS differs from the record, the tenant still works), `degraded` (something it needs is missing or broken), `unknown` (never reconciled). `findings` lists each difference with its class; `unchecked` findings say what could not be compared (e.g. drift detection unavailable on this endpoint).',
    tags,
    auth: 'tenants:read',
    params: TenantRefParamsSchema,
    responses: { 200: { description: 'The tenant’s health.', schema: TenantHealthSchema } },
    errors: ['TENANT_NOT_FOUND', 'RECONCILE_UNAVAILABLE'],
    handler: async ({ params }, request, reply) => {
      const { findings } = require(services);
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      return findings.health(tenant.tenantId);
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/reconcile',
    operationId: 'reconcile',
    summary: 'Compare the registry with AWS',
    description:
      'With `tenant`: compares that tenant now and answers 200 `{ run, health }`. Without: starts a run over every tenant and answers 202 `{ run }`; follow its progress at /v1/reconcile/{runId}. With `fix`, each tenant with repairable findings gets a repair operation (`run.repairs`). Orphans are reported (GET /v1/orphans), never deleted.',
    tags,
    auth: 'tenants:write',
    body: ReconcileRequestSchema,
    responses: {
      200: {
        description: 'One tenant compared.',
        schema: z.object({ run: ReconcileRunSchema, health: TenantHealthSchema }),
      },
      202: { description: 'A run over every tenant started.', schema: z.object({ run: ReconcileRunSchema }) },
    },
    errors: ['TENANT_NOT_FOUND', 'RECONCILE_UNAVAILABLE'],
    handler: async ({ body }, request, reply) => {
      const { reconciler } = require(services);
      const actor = request.principal!.actor;
      if (body.tenant) {
        const answer = await reconciler.reconcileOne({ actor, tenant: body.tenant, fix: body.fix === true });
        logContext(request, reply, { tenantId: answer.health.tenantId });
        return answer;
      }
      const run = await reconciler.start({ actor, fix: body.fix === true });
      request.log.info({ runId: run.runId }, 'reconcile run started');
      return reply.code(202).send({ run });
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/reconcile/:runId',
    operationId: 'getReconcileRun',
    summary: 'A reconcile run and its progress',
    tags,
    auth: 'tenants:read',
    params: RunParamsSchema,
    responses: { 200: { description: 'The run.', schema: ReconcileRunSchema } },
    errors: ['RECONCILE_RUN_NOT_FOUND', 'RECONCILE_UNAVAILABLE'],
    handler: async ({ params }) => {
      const run = await require(services).findings.run(params.runId);
      if (!run)
        throw new ControlPlaneError('RECONCILE_RUN_NOT_FOUND', `no reconcile run with id "${params.runId}"`);
      return run;
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/repair',
    operationId: 'repairTenant',
    summary: "Run an ACTIVE tenant's ensure steps again",
    description:
      'A recorded `repair` operation: recreates a missing stack and re-applies the recorded template version with an update, ensures the group and admin user (enabled), ensures the API key (made again when deleted) in its tier’s usage plan only, enabled. Send an Idempotency-Key to retry safely.',
    tags,
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: EmptyBodySchema,
    responses: {
      202: { description: 'The repair is recorded and running.', schema: StartedSchema },
    },
    errors: [
      'TENANT_NOT_FOUND',
      'OPERATION_IN_PROGRESS',
      'INVALID_STATE_TRANSITION',
      'IDEMPOTENCY_KEY_REUSED',
      'IDEMPOTENCY_IN_FLIGHT',
    ],
    handler: async ({ params, headers }, request, reply) =>
      answerStarted(ctx, request, reply, {
        ...idempotent(request, headers, params, {}),
        run: (call) => ctx.lifecycle.repair(params.tenantId, call),
      }),
  });

  router.add({
    method: 'GET',
    url: '/v1/orphans',
    operationId: 'listOrphans',
    summary: 'Orphan stacks the last full reconcile run found',
    description:
      'Stacks tagged with a TenantId of no tenant, of an OFFBOARDED one, or that the tenant’s record does not list. Never deleted by the control plane unless asked (POST /v1/orphans/delete).',
    tags,
    auth: 'tenants:read',
    responses: { 200: { description: 'The orphans.', schema: OrphansSchema } },
    errors: ['RECONCILE_UNAVAILABLE'],
    handler: async () => require(services).findings.orphans(),
  });

  router.add({
    method: 'POST',
    url: '/v1/orphans/delete',
    operationId: 'deleteOrphans',
    summary: 'Delete orphan stacks, by id',
    description:
      'Each id must be an orphan of the last run and still be one now (it is looked at again); anything else is left alone and said so. Deleting is asked of CloudFormation (DeleteStack); a stack still deleting says `deleting`.',
    tags,
    auth: 'admin',
    body: DeleteOrphansSchema,
    responses: { 200: { description: 'What was done with each.', schema: DeletedOrphansSchema } },
    errors: ['RECONCILE_UNAVAILABLE'],
    handler: async ({ body }, request) => {
      const results = await require(services).reconciler.deleteOrphans(body.ids);
      request.log.info({ deleted: results.filter((r) => r.result === 'deleted').length }, 'orphans deleted');
      return { results };
    },
  });
}

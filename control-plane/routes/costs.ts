import { z } from 'zod';
import { COST_GRANULARITIES, type CostQuery, type CostSource } from '../../core/costs/cost-explorer.js';
import {
  buildCostReport,
  type CostReport,
  type RevenueSource,
  type TenantInfo,
} from '../../core/costs/report.js';
import { ControlPlaneError } from '../../core/errors.js';
import type { RegistryReader } from '../../core/registry/queries.js';
import type { UsageReader } from '../../core/usage/store.js';
import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { TenantRefParamsSchema } from '../schemas.js';

/** Cost Explorer answers DAILY ranges of up to a year (it keeps 13 months, 14 with the opt-in). */
export const MAX_COST_RANGE_DAYS = 366;

const DateSchema = z.iso.date({ error: 'a date YYYY-MM-DD such as 2026-12-01' });
const CostQuerySchema = z
  .object({
    from: DateSchema.optional().describe(
      'YYYY-MM-DD, inclusive. Default: the first of the current month (UTC).',
    ),
    to: DateSchema.optional().describe(
      'YYYY-MM-DD, exclusive. Default: tomorrow (UTC), so today is included.',
    ),
    granularity: z.enum(COST_GRANULARITIES).optional().describe('Periods of the report (default DAILY).'),
  })
  .strict();

const Money = z.object({ amount: z.number(), currency: z.string() });
const Period = z.object({ start: z.string(), end: z.string() });
const TenantCostSchema = z.object({
  tenantId: z.string(),
  slug: z.string().nullable(),
  tier: z.string().nullable(),
  direct: z.number().meta({ description: 'Cost of resources tagged TenantId=<this tenant>.' }),
  apportioned: z.number().meta({ description: 'Its share of the shared (untagged and platform) cost.' }),
  total: z.number(),
  usage: z.number().meta({ description: 'Usage of the apportioning meter over the range.' }),
  usageShare: z.number(),
  revenue: Money.nullable(),
  costToRevenue: z.number().nullable(),
  periods: z.array(
    Period.extend({ direct: z.number(), apportioned: z.number(), total: z.number(), usage: z.number() }),
  ),
});
const ReportMeta = {
  from: z.string(),
  to: z.string(),
  granularity: z.enum(COST_GRANULARITIES),
  currency: z.string(),
  estimated: z.boolean(),
  method: z.object({
    tag: z.literal('TenantId'),
    sharedCostMeter: z.string().nullable(),
    sharedTagValues: z.array(z.string()),
  }),
};
const CostReportSchema = z
  .object({
    ...ReportMeta,
    total: z.number(),
    direct: z.number(),
    shared: z.number(),
    apportioned: z.number(),
    unapportioned: z.number().meta({ description: 'Shared cost of periods with no metered usage at all.' }),
    periods: z.array(
      Period.extend({
        total: z.number(),
        direct: z.number(),
        shared: z.number(),
        unapportioned: z.number(),
        estimated: z.boolean(),
      }),
    ),
    tenants: z.array(TenantCostSchema),
  })
  .meta({ id: 'CostReport' });
const TenantCostResponseSchema = TenantCostSchema.extend(ReportMeta).meta({ id: 'TenantCost' });

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function costQuery(now: Date, q: z.output<typeof CostQuerySchema>): CostQuery {
  const from = q.from ?? isoDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)));
  const to = q.to ?? isoDay(new Date(now.getTime() + 86_400_000));
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  if (!(days > 0) || days > MAX_COST_RANGE_DAYS)
    throw new ControlPlaneError(
      'INVALID_TIME_RANGE',
      `from ${from} to ${to} is not accepted: dates YYYY-MM-DD, to (exclusive) after from, at most ${MAX_COST_RANGE_DAYS} days apart`,
      { details: { from, to, maxDays: MAX_COST_RANGE_DAYS } },
    );
  return { from, to, granularity: q.granularity ?? 'DAILY' };
}

/** Every tenant, through the registry's list pages. */
async function allTenants(registry: RegistryReader): Promise<TenantInfo[]> {
  const out: TenantInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await registry.listTenants({ limit: 200, ...(cursor ? { cursor } : {}) });
    out.push(...page.items.map((t) => ({ tenantId: t.tenantId, slug: t.slug, tier: t.tier })));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

export interface CostRouteOptions {
  /** Cost Explorer (core/costs/cost-explorer.ts); absent: the routes answer COST_DATA_UNAVAILABLE. */
  readonly source: CostSource | undefined;
  readonly usage: UsageReader;
  /** The billing provider's revenue per tenant, when one is wired: adds cost ÷ revenue. */
  readonly revenue?: RevenueSource | undefined;
  /** `TenantId` values of shared resources: the platform's own ('platform'); untagged ('') is always shared. */
  readonly platformTagValue: string;
}

/** GET /v1/costs and GET /v1/tenants/:tenantId/cost: cost per tenant from Cost Explorer. */
export function costRoutes(router: Router, ctx: RouteContext, options: CostRouteOptions): void {
  const report = async (query: CostQuery): Promise<CostReport> => {
    if (!options.source)
      throw new ControlPlaneError(
        'COST_DATA_UNAVAILABLE',
        'this API instance has no Cost Explorer client wired; cost per tenant is not available here',
      );
    return buildCostReport(
      {
        source: options.source,
        usage: options.usage,
        tenants: () => allTenants(ctx.registry),
        sharedCostMeter: ctx.catalog.sharedCostMeter,
        sharedTagValues: ['', options.platformTagValue],
        revenue: options.revenue,
      },
      query,
    );
  };
  const description =
    'Cost Explorer GetCostAndUsage (UnblendedCost) grouped by the TenantId cost-allocation tag. Untagged and platform-tagged cost is shared: it is apportioned by each tenant’s share of the catalog’s sharedCostMeter usage in each period (docs/metering.md). Each call is one or more Cost Explorer requests (billed by AWS per request).';

  router.add({
    method: 'GET',
    url: '/v1/costs',
    operationId: 'listCosts',
    summary: 'Cost per tenant, every tenant, highest first',
    description,
    tags: ['costs'],
    auth: 'costs:read',
    query: CostQuerySchema,
    responses: { 200: { description: 'The cost report.', schema: CostReportSchema } },
    errors: ['INVALID_TIME_RANGE', 'COST_DATA_UNAVAILABLE', 'AWS_ERROR', 'AWS_THROTTLED', 'AWS_TRANSIENT'],
    handler: async ({ query }) => report(costQuery(ctx.clock(), query)),
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/cost',
    operationId: 'getTenantCost',
    summary: "A tenant's cost: direct, apportioned share, cost ÷ revenue",
    description,
    tags: ['costs'],
    auth: 'costs:read',
    params: TenantRefParamsSchema,
    query: CostQuerySchema,
    responses: { 200: { description: "The tenant's cost.", schema: TenantCostResponseSchema } },
    errors: [
      'TENANT_NOT_FOUND',
      'INVALID_TIME_RANGE',
      'COST_DATA_UNAVAILABLE',
      'AWS_ERROR',
      'AWS_THROTTLED',
      'AWS_TRANSIENT',
    ],
    handler: async ({ params, query }, request, reply) => {
      const q = costQuery(ctx.clock(), query);
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      const {
        tenants,
        total: _t,
        direct: _d,
        shared: _s,
        apportioned: _a,
        unapportioned: _u,
        periods,
        ...meta
      } = await report(q);
      const row = tenants.find((t) => t.tenantId === tenant.tenantId) ?? {
        tenantId: tenant.tenantId,
        slug: tenant.slug,
        tier: tenant.tier,
        direct: 0,
        apportioned: 0,
        total: 0,
        usage: 0,
        usageShare: 0,
        revenue: null,
        costToRevenue: null,
        periods: periods.map((p) => ({
          start: p.start,
          end: p.end,
          direct: 0,
          apportioned: 0,
          total: 0,
          usage: 0,
        })),
      };
      return { ...meta, ...row };
    },
  });
}

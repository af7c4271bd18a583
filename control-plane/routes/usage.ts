import { z } from 'zod';
import { ControlPlaneError, isControlPlaneError } from '../../core/errors.js';
import { EVENT_STATUSES, ingestBatch, UsageBatchSchema, type UsageLimits } from '../../core/usage/ingest.js';
import { AggregationSchema, hourOf, hourValue, rangeValue } from '../../core/usage/meters.js';
import type { UsageStore } from '../../core/usage/store.js';
import { logContext, type RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { ERROR_CODES, TenantRefParamsSchema } from '../schemas.js';

/** The longest range one usage read covers: a quarter, so its summary is at most ~2,200 hours a meter. */
export const MAX_USAGE_RANGE_DAYS = 93;

const BatchResultSchema = z
  .object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    refused: z.number().int(),
    events: z.array(
      z.object({
        index: z.number().int(),
        idempotencyKey: z.string().optional(),
        status: z.enum(EVENT_STATUSES),
        code: z.enum(ERROR_CODES).optional(),
        message: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'UsageBatchResult' });

const UsageQuerySchema = z
  .object({
    meter: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('One meter; absent: every meter of the tenant’s tier.'),
    from: z.iso
      .datetime({ offset: true, error: 'an ISO 8601 time such as 2026-12-04T09:00:00Z' })
      .optional()
      .describe('Inclusive, rounded down to its hour. Default: the start of the current month (UTC).'),
    to: z.iso
      .datetime({ offset: true, error: 'an ISO 8601 time such as 2026-12-04T09:00:00Z' })
      .optional()
      .describe('Exclusive. Default: the end of the current hour.'),
    limit: z.coerce.number().int().min(1).max(744).optional().describe('Hours per page (default 168).'),
    cursor: z.string().min(1).max(1024).optional(),
  })
  .strict();

const UsageResponseSchema = z
  .object({
    tenantId: z.string(),
    tier: z.string(),
    from: z.string(),
    to: z.string(),
    meters: z.array(
      z.object({
        meter: z.string(),
        unit: z.string(),
        aggregation: AggregationSchema,
        value: z.number().meta({ description: 'The range’s value by the meter’s aggregation.' }),
        included: z
          .number()
          .nullable()
          .meta({ description: 'Included per month by the tier; null: not metered on it.' }),
        overage: z.number().meta({ description: 'value − included, at least 0.' }),
      }),
    ),
    items: z.array(
      z.object({
        meter: z.string(),
        hour: z.string(),
        value: z.number(),
        sum: z.number(),
        count: z.number().int(),
        max: z.number().optional(),
        last: z.number().optional(),
        lastAt: z.string().optional(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'TenantUsage' });

/** The read range: from rounded down to its hour, to exclusive, at most MAX_USAGE_RANGE_DAYS. */
function usageRange(now: Date, from?: string, to?: string): { from: Date; to: Date } {
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const start = new Date(hourOf(from ? new Date(from) : monthStart));
  const end = to ? new Date(to) : new Date(new Date(hourOf(now)).getTime() + 3600_000);
  const days = (end.getTime() - start.getTime()) / 86_400_000;
  if (!(end > start) || days > MAX_USAGE_RANGE_DAYS)
    throw new ControlPlaneError(
      'INVALID_TIME_RANGE',
      `from ${start.toISOString()} to ${end.toISOString()} is not accepted: to must be after from (from is rounded down to its hour), at most ${MAX_USAGE_RANGE_DAYS} days apart`,
      { details: { from: start.toISOString(), to: end.toISOString(), maxDays: MAX_USAGE_RANGE_DAYS } },
    );
  return { from: start, to: end };
}

/** A page position across meters: which meter, and the store's cursor within it. */
const encodeCursor = (meter: string, inner: string) =>
  Buffer.from(JSON.stringify({ m: meter, c: inner })).toString('base64url');
function decodeCursor(cursor: string, meters: readonly string[]): { meter: string; inner: string } {
  try {
    const { m, c } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      m: unknown;
      c: unknown;
    };
    if (typeof m === 'string' && typeof c === 'string' && meters.includes(m)) return { meter: m, inner: c };
  } catch {
    // refused below
  }
  throw new ControlPlaneError('VALIDATION_FAILED', 'cursor is not one this query returned', {
    details: [
      { in: 'query', path: 'cursor', message: 'a nextCursor from a page with the same meter and range' },
    ],
  });
}

export interface UsageRouteOptions {
  readonly store: UsageStore;
  readonly limits?: Partial<UsageLimits>;
}

/** POST /v1/usage (usage events in batches) and GET /v1/tenants/:tenantId/usage (hourly aggregates). */
export function usageRoutes(router: Router, ctx: RouteContext, options: UsageRouteOptions): void {
  const { store } = options;
  router.add({
    method: 'POST',
    url: '/v1/usage',
    operationId: 'recordUsage',
    summary: 'Record a batch of usage events',
    description:
      'Up to 100 events `{ tenantId, meter, quantity, timestamp, idempotencyKey }`, each validated on its own and counted once per tenant and idempotency key (a redelivery is a `duplicate`). The answer says per event `accepted`, `duplicate` or `refused` (with its code). When every event is refused nothing is written and the answer is 400 USAGE_BATCH_REJECTED. Retrying a whole batch is safe: no Idempotency-Key header is needed.',
    tags: ['usage'],
    auth: 'usage:write',
    body: UsageBatchSchema,
    responses: { 200: { description: 'What became of each event.', schema: BatchResultSchema } },
    errors: ['USAGE_BATCH_TOO_LARGE', 'USAGE_BATCH_REJECTED'],
    handler: async ({ body }, request) => {
      const result = await ingestBatch(body.events, {
        store,
        catalog: ctx.catalog,
        findTenant: (ref) =>
          ctx.registry.requireTenant(ref).catch((e: unknown) => {
            if (isControlPlaneError(e, 'TENANT_NOT_FOUND')) return undefined;
            throw e;
          }),
        clock: ctx.clock,
        ...(options.limits ? { limits: options.limits } : {}),
      });
      request.log.info(
        { accepted: result.accepted, duplicates: result.duplicates, refused: result.refused },
        'usage batch recorded',
      );
      return result;
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/usage',
    operationId: 'getTenantUsage',
    summary: "A tenant's metered usage: hourly aggregates, included quantity and overage",
    description:
      'Hours oldest first, paged (`limit`, `cursor`), one meter or every meter of the tenant’s tier; `meters` summarises the whole range by each meter’s aggregation, with the tier’s monthly included quantity and the overage above it.',
    tags: ['usage'],
    auth: 'tenants:read',
    params: TenantRefParamsSchema,
    query: UsageQuerySchema,
    responses: { 200: { description: 'The usage.', schema: UsageResponseSchema } },
    errors: ['TENANT_NOT_FOUND', 'UNKNOWN_METER', 'INVALID_TIME_RANGE'],
    handler: async ({ params, query }, request, reply) => {
      const range = usageRange(ctx.clock(), query.from, query.to);
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      if (query.meter && !ctx.catalog.meter(query.meter))
        throw new ControlPlaneError(
          'UNKNOWN_METER',
          `unknown meter "${query.meter}"; the catalog has ${ctx.catalog.meters.map((m) => m.name).join(', ') || 'no meters'}`,
        );
      const meters = query.meter ? [query.meter] : ctx.catalog.tierMeters(tenant.tier);
      const meterOf = (name: string) => ctx.catalog.meter(name)!;

      // The page: meters in order, continuing from the cursor's meter.
      const limit = query.limit ?? 168;
      let position = query.cursor ? decodeCursor(query.cursor, meters) : undefined;
      const items: z.output<typeof UsageResponseSchema>['items'] = [];
      let nextCursor: string | null = null;
      for (let i = position ? meters.indexOf(position.meter) : 0; i < meters.length; i++) {
        const name = meters[i]!;
        const page = await store.hourlyPage(tenant.tenantId, name, range.from, range.to, {
          limit: limit - items.length,
          cursor: position?.meter === name ? position.inner : undefined,
        });
        position = undefined;
        const aggregation = meterOf(name).aggregation;
        items.push(...page.items.map((h) => ({ ...h, value: hourValue(aggregation, h) })));
        if (page.nextCursor) {
          nextCursor = encodeCursor(name, page.nextCursor);
          break;
        }
        if (items.length >= limit && i + 1 < meters.length) {
          // The meter is done: the next page starts at the next meter's first hour.
          nextCursor = encodeCursor(meters[i + 1]!, '');
          break;
        }
      }

      const summary = await Promise.all(
        meters.map(async (name) => {
          const m = meterOf(name);
          const value = rangeValue(
            m.aggregation,
            await store.hourly(tenant.tenantId, name, range.from, range.to),
          );
          const included = ctx.catalog.included(tenant.tier, name) ?? null;
          return {
            meter: name,
            unit: m.unit,
            aggregation: m.aggregation,
            value,
            included,
            overage: included === null ? 0 : Math.max(0, value - included),
          };
        }),
      );
      return {
        tenantId: tenant.tenantId,
        tier: tenant.tier,
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        meters: summary,
        items,
        nextCursor,
      };
    },
  });
}

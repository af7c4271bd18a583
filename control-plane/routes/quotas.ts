import { z } from 'zod';
import { QUOTA_NAMES, QUOTA_STATUSES } from '../../core/quotas/rules.js';
import type { QuotaService } from '../../core/quotas/service.js';
import type { Router } from '../route.js';
import { RegionSchema } from '../schemas.js';

export const QuotaViewSchema = z.object({
  quota: z.enum(QUOTA_NAMES),
  description: z.string(),
  usage: z.number().nullable(),
  limit: z.number().nullable(),
  limitSource: z.enum(['aws', 'configured']).nullable(),
  headroom: z.number().nullable(),
  status: z.enum(QUOTA_STATUSES),
  reason: z.string().optional(),
  perOnboarding: z.record(z.string(), z.number()),
  demandNote: z.string(),
  checkedAt: z.string(),
});
export const QuotasResponseSchema = z
  .object({
    precheck: z.boolean(),
    region: z.string().describe('The region the quotas are of.'),
    quotas: z.array(QuotaViewSchema),
  })
  .meta({ id: 'Quotas' });

const QuotasQuerySchema = z.object({
  region: RegionSchema.optional().describe(
    "An allowed region (ALLOWED_REGIONS) whose quotas to show; default the control plane's.",
  ),
});

/**
 * The AWS quotas onboarding takes of, with their headroom (core/quotas), per region: `quotasIn`
 * answers an allowed region's pre-checks or throws REGION_NOT_ALLOWED.
 */
export function quotaRoutes(
  router: Router,
  home: { readonly region: string; readonly quotas: QuotaService },
  quotasIn: (region: string) => QuotaService,
): void {
  router.add({
    method: 'GET',
    url: '/v1/quotas',
    operationId: 'listQuotas',
    summary: 'AWS quotas onboarding consumes, with their headroom',
    description:
      "Usage, limit and headroom per quota of one region (`region`, default the control plane's), as the onboarding pre-check of a tenant placed there sees them (cached for QUOTA_CACHE_SECONDS). `not-available` and `error` quotas are unchecked: they never refuse an onboarding.",
    tags: ['quotas'],
    auth: 'tenants:read',
    query: QuotasQuerySchema,
    responses: { 200: { description: 'Every quota.', schema: QuotasResponseSchema } },
    errors: ['REGION_NOT_ALLOWED'],
    handler: async ({ query }) => {
      const region = query.region ?? home.region;
      const service = region === home.region ? home.quotas : quotasIn(region);
      return { precheck: service.enabled, region, quotas: await service.headroom() };
    },
  });
}

import { z } from 'zod';
import { QUOTA_NAMES, QUOTA_STATUSES } from '../../core/quotas/rules.js';
import type { QuotaService } from '../../core/quotas/service.js';
import type { Router } from '../route.js';

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
  .object({ precheck: z.boolean(), quotas: z.array(QuotaViewSchema) })
  .meta({ id: 'Quotas' });

/** The AWS quotas onboarding takes of, with their headroom (core/quotas). */
export function quotaRoutes(router: Router, quotas: QuotaService): void {
  router.add({
    method: 'GET',
    url: '/v1/quotas',
    operationId: 'listQuotas',
    summary: 'AWS quotas onboarding consumes, with their headroom',
    description:
      'Usage, limit and headroom per quota, as the onboarding pre-check sees them (cached for QUOTA_CACHE_SECONDS). `not-available` and `error` quotas are unchecked: they never refuse an onboarding.',
    tags: ['quotas'],
    auth: 'tenants:read',
    responses: { 200: { description: 'Every quota.', schema: QuotasResponseSchema } },
    handler: async () => ({ precheck: quotas.enabled, quotas: await quotas.headroom() }),
  });
}

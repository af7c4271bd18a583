import type { RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { TiersResponseSchema } from '../schemas.js';

export function tierRoutes(router: Router, ctx: RouteContext): void {
  router.add({
    method: 'GET',
    url: '/v1/tiers',
    operationId: 'listTiers',
    summary: 'The tier catalog',
    description:
      'Each tier with its isolation model, limits, database, dedicated-account setting, noisy-neighbour controls, allowed moves and the meters it includes; the meters the catalog declares and the Lambda concurrency limit the controls are checked against.',
    tags: ['tiers'],
    auth: 'tenants:read',
    responses: { 200: { description: 'The tier catalog.', schema: TiersResponseSchema } },
    handler: async () => ({
      tiers: ctx.catalog.tiers,
      meters: ctx.catalog.meters,
      ...(ctx.catalog.sharedCostMeter ? { sharedCostMeter: ctx.catalog.sharedCostMeter } : {}),
      lambdaConcurrencyLimit: ctx.catalog.lambdaConcurrencyLimit,
    }),
  });
}

import { z } from 'zod';
import { OPERATION_STATUSES, type OperationStatus } from '../../core/lifecycle.js';
import { describeGate } from '../../core/registry/leases.js';
import { gateSpecs, platformGateSpecs } from '../../workflows/index.js';
import type { RouteContext } from '../context.js';
import type { Router } from '../route.js';

const OwnerSchema = {
  owner: z.string().meta({ description: '`<operationId>` or `<operationId>/<what>` (e.g. the stack name).' }),
  operationId: z.string().optional(),
  operationStatus: z
    .enum([...OPERATION_STATUSES, 'MISSING'])
    .optional()
    .meta({ description: "The owner operation's status now; an ended or missing one is swept." }),
  expiresAt: z.string(),
  expired: z.boolean(),
};

export const GatesResponseSchema = z
  .object({
    gates: z.array(
      z.object({
        gate: z.string(),
        capacity: z.number().int(),
        slots: z.array(z.object({ slot: z.number().int(), takenAt: z.string().optional(), ...OwnerSchema })),
        waiters: z.array(
          z.object({
            position: z
              .number()
              .int()
              .nullable()
              .meta({ description: 'Place in the queue; null for an expired waiter (it holds no place).' }),
            queuedAt: z.string().optional(),
            ...OwnerSchema,
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'Gates' });

/** No query parameters: an unknown one is refused. */
const GatesQuerySchema = z.object({}).strict();

/**
 * GET /v1/gates: the cross-process gates (stack operations, account vending) as they stand: each
 * slot and waiter with its owner, the owner operation's status and the expiry. Read-only; the
 * waiters' own polls sweep what has expired or whose operation ended.
 */
export function gateRoutes(router: Router, ctx: RouteContext): void {
  router.add({
    method: 'GET',
    url: '/v1/gates',
    operationId: 'listGates',
    summary: 'Stack and account gates: slots, waiters, owners, expiries',
    description:
      'Each gate (stack operations, account vending, and the platform lease of each allowed region but home) with its capacity, the slots held and the waiters queued, each with its owner (operation), that operation’s status and its expiry. A waiter that stops polling loses its place when it expires; slots and waiters of ended operations are swept.',
    tags: ['operations'],
    auth: 'admin',
    query: GatesQuerySchema,
    responses: { 200: { description: 'Every gate.', schema: GatesResponseSchema } },
    handler: async () => {
      const now = Math.floor(ctx.clock().getTime() / 1000);
      const views = await Promise.all(
        [...Object.values(gateSpecs(ctx.config)), ...platformGateSpecs(ctx.config)].map(async (spec) =>
          describeGate(spec.name, spec.capacity, await ctx.registry.listGateItems(spec.name), now),
        ),
      );
      const ids = new Set(
        views.flatMap((v) =>
          [...v.slots, ...v.waiters].flatMap((i) => (i.operationId ? [i.operationId] : [])),
        ),
      );
      const statuses = new Map<string, OperationStatus | 'MISSING'>();
      await Promise.all(
        [...ids].map(async (id) =>
          statuses.set(id, (await ctx.registry.getOperation(id))?.status ?? 'MISSING'),
        ),
      );
      const withStatus = <T extends { operationId?: string | undefined }>(item: T) =>
        item.operationId ? { ...item, operationStatus: statuses.get(item.operationId) } : item;
      return {
        gates: views.map((v) => ({
          ...v,
          slots: v.slots.map(withStatus),
          waiters: v.waiters.map(withStatus),
        })),
      };
    },
  });
}

import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors.js';
import { OperationIdSchema } from '../../core/registry/records.js';
import { RolloutIdSchema } from '../../core/rollouts/records.js';
import type { EventTap, TappedEvent } from '../../workflows/index.js';
import { hasScope } from '../auth.js';
import type { RouteContext } from '../context.js';
import type { Router } from '../route.js';
import { TenantRefParamsSchema } from '../schemas.js';

export interface EventStreamDeps {
  /** This process's event tap (local engine); absent, the stream answers EVENT_STREAM_UNAVAILABLE. */
  readonly tap?: EventTap | undefined;
  /** A comment line this often keeps proxies and clients from timing the stream out. @default 15000 */
  readonly heartbeatMs?: number;
  /** Streams open at once across the process. @default 100 */
  readonly maxStreams?: number;
  /** Bytes a stream may have waiting on a slow client before it is closed (it resumes with Last-Event-ID). @default 1 MiB */
  readonly maxBufferedBytes?: number;
}

export const EventStreamQuerySchema = z
  .object({
    tenant: TenantRefParamsSchema.shape.tenantId
      .optional()
      .describe("Only this tenant's events (id or slug)."),
    operation: OperationIdSchema.optional().describe("Only this operation's events."),
    rollout: RolloutIdSchema.optional().describe(
      "Only this rollout's events (`rollout.*`; the credential needs rollouts:read).",
    ),
  })
  .strict();

export const EventStreamHeadersSchema = z.object({
  'last-event-id': z
    .string()
    .max(64)
    .optional()
    .describe('Resume after this event id (browsers send it when they reconnect).'),
});

/** One server-sent event: `id`, `event` and one `data` line of JSON (JSON has no raw newlines). */
export const sseFrame = (e: TappedEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/**
 * GET /v1/events/stream: the lifecycle events (those published to EventBridge) and the operation
 * and step changes of this process, as server-sent events. Each stream holds one subscription, one
 * heartbeat timer and at most `maxBufferedBytes` unsent; all end when the control plane closes.
 */
export function eventStreamRoutes(
  app: FastifyInstance,
  router: Router,
  ctx: RouteContext,
  deps: EventStreamDeps,
): void {
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const maxStreams = deps.maxStreams ?? 100;
  const maxBuffered = deps.maxBufferedBytes ?? 1024 * 1024;
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const raw of open) raw.end(': the control plane is shutting down\n\n');
  });

  router.add({
    method: 'GET',
    url: '/v1/events/stream',
    operationId: 'streamEvents',
    summary: 'Lifecycle events and operation progress, live (server-sent events)',
    description:
      'A `text/event-stream` of the lifecycle events (docs/events.md) and the operation changes (`operation.started`, `operation.step`, `operation.ended`) of the operations this control plane runs, and the rollout events (`rollout.*`, for credentials with rollouts:read), as they happen. Each event has an `id`; reconnecting with `Last-Event-ID` replays what was missed while the control plane still holds it, else a `stream.gap` event says to re-read. A comment line every 15 s keeps the connection alive. Only where workflows run in this process (the local engine): elsewhere EVENT_STREAM_UNAVAILABLE.',
    tags: ['events'],
    auth: 'tenants:read',
    query: EventStreamQuerySchema,
    headers: EventStreamHeadersSchema,
    responses: {
      200: {
        description: 'An event stream; each `data` line is one StreamEvent as JSON.',
        contentType: 'text/event-stream',
      },
    },
    errors: ['TENANT_NOT_FOUND', 'EVENT_STREAM_UNAVAILABLE'],
    handler: async ({ query, headers }, request, reply) => {
      const tap = deps.tap;
      if (!tap)
        throw new ControlPlaneError(
          'EVENT_STREAM_UNAVAILABLE',
          'this control plane runs no workflows itself (Step Functions): its events are on the EventBridge bus',
        );
      if (open.size >= maxStreams)
        throw new ControlPlaneError(
          'EVENT_STREAM_UNAVAILABLE',
          `${open.size} event streams are open, the most this control plane serves; retry later`,
        );
      const tenantId = query.tenant ? (await ctx.registry.requireTenant(query.tenant)).tenantId : undefined;
      // Rollout events go to credentials that may read rollouts; a tenant or operation filter
      // leaves them out (they name no tenant), a rollout filter keeps only that rollout's.
      const rollouts = hasScope(request.principal!, 'rollouts:read');
      if (query.rollout && !rollouts)
        throw new ControlPlaneError(
          'FORBIDDEN',
          `a rollout's events need the rollouts:read scope; ${request.principal!.actor} has ${[...request.principal!.scopes].join(', ') || 'none'}`,
          { details: { required: 'rollouts:read', granted: [...request.principal!.scopes] } },
        );
      const wanted = (e: TappedEvent) =>
        e.rolloutId !== undefined
          ? rollouts && !tenantId && !query.operation && (!query.rollout || e.rolloutId === query.rollout)
          : !query.rollout &&
            (!tenantId || e.tenantId === tenantId) &&
            (!query.operation || e.operationId === query.operation);

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      open.add(raw);
      const send = (chunk: string) => {
        if (raw.writableEnded) return;
        // A client that stopped reading is let go rather than buffered for without bound.
        if (raw.writableLength > maxBuffered) {
          raw.end(': too far behind; reconnect with Last-Event-ID\n\n');
          return;
        }
        raw.write(chunk);
      };
      send(`retry: 2000\n: ${tap.epoch}\n\n`);
      const last = headers['last-event-id'];
      if (last) {
        const replay = tap.replay(last);
        if (replay.gap)
          send(
            `event: stream.gap\ndata: ${JSON.stringify({ lastEventId: last, message: 'events after this id are no longer held; re-read the records' })}\n\n`,
          );
        for (const e of replay.events.filter(wanted)) send(sseFrame(e));
      }
      // Replay and subscription in one synchronous run: no event can fall between them.
      const unsubscribe = tap.subscribe((e) => {
        if (wanted(e)) send(sseFrame(e));
      });
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs);
      raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(raw);
      });
      request.log.info({ tenantId, operationId: query.operation }, 'event stream opened');
      return reply;
    },
  });
}

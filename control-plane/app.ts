import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { BillingAccounts } from '../core/billing/accounts.js';
import type { Config } from '../core/config.js';
import type { CostSource } from '../core/costs/cost-explorer.js';
import type { RevenueSource } from '../core/costs/report.js';
import { ControlPlaneError } from '../core/errors.js';
import type { QuotaService } from '../core/quotas/service.js';
import type { ProcessOwner, Registry } from '../core/registry/registry.js';
import type { TenantConfigStore } from '../core/tenant-config/store.js';
import type { TenantExports } from '../core/tenant-data/exports.js';
import type { UsageStore } from '../core/usage/store.js';
import { PLATFORM_TAG_VALUE } from '../templates/index.js';
import type { CredentialVendor } from '../tenant-access/index.js';
import type { TierCatalog } from '../tiers/catalog.js';
import type { LifecycleService, RolloutService, TenantUsers } from '../workflows/index.js';
import type { ApiKeyStore } from './api-keys.js';
import { Authenticator, createJwtVerifier, type JwtVerifier } from './auth.js';
import type { RouteContext } from './context.js';
import {
  clientErrorHandler,
  type ErrorHandlingOptions,
  frameworkErrors,
  installErrorHandling,
} from './errors-handler.js';
import { Idempotency } from './idempotency.js';
import { type ControlPlaneMetrics, createMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { createRouter } from './route.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { type ConsoleSource, consoleRoutes } from './routes/console.js';
import { costRoutes } from './routes/costs.js';
import { type EventStreamDeps, eventStreamRoutes } from './routes/events-stream.js';
import { exportRoutes } from './routes/exports.js';
import { gateRoutes } from './routes/gates.js';
import { type HealthInfo, metaRoutes } from './routes/meta.js';
import { operationControlRoutes } from './routes/operation-control.js';
import { operationHistoryRoutes } from './routes/operation-history.js';
import { operationRoutes } from './routes/operations.js';
import { quotaRoutes } from './routes/quotas.js';
import { type ReconcileServices, reconcileRoutes } from './routes/reconcile.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { stripeWebhookRoutes } from './routes/stripe-webhook.js';
import { tenantConfigRoutes } from './routes/tenant-config.js';
import { tenantUpdateRoutes } from './routes/tenant-update.js';
import { tenantUserRoutes } from './routes/tenant-users.js';
import { tenantRoutes } from './routes/tenants.js';
import { tierRoutes } from './routes/tiers.js';
import { usageRoutes } from './routes/usage.js';
import { webhookRoutes } from './routes/webhooks.js';
import { whoAmIRoutes } from './routes/whoami.js';

export interface AppDeps {
  readonly config: Config;
  readonly registry: Registry;
  readonly catalog: TierCatalog;
  readonly lifecycle: LifecycleService;
  /** API keys, in the registry table: `new ApiKeyStore({ documents, tableName: config.registryTable })`. */
  readonly apiKeys: ApiKeyStore;
  readonly health: () => Promise<HealthInfo>;
  /** Pino options (merged over `{ level: config.logLevel }` and the redaction), `false`, or a logger instance. */
  readonly logger?: boolean | PinoOptions | FastifyBaseLogger;
  readonly clock?: () => Date;
  /** Share one metrics object with the workflows (they report finished operations); made here if absent. */
  readonly metrics?: ControlPlaneMetrics;
  /** Overrides the Cognito verifier built from config.jwtIssuer (tests use a local JWKS). */
  readonly jwtVerifier?: JwtVerifier;
  /** How long a duplicate request waits for the first one with its idempotency key (default 5 s). */
  readonly idempotencyWaitMs?: number;
  /** The process that owns the idempotency records it takes (the local engine's claims), if any. */
  readonly processOwner?: ProcessOwner | undefined;
  /** Tenant configuration documents (GET/PATCH /v1/tenants/:id/config). */
  readonly tenantConfig: TenantConfigStore;
  /** Quota pre-checks, shared with the lifecycle (GET /v1/quotas). */
  readonly quotas: QuotaService;
  /** Another allowed region's quota pre-checks (GET /v1/quotas?region=); absent: home only. */
  readonly quotasIn?: (region: string) => QuotaService;
  /** The reconciler and its findings (docs/reconcile.md); without them those routes answer RECONCILE_UNAVAILABLE. */
  readonly reconcile?: ReconcileServices;
  /** Reads tenant data exports (GET /v1/tenants/:id/export); without it those routes answer EXPORTS_UNAVAILABLE. */
  readonly exports?: TenantExports;
  /** Usage aggregates in the registry table: `new UsageStore({ db: documents, tableName: config.registryTable, clock })`. */
  readonly usage: UsageStore;
  /** Cost Explorer for GET /v1/costs and /v1/tenants/:id/cost; without it they answer COST_DATA_UNAVAILABLE. */
  readonly costs?: CostSource;
  /** Revenue per tenant from the billing provider: adds cost ÷ revenue to cost reports. */
  readonly revenue?: RevenueSource;
  /** Billing records (customer → tenant) for the Stripe webhook; without them every customer is unknown. */
  readonly billingAccounts?: BillingAccounts;
  /** The event stream's source (the workflows' tap, local engine); without it the stream answers EVENT_STREAM_UNAVAILABLE. */
  readonly events?: EventStreamDeps;
  /** The web console's assets (server role); without it /console answers CONSOLE_UNAVAILABLE. */
  readonly console?: ConsoleSource;
  /** Fleet rollouts and template versions (`/v1/rollouts`, `/v1/templates`); without it those routes answer INTERNAL. */
  readonly rollouts?: RolloutService;
  /** Tenant users and credential vending (/v1/tenants/:id/users, /credentials); registered where given. */
  readonly access?: { readonly users: TenantUsers; readonly credentials: CredentialVendor };
}

type PinoOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus metrics; workflows call `app.metrics.operationFinished(type, status, seconds)`. */
    metrics: ControlPlaneMetrics;
  }
}

/** Secrets never reach the log, whatever a logger serializer is configured to include. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'req.headers["stripe-signature"]',
  'headers.authorization',
  'headers["webhook-signature"]',
  'headers["stripe-signature"]',
];

const isLoggerInstance = (l: AppDeps['logger']): l is FastifyBaseLogger =>
  typeof l === 'object' && l !== null && typeof (l as FastifyBaseLogger).child === 'function';

/** A caller's X-Request-Id when it is sane, else a fresh one: it is echoed and logged. */
function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/** Longer path segments answer 414 URI_TOO_LONG: no id the API takes is near it (slugs 32, ids 29). */
const MAX_PARAM_LENGTH = 100;

function errorHandling(config: Config): ErrorHandlingOptions {
  return {
    bodyLimit: config.bodyLimit,
    maxParamLength: MAX_PARAM_LENGTH,
    localAws: config.target === 'local',
  };
}

function createFastify(deps: AppDeps): FastifyInstance {
  const options: FastifyServerOptions = {
    bodyLimit: deps.config.bodyLimit,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors raised before a route runs answer in the catalogue's shape too (errors-handler.ts).
    frameworkErrors: frameworkErrors(errorHandling(deps.config)),
    clientErrorHandler,
    genReqId: requestId,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // Requests arriving while closing get SHUTTING_DOWN in the catalogue's format (hook below).
    return503OnClosing: false,
  };
  if (isLoggerInstance(deps.logger)) return Fastify({ ...options, loggerInstance: deps.logger });
  const logger =
    deps.logger === false
      ? false
      : {
          level: deps.config.logLevel,
          ...(typeof deps.logger === 'object' ? deps.logger : {}),
          redact: REDACT,
        };
  return Fastify({ ...options, logger });
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = createFastify(deps);
  const metrics = deps.metrics ?? createMetrics();
  const clock = deps.clock ?? (() => new Date());
  app.decorate('metrics', metrics);
  app.decorateRequest('principal', null);

  installErrorHandling(app, errorHandling(deps.config));

  // JSON only; an empty body is "no body" (resume, offboard), the route's schema decides.
  app.removeAllContentTypeParsers();
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    json(request, body as string, done);
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing)
      throw new ControlPlaneError(
        'SHUTTING_DOWN',
        'the control plane is shutting down; retry on another instance',
      );
  });
  // Answers finished while closing end their keep-alive connection, so close() does not wait for
  // idle clients to time out.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route template, not the URL: one series per route, whatever the ids.
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  const jwt =
    deps.jwtVerifier ??
    (deps.config.jwtIssuer
      ? createJwtVerifier({ issuer: deps.config.jwtIssuer, audience: deps.config.jwtAudience })
      : undefined);
  const auth = new Authenticator({ apiKeys: deps.apiKeys, jwt });
  const idempotency = new Idempotency(deps.registry, {
    waitMs: deps.idempotencyWaitMs ?? 5000,
    owner: deps.processOwner,
    onCompleteFailed: (e) =>
      app.log.warn(
        { err: e },
        'could not record an idempotent response; retries with its key replay its operation',
      ),
  });
  const ctx: RouteContext = {
    config: deps.config,
    registry: deps.registry,
    catalog: deps.catalog,
    lifecycle: deps.lifecycle,
    idempotency,
    metrics,
    clock,
    reconcile: deps.reconcile,
  };

  const router = createRouter(app, auth);
  let document: Record<string, unknown> | undefined;
  const openapi = () => {
    document ??= buildOpenApiDocument(router.docs, {
      title: 'Tenant control plane',
      version: '1',
      description:
        'Onboard, change the tier of, suspend, resume and offboard tenants. Errors: docs/errors.md.',
    });
    return document;
  };
  tenantRoutes(router, ctx);
  tenantUpdateRoutes(router, ctx);
  operationRoutes(router, ctx);
  operationControlRoutes(router, ctx);
  operationHistoryRoutes(router, ctx);
  reconcileRoutes(router, ctx, deps.reconcile);
  exportRoutes(router, ctx, deps.exports);
  tierRoutes(router, ctx);
  gateRoutes(router, ctx);
  rolloutRoutes(router, ctx, deps.rollouts);
  apiKeyRoutes(router, deps.apiKeys);
  usageRoutes(router, ctx, { store: deps.usage });
  costRoutes(router, ctx, {
    source: deps.costs,
    usage: deps.usage,
    revenue: deps.revenue,
    platformTagValue: PLATFORM_TAG_VALUE,
  });
  if (deps.access) tenantUserRoutes(router, ctx, deps.access.users, deps.access.credentials);
  metaRoutes(router, ctx, { health: deps.health, metrics, openapi });
  eventStreamRoutes(app, router, ctx, deps.events ?? {});
  whoAmIRoutes(router);
  consoleRoutes(router, deps.console);
  await webhookRoutes(app, router, ctx);
  await tenantConfigRoutes(app, router, ctx, deps.tenantConfig);
  quotaRoutes(
    router,
    { region: deps.config.region, quotas: deps.quotas },
    deps.quotasIn ??
      ((region) => {
        throw new ControlPlaneError(
          'REGION_NOT_ALLOWED',
          `only ${deps.config.region}'s quotas are served here`,
          {
            details: { region, allowed: [deps.config.region] },
          },
        );
      }),
  );
  await stripeWebhookRoutes(app, router, ctx, deps.billingAccounts);

  await app.register(swagger, { mode: 'static', specification: { document: openapi() as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  return app;
}

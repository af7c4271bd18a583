import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import { HealthStatusSchema } from '../core/reconcile/findings.js';
import {
  AuditEventSchema,
  OperationIdSchema,
  OperationSchema,
  OperationStatusSchema,
  OperationTypeSchema,
  SLUG_ACCEPTED,
  SLUG_PATTERN,
  TenantIdSchema,
  TenantSchema,
  TenantStateSchema,
} from '../core/registry/records.js';
import { parameterListSchema } from '../templates/index.js';
import { TierCatalogSchema } from '../tiers/catalog.js';

/**
 * One zod schema per API concept. Each validates requests (in route.ts) and is turned into the
 * OpenAPI document (openapi.ts), so the docs cannot drift from what the API accepts. Responses reuse
 * the registry's record schemas.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** Trimmed, non-empty, bounded, no control characters: every free-text field. */
export const text = (max: number) =>
  z.string().trim().min(1).max(max).regex(NO_CONTROL_CHARS, 'no control characters (newlines, tabs, NUL...)');

// Checked after trimming (z.email() would check before), hence a regex rather than the format.
export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .regex(z.regexes.email, 'an email address such as admin@example.com')
  .meta({ format: 'email' });

export const RegionSchema = z
  .string()
  .trim()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1');

/**
 * Principals allowed to reach a silo tenant's endpoint service: checked with the silo template's
 * own AllowedPrincipals rules (templates/parameter-specs.ts), so what is accepted here deploys.
 */
export const AllowedPrincipalsSchema = parameterListSchema('AllowedPrincipals', { maxItems: 20 });

/** A tier name as the caller gave it; the catalog decides whether it exists (UNKNOWN_TIER). */
export const TierRefSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'a tier name such as basic');

export const TenantNameSchema = text(100);

/** The registry's one slug rule (core/registry/records.ts), after trimming. */
export const SlugRefSchema = z.string().trim().regex(SLUG_PATTERN, SLUG_ACCEPTED);

/**
 * The one onboard input: POST /v1/tenants takes it whole, the signup webhook's `data` a part of it,
 * and the lifecycle (workflows/service.ts OnboardRequest) receives what it parses to.
 */
export const OnboardInputSchema = z
  .object({
    name: TenantNameSchema,
    slug: SlugRefSchema.optional(),
    tier: TierRefSchema,
    adminEmail: EmailSchema,
    region: RegionSchema.optional(),
    allowedPrincipals: AllowedPrincipalsSchema.optional(),
  })
  .strict();
export type OnboardInput = z.infer<typeof OnboardInputSchema>;

export const CreateTenantSchema = OnboardInputSchema.meta({ id: 'CreateTenant' });
export type CreateTenant = OnboardInput;

export const UpdateTenantSchema = z
  .object({
    name: TenantNameSchema.optional(),
    adminEmail: EmailSchema.optional(),
    allowedPrincipals: AllowedPrincipalsSchema.optional(),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.adminEmail !== undefined || b.allowedPrincipals !== undefined, {
    message: 'give at least one of name, adminEmail, allowedPrincipals',
  })
  .meta({ id: 'UpdateTenant' });

export const ChangeTierSchema = z.object({ tier: TierRefSchema }).strict().meta({ id: 'ChangeTier' });
export const SuspendSchema = z
  .object({ reason: text(500) })
  .strict()
  .meta({ id: 'Suspend' });
/** Resume and offboard take no input; an empty object (or no body) is accepted. */
export const EmptyBodySchema = z.object({}).strict().optional();

export const CallbackSchema = z
  .object({
    status: z.enum(['succeeded', 'failed']),
    reason: text(1000).optional(),
  })
  .strict()
  .meta({ id: 'CallbackAnswer' });

/** A tenant id (`t_…`) or a slug: every `:tenantId` path accepts both. */
export const TenantRefParamsSchema = z.object({
  tenantId: z
    .string()
    .min(1)
    .max(64)
    .refine((v) => TenantIdSchema.safeParse(v).success || SLUG_PATTERN.test(v), {
      message: `a tenant id (t_ followed by a ULID) or ${SLUG_ACCEPTED}`,
    })
    .describe('A tenant id (t_…) or slug.'),
});
export const OperationParamsSchema = z.object({ operationId: OperationIdSchema });

const CursorSchema = z.string().min(1).max(4096);
const limit = (max: number) => z.coerce.number().int().min(1).max(max);

export const ListTenantsQuerySchema = z
  .object({
    tier: TierRefSchema.optional(),
    state: TenantStateSchema.optional(),
    /** Only tenants the last reconcile found so (docs/reconcile.md). */
    health: HealthStatusSchema.optional(),
    limit: limit(200).optional(),
    cursor: CursorSchema.optional(),
  })
  .strict();
/** Long polling: API Gateway's HTTP APIs end a request at 30 s, so at most 20. */
export const MAX_OPERATION_WAIT_SECONDS = 20;
export const GetOperationQuerySchema = z
  .object({
    waitSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_OPERATION_WAIT_SECONDS)
      .optional()
      .describe('Answer once the operation has ended, or after this many seconds with it as it stands.'),
    since: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "With waitSeconds: answer as soon as the operation's version differs from this one (a step started, changed or ended), not only at its end.",
      ),
  })
  .strict();
const operationFilters = {
  status: OperationStatusSchema.optional(),
  type: OperationTypeSchema.optional(),
  limit: limit(200).optional(),
  cursor: CursorSchema.optional(),
};
export const ListTenantOperationsQuerySchema = z.object(operationFilters).strict();
export const ListOperationsQuerySchema = z
  .object({
    tenant: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Only this tenant’s operations: a tenant id (t_…) or slug.'),
    ...operationFilters,
  })
  .strict();
export const ListEventsQuerySchema = z
  .object({ limit: limit(500).optional(), cursor: CursorSchema.optional() })
  .strict();

/** Printable ASCII, as Stripe and the IETF draft do; long enough for a UUID or an event id. */
export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces, 1 to 255 characters');
export const IdempotencyHeadersSchema = z.object({ 'idempotency-key': IdempotencyKeySchema.optional() });

export const SignupEventSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'an event id: letters, digits, _ . : -'),
    type: z.literal('signup.completed'),
    /** Unix seconds when the provider created the event. */
    created: z.number().int().nonnegative(),
    /** Self-service signups choose no region or principals: the onboard input's other fields. */
    data: OnboardInputSchema.pick({ name: true, slug: true, tier: true, adminEmail: true }).strict(),
  })
  .meta({ id: 'SignupEvent' });
export type SignupEvent = z.infer<typeof SignupEventSchema>;
export const SignupHeadersSchema = z.object({
  'webhook-signature': z
    .string()
    .optional()
    .meta({ description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">' }),
});

export const SCOPES = [
  'tenants:read',
  'tenants:write',
  'tenants:export',
  'operations:callback',
  'tenants:config:read',
  'tenants:config:write',
  'usage:write',
  'costs:read',
  'rollouts:read',
  'rollouts:write',
  'tenants:credentials',
  'admin',
] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

export const ApiKeyNameSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, . _ -, 1 to 64 characters');
export const CreateApiKeySchema = z
  .object({ name: ApiKeyNameSchema, scopes: z.array(ScopeSchema).min(1).max(SCOPES.length) })
  .strict()
  .meta({ id: 'CreateApiKey' });
export const ApiKeyCreatedSchema = z
  .object({
    name: z.string(),
    scopes: z.array(ScopeSchema),
    createdAt: z.string(),
    /** Shown once: only its SHA-256 is stored. */
    key: z.string(),
  })
  .meta({ id: 'ApiKeyCreated' });
export const ApiKeyParamsSchema = z.object({ name: ApiKeyNameSchema });
/** An API key as listed: never its secret nor its hash. */
export const ApiKeyInfoSchema = z
  .object({
    name: z.string(),
    scopes: z.array(ScopeSchema),
    createdAt: z.string(),
    /** Written at most once a minute per key. */
    lastUsedAt: z.string().optional(),
    rotatedAt: z.string().optional(),
    /** After a rotation: until when the previous secret still works. */
    previousKeyValidUntil: z.string().optional(),
  })
  .meta({ id: 'ApiKey' });
export const ApiKeyListSchema = z.object({ items: z.array(ApiKeyInfoSchema) }).meta({ id: 'ApiKeyList' });
export const RotateApiKeySchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .optional()
      .describe('How long the previous secret keeps working; default API_KEY_ROTATION_OVERLAP_SECONDS.'),
  })
  .strict()
  .optional()
  .meta({ id: 'RotateApiKey' });
export const ApiKeyRotatedSchema = ApiKeyInfoSchema.extend({ key: z.string() }).meta({ id: 'ApiKeyRotated' });
export const ApiKeyEventSchema = z
  .object({
    eventId: z.string(),
    at: z.string(),
    action: z.enum(['created', 'revoked', 'rotated', 'admin-key-replaced']),
    name: z.string(),
    actor: z.string(),
    scopes: z.array(ScopeSchema).optional(),
    detail: z.string().optional(),
  })
  .meta({ id: 'ApiKeyEvent' });

// ---------------------------------------------------------------- responses

export const TenantResponseSchema = TenantSchema.meta({ id: 'Tenant' });
export const OperationResponseSchema = OperationSchema.meta({ id: 'Operation' });
export const AuditEventResponseSchema = AuditEventSchema.meta({ id: 'AuditEvent' });

export const StartedSchema = z
  .object({ tenant: TenantResponseSchema, operation: OperationResponseSchema })
  .meta({ id: 'Started' });

const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    /** Pass back as `cursor` for the next page; null on the last page. */
    nextCursor: z.string().nullable(),
  });
export const TenantPageSchema = page(TenantResponseSchema).meta({ id: 'TenantPage' });
export const EventPageSchema = page(AuditEventResponseSchema).meta({ id: 'AuditEventPage' });
export const OperationPageSchema = page(OperationResponseSchema).meta({ id: 'OperationPage' });
export const ApiKeyEventPageSchema = page(ApiKeyEventSchema).meta({ id: 'ApiKeyEventPage' });

export const TiersResponseSchema = TierCatalogSchema.meta({ id: 'TierCatalog' });

export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    awsEndpoint: z.string().nullable(),
    registry: z.object({ table: z.string(), status: z.string() }),
    /** Local mode's moto sidecar: how its state began (`lost`: earlier local state is gone). */
    localAws: z
      .object({
        pid: z.number().int(),
        port: z.number().int(),
        origin: z.enum(['reused', 'new', 'restored', 'lost']),
        notice: z.string().optional(),
      })
      .optional(),
  })
  .meta({ id: 'Health' });
export const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'not-ready']),
    registry: z.object({ table: z.string(), status: z.string() }),
  })
  .meta({ id: 'Readiness' });

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];
export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      /** VALIDATION_FAILED / INVALID_PARAMETER: one `{ in, path, message, parameter? }` per field. */
      details: z.unknown().optional(),
      /** The request's id, also in X-Request-Id and in the control plane's log lines. */
      requestId: z.string(),
    }),
  })
  .meta({ id: 'Error' });

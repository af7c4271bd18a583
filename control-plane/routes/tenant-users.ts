import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ErrorCode } from '../../core/errors.js';
import type { CredentialVendor } from '../../tenant-access/index.js';
import type { TenantUsers } from '../../workflows/index.js';
import { logContext, type RouteContext } from '../context.js';
import { inFlightRetryAfter } from '../idempotency.js';
import type { Router } from '../route.js';
import { EmptyBodySchema, IdempotencyHeadersSchema, TenantRefParamsSchema } from '../schemas.js';

/**
 * A tenant's own users (`/v1/tenants/{id}/users`) and back-office credentials
 * (`POST /v1/tenants/{id}/credentials`): the control plane's side of the tenant access kit
 * (docs/access.md).
 */

export const TenantUserSchema = z
  .object({
    username: z.string(),
    email: z.string(),
    enabled: z.boolean(),
    status: z.string().describe('Cognito user status, e.g. FORCE_CHANGE_PASSWORD, CONFIRMED.'),
    createdAt: z.string().optional(),
  })
  .meta({ id: 'TenantUser' });

export const AddTenantUserSchema = z
  .object({ email: z.string().min(3).max(254).describe('The user’s email; it is also the username.') })
  .strict()
  .meta({ id: 'AddTenantUser' });

const UserParamsSchema = TenantRefParamsSchema.extend({
  username: z
    .string()
    .min(1)
    .max(128)
    // A space or a control character names no Cognito user (its pattern is [\p{L}\p{M}\p{S}\p{N}\p{P}]+;
    // written without \p here, which OpenAPI's regex dialect lacks).
    .regex(/^[!-~\u00a1-\uffff]+$/, 'no spaces or control characters')
    .describe('The username (the email the user was added with).'),
});

export const TenantCredentialsSchema = z
  .object({
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
    sessionToken: z.string(),
    expiration: z.string(),
    tenantId: z.string(),
    roleArn: z.string(),
    sessionName: z.string(),
    tags: z.record(z.string(), z.string()),
    via: z.enum(['tenant-role', 'pooled-role']),
    region: z.string().optional().describe("The tenant's region: where its resources are."),
  })
  .meta({ id: 'TenantCredentials' });

const tags = ['tenant-access'];
const IDEMPOTENCY_ERRORS: ErrorCode[] = ['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_FLIGHT'];

/** Runs a mutation at most once per Idempotency-Key (scoped by actor), replaying the first answer. */
async function answerOnce(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string | undefined,
  fingerprint: unknown,
  run: () => Promise<{ statusCode: number; body: unknown }>,
): Promise<FastifyReply> {
  const actor = request.principal!.actor;
  const result = key
    ? await ctx.idempotency
        .run(`api:${actor}`, key, { route: request.routeOptions.url, ...(fingerprint as object) }, run)
        .catch((e: unknown) => {
          const retryAfter = inFlightRetryAfter(e);
          if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
          throw e;
        })
    : { ...(await run()), replayed: false };
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(result.statusCode).send(result.body);
}

export function tenantUserRoutes(
  router: Router,
  ctx: RouteContext,
  users: TenantUsers,
  credentials: CredentialVendor,
): void {
  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/users',
    operationId: 'addTenantUser',
    summary: 'Add a user to a tenant',
    description:
      "Creates the user in the tenant user pool with custom:tenantId and custom:tier, in the tenant's group (tenant-<tenantId>); Cognito emails a temporary password. Send an Idempotency-Key to retry safely.",
    tags,
    auth: 'tenants:write',
    params: TenantRefParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: AddTenantUserSchema,
    responses: { 201: { description: 'The new user.', schema: TenantUserSchema } },
    errors: [
      'TENANT_NOT_FOUND',
      'INVALID_EMAIL',
      'TENANT_USER_EXISTS',
      'TENANT_NOT_ACTIVE',
      ...IDEMPOTENCY_ERRORS,
    ],
    handler: async ({ params, headers, body }, request, reply) =>
      answerOnce(ctx, request, reply, headers['idempotency-key'], { params, body }, async () => {
        const user = await users.add(params.tenantId, body.email);
        request.log.info({ username: user.username }, 'tenant user added');
        return { statusCode: 201, body: user };
      }),
  });

  router.add({
    method: 'GET',
    url: '/v1/tenants/:tenantId/users',
    operationId: 'listTenantUsers',
    summary: "A tenant's users",
    tags,
    auth: 'tenants:read',
    params: TenantRefParamsSchema,
    responses: {
      200: {
        description: "The tenant's group members.",
        schema: z.object({ items: z.array(TenantUserSchema) }),
      },
    },
    errors: ['TENANT_NOT_FOUND'],
    handler: async ({ params }, request, reply) => {
      const tenant = await ctx.registry.requireTenant(params.tenantId);
      logContext(request, reply, { tenantId: tenant.tenantId });
      return { items: await users.list(tenant.tenantId) };
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/users/:username/disable',
    operationId: 'disableTenantUser',
    summary: "Disable one of a tenant's users",
    description:
      'Disables the user and signs it out everywhere (its refresh tokens stop working). Disabling a disabled user answers the same.',
    tags,
    auth: 'tenants:write',
    params: UserParamsSchema,
    body: EmptyBodySchema,
    responses: { 200: { description: 'The user, disabled.', schema: TenantUserSchema } },
    errors: ['TENANT_NOT_FOUND', 'TENANT_USER_NOT_FOUND', 'TENANT_NOT_ACTIVE'],
    handler: async ({ params }, request) => {
      const user = await users.disable(params.tenantId, params.username);
      request.log.info({ username: user.username }, 'tenant user disabled');
      return user;
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/tenants/:tenantId/credentials',
    operationId: 'vendTenantCredentials',
    summary: 'Short-lived AWS credentials scoped to one tenant',
    description:
      "For back-office jobs: STS credentials from the tenant's role (or the pooled role with session tags TenantId and Tier), session name tenant-<tenantId>, cached until shortly before they expire. Refused for a tenant that is not ACTIVE or UPDATING.",
    tags,
    auth: 'tenants:credentials',
    params: TenantRefParamsSchema,
    body: EmptyBodySchema,
    responses: {
      200: { description: 'The credentials (shown once; never logged).', schema: TenantCredentialsSchema },
    },
    errors: [
      'TENANT_NOT_FOUND',
      'TENANT_NOT_ACTIVE',
      'TENANT_ROLE_MISSING',
      'STS_LIMIT_EXCEEDED',
      'AWS_ERROR',
    ],
    handler: async ({ params }, request, reply) => {
      const vended = await credentials.forTenant(params.tenantId);
      logContext(request, reply, { tenantId: vended.tenantId });
      request.log.info(
        { roleArn: vended.roleArn, via: vended.via, expiration: vended.expiration },
        'credentials vended',
      );
      const { packedPolicySize: _size, ...body } = vended;
      return reply.header('cache-control', 'no-store').send(body);
    },
  });
}

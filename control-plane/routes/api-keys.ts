import type { ApiKeyStore } from '../api-keys.js';
import type { Router } from '../route.js';
import {
  ApiKeyCreatedSchema,
  ApiKeyEventPageSchema,
  ApiKeyInfoSchema,
  ApiKeyListSchema,
  ApiKeyParamsSchema,
  ApiKeyRotatedSchema,
  CreateApiKeySchema,
  ListEventsQuerySchema,
  RotateApiKeySchema,
} from '../schemas.js';

const tags = ['api-keys'];

/** API keys: create, list, revoke, rotate, and their audit trail. Every route needs `admin`. */
export function apiKeyRoutes(router: Router, apiKeys: ApiKeyStore): void {
  router.add({
    method: 'POST',
    url: '/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create a scoped API key',
    description:
      'The key is in this answer only; the control plane keeps its SHA-256. Its name becomes the actor `key:<name>`.',
    tags,
    auth: 'admin',
    body: CreateApiKeySchema,
    responses: { 201: { description: 'The new key, shown once.', schema: ApiKeyCreatedSchema } },
    errors: ['API_KEY_EXISTS'],
    handler: async ({ body }, request, reply) => {
      const { key, record } = await apiKeys.create(body.name, body.scopes, request.principal!.actor);
      request.log.info({ name: record.name, scopes: record.scopes }, 'api key created');
      return reply.code(201).send({ ...record, key });
    },
  });

  router.add({
    method: 'GET',
    url: '/v1/api-keys',
    operationId: 'listApiKeys',
    summary: 'List API keys',
    description:
      'Names, scopes, creation, last use (written at most once a minute per key) and rotation; never a secret.',
    tags,
    auth: 'admin',
    responses: { 200: { description: 'Every key, by name.', schema: ApiKeyListSchema } },
    handler: async () => ({ items: await apiKeys.list() }),
  });

  router.add({
    method: 'GET',
    url: '/v1/api-keys/events',
    operationId: 'listApiKeyEvents',
    summary: 'The audit trail of API key changes, newest first',
    tags,
    auth: 'admin',
    query: ListEventsQuerySchema,
    responses: { 200: { description: 'A page of key changes.', schema: ApiKeyEventPageSchema } },
    handler: async ({ query }) => {
      const page = await apiKeys.events(query);
      return { items: page.items, nextCursor: page.nextCursor ?? null };
    },
  });

  router.add({
    method: 'DELETE',
    url: '/v1/api-keys/:name',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    description:
      'The key (and a rotated-out secret still in its overlap) gets 401 from now on: at once on this instance, within the key cache time (30 s) on others. The name can be used again.',
    tags,
    auth: 'admin',
    params: ApiKeyParamsSchema,
    responses: { 200: { description: 'The revoked key.', schema: ApiKeyInfoSchema } },
    errors: ['API_KEY_NOT_FOUND', 'API_KEY_MANAGED'],
    handler: async ({ params }, request) => {
      const revoked = await apiKeys.revoke(params.name, request.principal!.actor);
      request.log.info({ name: params.name }, 'api key revoked');
      return revoked;
    },
  });

  router.add({
    method: 'POST',
    url: '/v1/api-keys/:name/rotate',
    operationId: 'rotateApiKey',
    summary: 'Rotate an API key',
    description:
      'A new secret, shown once. The previous one keeps working for `overlapSeconds` (default API_KEY_ROTATION_OVERLAP_SECONDS), then only the new one does.',
    tags,
    auth: 'admin',
    params: ApiKeyParamsSchema,
    body: RotateApiKeySchema,
    responses: { 200: { description: 'The new secret, shown once.', schema: ApiKeyRotatedSchema } },
    errors: ['API_KEY_NOT_FOUND', 'API_KEY_MANAGED'],
    handler: async ({ params, body }, request) => {
      const overlapMs = body?.overlapSeconds === undefined ? undefined : body.overlapSeconds * 1000;
      const { key, record } = await apiKeys.rotate(params.name, request.principal!.actor, overlapMs);
      request.log.info(
        { name: params.name, previousKeyValidUntil: record.previousKeyValidUntil },
        'api key rotated',
      );
      return { ...record, key };
    },
  });
}

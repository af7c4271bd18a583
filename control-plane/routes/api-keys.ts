import type { ApiKeyStore } from '../api-keys.js';
import type { Router } from '../route.js';
import { ApiKeyCreatedSchema, CreateApiKeySchema } from '../schemas.js';

export function apiKeyRoutes(router: Router, apiKeys: ApiKeyStore): void {
  router.add({
    method: 'POST',
    url: '/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create a scoped API key',
    description:
      'The key is in this answer only; the control plane keeps its SHA-256. Its name becomes the actor `key:<name>`.',
    tags: ['api-keys'],
    auth: 'admin',
    body: CreateApiKeySchema,
    responses: { 201: { description: 'The new key, shown once.', schema: ApiKeyCreatedSchema } },
    errors: ['API_KEY_EXISTS'],
    handler: async ({ body }, request, reply) => {
      const { key, record } = await apiKeys.create(body.name, body.scopes);
      request.log.info({ name: record.name, scopes: record.scopes }, 'api key created');
      return reply.code(201).send({ ...record, key });
    },
  });
}

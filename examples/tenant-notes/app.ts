import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import Fastify, { type FastifyInstance } from 'fastify';
import { type TenantContextPluginOptions, tenantContextPlugin } from '../../tenant-access/index.js';

/**
 * A small application on the tenant access kit: each tenant's notes in the platform's pooled table
 * (`pk = "<TenantId>#notes"`), read and written only with the tenant's vended credentials. The
 * tenant comes from the request (JWT, API key or subdomain) through the tenant-context plugin, never
 * from the URL: `/tenants/:tenantId/notes` for another tenant is refused before any AWS call.
 */

export interface NotesAppOptions extends TenantContextPluginOptions {
  /** The pooled table (platform output PooledTableName). */
  readonly tableName: string;
  readonly region: string;
  /** The local AWS endpoint; unset on AWS. */
  readonly endpoint?: string | undefined;
  readonly logger?: boolean;
}

export async function buildNotesApp(options: NotesAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });
  await app.register(tenantContextPlugin, options);
  // One document client per tenant request: its credentials are the tenant's, vended and cached.
  const documents = (credentials: AwsCredentialIdentityProvider) =>
    DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: options.region,
        credentials,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      }),
    );

  app.get('/health', async () => ({ ok: true }));

  app.get('/notes', async (request) => {
    const { tenant } = request;
    const out = await documents(tenant.credentials).send(
      new QueryCommand({
        TableName: options.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${tenant.tenantId}#notes` },
      }),
    );
    request.log.info({ count: out.Items?.length ?? 0 }, 'notes read');
    return {
      tenantId: tenant.tenantId,
      cacheKey: tenant.cacheKey('notes'),
      // The tenant's feature flags, where the plugin was given the `tenantFlags` hook.
      ...(tenant.extras.flags ? { flags: tenant.extras.flags } : {}),
      notes: (out.Items ?? []).map((i) => ({ id: String(i.sk), text: String(i.text) })),
    };
  });

  app.post<{ Body: { id: string; text: string } }>('/notes', async (request, reply) => {
    const { tenant } = request;
    await documents(tenant.credentials).send(
      new PutCommand({
        TableName: options.tableName,
        Item: { pk: `${tenant.tenantId}#notes`, sk: request.body.id, text: request.body.text },
      }),
    );
    return reply.code(201).send({ tenantId: tenant.tenantId, id: request.body.id });
  });

  // A URL naming a tenant is only honoured for the request's own tenant.
  app.get<{ Params: { tenantId: string } }>('/tenants/:tenantId/notes', async (request, reply) => {
    if (request.params.tenantId !== request.tenant.tenantId)
      return reply.code(403).send({
        error: { code: 'FORBIDDEN', message: `this request is for tenant ${request.tenant.tenantId}` },
      });
    return reply.redirect('/notes', 303);
  });
  return app;
}

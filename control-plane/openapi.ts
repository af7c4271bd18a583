import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../core/errors.js';
import { type RouteDoc, routeErrors } from './route.js';
import { ErrorResponseSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document, generated from the route definitions and their zod schemas
 * (`z.toJSONSchema`). Schemas with a meta `id` become components; everything else is inlined.
 */

type Json = Record<string, unknown>;

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

const REF_PREFIX = '#/components/schemas/';

class SchemaConverter {
  readonly components: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    const defs = (json.$defs ?? {}) as Record<string, Json>;
    delete json.$defs;
    delete json.$schema;
    for (const [name, def] of Object.entries(defs)) this.components[name] = rewriteRefs(def) as Json;
    return rewriteRefs(json) as Json;
  }

  /** `{ name: schema }` of an object schema's properties, with the required ones. */
  properties(schema: z.ZodType, io: 'input' | 'output'): { name: string; schema: Json; required: boolean }[] {
    const json = this.convert(schema, io);
    const required = new Set((json.required as string[] | undefined) ?? []);
    return Object.entries((json.properties ?? {}) as Record<string, Json>).map(([name, s]) => ({
      name,
      schema: s,
      required: required.has(name),
    }));
  }
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/$defs/', REF_PREFIX) : rewriteRefs(v);
    }
    return out;
  }
  return value;
}

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function errorResponses(codes: readonly ErrorCode[], errorRef: Json): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, Json> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${ERROR_CATALOGUE[c].description}`).join('\n\n'),
      content: { 'application/json': { schema: errorRef } },
    };
  }
  return out;
}

function security(doc: RouteDoc): Json[] {
  if (doc.auth === 'public') return [];
  if (doc.auth === 'webhook-signature') return [{ webhookSignature: [] }];
  if (doc.auth === 'stripe-signature') return [{ stripeSignature: [] }];
  if (doc.auth === 'authenticated') return [{ bearerAuth: [] }];
  // OpenAPI 3.1 lets non-OAuth schemes list role names: the scope the route needs.
  return [{ bearerAuth: [doc.auth] }];
}

export function buildOpenApiDocument(routes: readonly RouteDoc[], info: OpenApiInfo): Json {
  const converter = new SchemaConverter();
  const errorRef = converter.convert(ErrorResponseSchema, 'output');
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const parameters: Json[] = [];
    const addParameters = (where: 'path' | 'query' | 'header', schema: z.ZodType | undefined) => {
      if (!schema) return;
      for (const p of converter.properties(schema, 'input')) {
        const { description, ...rest } = p.schema;
        parameters.push({
          name: p.name,
          in: where,
          required: where === 'path' || p.required,
          schema: rest,
          ...(description ? { description } : {}),
        });
      }
    };
    addParameters('path', route.params);
    addParameters('query', route.query);
    addParameters('header', route.headers);
    const responses: Record<string, Json> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? {
              content: {
                [response.contentType ?? 'application/json']: {
                  schema: converter.convert(response.schema, 'output'),
                },
              },
            }
          : response.contentType
            ? { content: { [response.contentType]: { schema: { type: 'string' } } } }
            : {}),
      };
    }
    Object.assign(responses, errorResponses(routeErrors(route), errorRef));
    const operation: Json = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [...route.tags],
      security: security(route),
      ...(parameters.length ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: !route.body.safeParse(undefined).success,
              content: Object.fromEntries(
                (route.bodyTypes ?? ['application/json']).map((type) => [
                  type,
                  { schema: converter.convert(route.body!, 'input') },
                ]),
              ),
            },
          }
        : {}),
      responses,
    };
    const path = toOpenApiPath(route.url);
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { ...info },
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(converter.components).sort(([a], [b]) => a.localeCompare(b)),
      ),
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (`Authorization: Bearer tcp_…`) or, when JWT_ISSUER is set, a Cognito JWT. Each route names the scope it needs; `admin` implies all.',
        },
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Webhook-Signature',
          description:
            '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the signup webhook secret.',
        },
        stripeSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Stripe-Signature',
          description:
            "Stripe's webhook signature (`t=…,v1=…`, HMAC-SHA256 of `<t>.<raw body>`) with the endpoint's signing secret (STRIPE_WEBHOOK_SECRET).",
        },
      },
    },
  };
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ControlPlaneError, type ErrorCode, issuesToFields } from '../core/errors.js';
import type { Authenticator } from './auth.js';
import type { Scope } from './schemas.js';

/**
 * Routes as data: each route names its zod schemas (params, query, headers, body, responses), its
 * credential and the error codes it can answer. The same definition registers the Fastify route,
 * validates the request (all parts at once, so every bad field is reported together) and feeds the
 * OpenAPI document (openapi.ts).
 */

/** A bearer scope, no credential (`public`), or the signup webhook's HMAC signature. */
export type AuthRequirement = Scope | 'public' | 'webhook-signature';

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** Defaults to application/json. */
  readonly contentType?: string;
}

type Schema = z.ZodType | undefined;
type Out<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<P extends Schema, Q extends Schema, H extends Schema, B extends Schema> {
  readonly params: Out<P>;
  readonly query: Out<Q>;
  readonly headers: Out<H>;
  readonly body: Out<B>;
}

export interface RouteDoc {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Fastify syntax: `/v1/tenants/:tenantId`. */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly auth: AuthRequirement;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly headers?: z.ZodType;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Codes the route itself can answer; auth, validation and body codes are added from the rest. */
  readonly errors?: readonly ErrorCode[];
}

export interface RouteDefinition<P extends Schema, Q extends Schema, H extends Schema, B extends Schema>
  extends RouteDoc {
  readonly params?: P;
  readonly query?: Q;
  readonly headers?: H;
  readonly body?: B;
  /**
   * For routes whose body arrives as raw bytes (the webhook's content-type parser keeps them):
   * runs on those bytes before they are parsed as JSON.
   */
  readonly verifyRawBody?: (raw: Buffer, request: FastifyRequest) => void | Promise<void>;
  readonly handler: (
    input: RouteInput<P, Q, H, B>,
    request: FastifyRequest,
    reply: FastifyReply,
  ) => Promise<unknown>;
}

/** Every error code a route can answer: its own plus those that follow from its definition. */
export function routeErrors(doc: RouteDoc): ErrorCode[] {
  const codes = new Set<ErrorCode>();
  if (doc.auth !== 'public' && doc.auth !== 'webhook-signature')
    codes.add('UNAUTHENTICATED').add('FORBIDDEN');
  if (doc.params || doc.query || doc.headers || doc.body) codes.add('VALIDATION_FAILED');
  if (doc.body) codes.add('INVALID_JSON').add('UNSUPPORTED_MEDIA_TYPE').add('BODY_TOO_LARGE');
  for (const code of doc.errors ?? []) codes.add(code);
  codes.add('INTERNAL');
  return [...codes];
}

function parseRawJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new ControlPlaneError(
      'INVALID_JSON',
      `the request body is not valid JSON: ${(e as Error).message}`,
    );
  }
}

async function parseInput<P extends Schema, Q extends Schema, H extends Schema, B extends Schema>(
  def: RouteDefinition<P, Q, H, B>,
  request: FastifyRequest,
): Promise<RouteInput<P, Q, H, B>> {
  let rawBody: unknown = request.body;
  if (def.verifyRawBody) {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    await def.verifyRawBody(raw, request);
    rawBody = parseRawJson(raw);
  }
  const issues: { in: string; path: string; message: string }[] = [];
  const part = (where: string, schema: z.ZodType | undefined, value: unknown): unknown => {
    if (!schema) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const f of issuesToFields(result.error.issues)) issues.push({ in: where, ...f });
    return undefined;
  };
  const input = {
    params: part('path', def.params, request.params),
    query: part('query', def.query, request.query),
    headers: part('header', def.headers, request.headers),
    body: part('body', def.body, rawBody),
  };
  if (issues.length > 0) {
    const summary = issues
      .slice(0, 5)
      .map((i) => `${i.in} ${i.path}: ${i.message}`)
      .join('; ');
    throw new ControlPlaneError(
      'VALIDATION_FAILED',
      `invalid request: ${summary}${issues.length > 5 ? '; …' : ''}`,
      {
        details: issues,
      },
    );
  }
  return input as RouteInput<P, Q, H, B>;
}

export interface Router {
  readonly docs: RouteDoc[];
  add<P extends Schema, Q extends Schema, H extends Schema, B extends Schema>(
    def: RouteDefinition<P, Q, H, B>,
  ): void;
  /** The same route list and credentials, registering on another (encapsulated) Fastify instance. */
  on(app: FastifyInstance): Router;
}

export function createRouter(app: FastifyInstance, auth: Authenticator, docs: RouteDoc[] = []): Router {
  return {
    docs,
    add(def) {
      const { handler, verifyRawBody: _raw, ...doc } = def;
      docs.push(doc);
      const bearer = def.auth !== 'public' && def.auth !== 'webhook-signature';
      app.route({
        method: def.method,
        url: def.url,
        ...(bearer ? { onRequest: auth.hook(def.auth as Scope) } : {}),
        handler: async (request, reply) => handler(await parseInput(def, request), request, reply),
      });
    },
    on(other) {
      return createRouter(other, auth, docs);
    },
  };
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ControlPlaneError, type ErrorCode, issuesToFields } from '../core/errors.js';
import type { Authenticator } from './auth.js';
import type { Scope } from './schemas.js';

/**
 * Routes as data: each route names its zod schemas (params, query, headers, body, responses), its
 * credential and the error codes it can answer. The same definition registers the Fastify route,
 * validates the request (all parts at once, so every bad field is reported together) and feeds the
 * OpenAPI document (openapi.ts). Query strings are strict for every route: a route without a `query`
 * schema takes none, and an unknown parameter is refused (UNKNOWN_QUERY_PARAMETER) before the
 * handler runs, so `DELETE …?dryRun=true` cannot do the real thing.
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
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
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
  codes.add('UNKNOWN_QUERY_PARAMETER');
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

/** The parameters a route's query schema names (none without one). */
export function acceptedQueryParameters(doc: Pick<RouteDoc, 'query'>): string[] {
  if (!doc.query) return [];
  if (doc.query instanceof z.ZodObject) return Object.keys(doc.query.shape);
  throw new Error('a route query schema must be a z.object, so its parameters can be listed');
}

/** Refuses a query string with a parameter the route does not name. */
function refuseUnknownQuery(doc: RouteDoc, query: unknown): void {
  const given = query && typeof query === 'object' ? Object.keys(query) : [];
  const accepted = acceptedQueryParameters(doc);
  const unknown = given.filter((name) => !accepted.includes(name));
  if (unknown.length === 0) return;
  const takes = accepted.length === 0 ? 'takes no query parameters' : `takes only ${accepted.join(', ')}`;
  throw new ControlPlaneError(
    'UNKNOWN_QUERY_PARAMETER',
    `unknown query parameter ${unknown.map((n) => JSON.stringify(n)).join(', ')}: ${doc.method} ${doc.url} ${takes}`,
    { details: { unknown, accepted } },
  );
}

/** A zod issue raised by a template parameter's own rules (templates/parameter-specs.ts). */
const parameterOf = (issue: z.core.$ZodIssue): string | undefined => {
  const params = (issue as { params?: { parameter?: unknown } }).params;
  return typeof params?.parameter === 'string' ? params.parameter : undefined;
};

interface Issue {
  readonly in: string;
  readonly path: string;
  readonly message: string;
  /** The template parameter whose rule refused the value, when one did. */
  readonly parameter?: string;
}

async function parseInput<P extends Schema, Q extends Schema, H extends Schema, B extends Schema>(
  def: RouteDefinition<P, Q, H, B>,
  request: FastifyRequest,
): Promise<RouteInput<P, Q, H, B>> {
  refuseUnknownQuery(def, request.query);
  let rawBody: unknown = request.body;
  if (def.verifyRawBody) {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    await def.verifyRawBody(raw, request);
    rawBody = parseRawJson(raw);
  }
  const issues: Issue[] = [];
  const part = (where: string, schema: z.ZodType | undefined, value: unknown): unknown => {
    if (!schema) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    const fields = issuesToFields(result.error.issues);
    result.error.issues.forEach((issue, i) => {
      const parameter = parameterOf(issue);
      issues.push({ in: where, ...fields[i]!, ...(parameter ? { parameter } : {}) });
    });
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
    // Only values a template would refuse: INVALID_PARAMETER, the code a deploy would have failed with.
    const code = issues.every((i) => i.parameter) ? 'INVALID_PARAMETER' : 'VALIDATION_FAILED';
    throw new ControlPlaneError(code, `invalid request: ${summary}${issues.length > 5 ? '; …' : ''}`, {
      details: issues,
    });
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
      acceptedQueryParameters(doc); // a query schema that cannot list its parameters fails at start-up
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

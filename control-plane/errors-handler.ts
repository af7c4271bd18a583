import type { FastifyError, FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { ControlPlaneError, describeError, type ErrorCode, issuesToFields } from '../core/errors.js';

/**
 * The one place errors become HTTP answers: `{ error: { code, message, details? } }` with the
 * catalogue's status. Fastify's own errors (body limit, content type) and AWS SDK errors are mapped
 * to catalogue codes; anything unexpected is INTERNAL with a message that reveals nothing but the
 * request id (the log has the rest).
 */

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
};

const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'VALIDATION_FAILED',
  404: 'ROUTE_NOT_FOUND',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

const FASTIFY_MESSAGES: Partial<Record<ErrorCode, string>> = {
  BODY_TOO_LARGE: 'the request body is larger than the limit',
  UNSUPPORTED_MEDIA_TYPE: 'send the request body as application/json',
};

export function toControlPlaneError(
  error: unknown,
  requestId: string,
  bodyLimit?: number,
): ControlPlaneError {
  if (error instanceof ControlPlaneError) return error;
  if (error instanceof ZodError) {
    return new ControlPlaneError('VALIDATION_FAILED', 'the request does not match its schema', {
      details: issuesToFields(error.issues),
    });
  }
  const e = error as Partial<FastifyError> & { $metadata?: unknown; name?: string };
  const code =
    (e.code && FASTIFY_CODES[e.code]) ||
    (e.statusCode && e.statusCode < 500 ? STATUS_CODES[e.statusCode] : undefined);
  if (code) {
    const message =
      code === 'BODY_TOO_LARGE' && bodyLimit
        ? `the request body is larger than the limit of ${bodyLimit} bytes`
        : (FASTIFY_MESSAGES[code] ?? e.message ?? code);
    return new ControlPlaneError(code, message, { cause: error });
  }
  if (e.$metadata) {
    const throttled = /throttl|limitexceeded|toomanyrequests/i.test(e.name ?? '');
    return new ControlPlaneError(
      throttled ? 'AWS_THROTTLED' : 'AWS_ERROR',
      `AWS call failed: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  return new ControlPlaneError(
    'INTERNAL',
    `unexpected error; the control plane log has the details under request id ${requestId}`,
    {
      cause: error,
    },
  );
}

export function installErrorHandling(app: FastifyInstance, options: { bodyLimit?: number } = {}): void {
  app.setErrorHandler((error, request, reply) => {
    const mapped = toControlPlaneError(error, request.id, options.bodyLimit);
    if (mapped.status >= 500) request.log.error({ err: error, code: mapped.code }, 'request failed');
    else request.log.info({ code: mapped.code }, mapped.message);
    return reply.code(mapped.status).type('application/json; charset=utf-8').send({ error: mapped.toJSON() });
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url;
    const e = new ControlPlaneError(
      'ROUTE_NOT_FOUND',
      `no route ${request.method} ${url}; see /openapi.json`,
    );
    return reply.code(e.status).send({ error: e.toJSON() });
  });
}

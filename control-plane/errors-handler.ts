import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import { ZodError } from 'zod';
import { awsErrorCode, isEndpointUnreachable } from '../core/aws/errors.js';
import { ControlPlaneError, describeError, type ErrorCode, issuesToFields } from '../core/errors.js';

/**
 * The one place errors become HTTP answers: `{ error: { code, message, details?, requestId } }`
 * with the catalogue's status, and the request id in `X-Request-Id` as well. Fastify's own errors
 * (body limit, content type, bad URL, over-long path segment), Node's (headers too large, client
 * timeout) and AWS SDK errors are mapped to catalogue codes; anything unexpected is INTERNAL with a
 * message that reveals nothing but the request id (the log has the rest).
 */

const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_BAD_URL: 'BAD_REQUEST',
};

const STATUS_CODES_TO_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'VALIDATION_FAILED',
  404: 'ROUTE_NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  413: 'BODY_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

const FASTIFY_MESSAGES: Partial<Record<ErrorCode, string>> = {
  BODY_TOO_LARGE: 'the request body is larger than the limit',
  UNSUPPORTED_MEDIA_TYPE: 'send the request body as application/json',
  BAD_REQUEST: 'the URL is not valid: a path segment is not valid percent-encoding',
};

export interface ErrorHandlingOptions {
  /** The configured body limit, named in BODY_TOO_LARGE messages. */
  readonly bodyLimit?: number;
  /** The longest path segment the router takes, named in URI_TOO_LONG messages. */
  readonly maxParamLength?: number;
  /**
   * AWS calls go to the local emulator (moto): a refused connection then means it is not running,
   * LOCAL_AWS_UNAVAILABLE. Otherwise it is AWS_TRANSIENT.
   */
  readonly localAws?: boolean;
}

const localAwsUnavailable = (cause: unknown) =>
  new ControlPlaneError(
    'LOCAL_AWS_UNAVAILABLE',
    `the local AWS emulator does not answer (${describeError(cause)}); start the control plane again (npm start) or check AWS_ENDPOINT_URL`,
    { cause },
  );

export function toControlPlaneError(
  error: unknown,
  requestId: string,
  options: ErrorHandlingOptions = {},
): ControlPlaneError {
  if (error instanceof ControlPlaneError) {
    // An AWS failure a lower layer already classified: the local emulator being down still says so.
    const awsFailure = error.code === 'AWS_TRANSIENT' || error.code === 'AWS_ERROR';
    return awsFailure && options.localAws && isEndpointUnreachable(error.cause)
      ? localAwsUnavailable(error.cause)
      : error;
  }
  if (error instanceof ZodError) {
    return new ControlPlaneError('VALIDATION_FAILED', 'the request does not match its schema', {
      details: issuesToFields(error.issues),
    });
  }
  const e = error as Partial<FastifyError> & { $metadata?: unknown; name?: string };
  const code =
    (e.code && FASTIFY_CODES[e.code]) ||
    (e.statusCode && e.statusCode < 500 ? STATUS_CODES_TO_CODES[e.statusCode] : undefined);
  if (code) {
    const message =
      code === 'BODY_TOO_LARGE' && options.bodyLimit
        ? `the request body is larger than the limit of ${options.bodyLimit} bytes`
        : code === 'URI_TOO_LONG'
          ? `a path segment is longer than ${options.maxParamLength ?? 100} characters; no id the API takes is that long`
          : (FASTIFY_MESSAGES[code] ?? e.message ?? code);
    return new ControlPlaneError(code, message, { cause: error });
  }
  if (isEndpointUnreachable(error)) {
    return options.localAws
      ? localAwsUnavailable(error)
      : new ControlPlaneError('AWS_TRANSIENT', `AWS call failed: ${describeError(error)}`, { cause: error });
  }
  if (e.$metadata) {
    return new ControlPlaneError(awsErrorCode(error), `AWS call failed: ${describeError(error)}`, {
      cause: error,
    });
  }
  return new ControlPlaneError(
    'INTERNAL',
    `unexpected error; the control plane log has the details under request id ${requestId}`,
    { cause: error },
  );
}

/** The catalogue's error body: the same shape for every 4xx and 5xx. */
export function errorBody(e: ControlPlaneError, requestId: string) {
  return { error: { ...e.toJSON(), requestId } };
}

function send(reply: FastifyReply, request: FastifyRequest, e: ControlPlaneError) {
  return reply
    .code(e.status)
    .header('x-request-id', request.id)
    .type('application/json; charset=utf-8')
    .send(errorBody(e, request.id));
}

function logged(request: FastifyRequest, error: unknown, mapped: ControlPlaneError): ControlPlaneError {
  if (mapped.status >= 500) request.log.error({ err: error, code: mapped.code }, 'request failed');
  else request.log.info({ code: mapped.code }, mapped.message);
  return mapped;
}

/**
 * Errors Fastify raises before a request reaches a route (a bad URL, an over-long path segment):
 * the `frameworkErrors` server option, so they get the catalogue's shape too.
 */
export function frameworkErrors(
  options: ErrorHandlingOptions,
): NonNullable<FastifyServerOptions['frameworkErrors']> {
  return (error, request, reply) => {
    send(reply, request, logged(request, error, toControlPlaneError(error, request.id, options)));
  };
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too large, a client
 * timeout, a malformed request): the `clientErrorHandler` server option. There is no request
 * object yet, so the answer is written on the socket, with a fresh request id.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const mapped =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ControlPlaneError(
          'HEADERS_TOO_LARGE',
          'the request headers are larger than the server accepts (16 KiB in all); send fewer or shorter headers',
        )
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ControlPlaneError('REQUEST_TIMEOUT', 'the request did not arrive in full in time')
        : new ControlPlaneError('BAD_REQUEST', 'the HTTP request is malformed');
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(mapped, requestId));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  app.setErrorHandler((error, request, reply) =>
    send(reply, request, logged(request, error, toControlPlaneError(error, request.id, options))),
  );
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.length > 200 ? `${request.url.slice(0, 200)}…` : request.url;
    const e = new ControlPlaneError(
      'ROUTE_NOT_FOUND',
      `no route ${request.method} ${url}; see /openapi.json`,
    );
    return send(reply, request, e);
  });
}

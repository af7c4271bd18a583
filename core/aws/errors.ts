import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ControlPlaneError, describeError, ERROR_CATALOGUE, type ErrorCode } from '../errors.js';

/**
 * The one classifier of AWS SDK errors. Modeled exceptions are matched by class (`instanceof`);
 * the rest by the SDK's own fields (`name`, `$fault`, `$retryable`, the HTTP status). Every layer
 * asks these functions instead of testing names or messages itself.
 */

interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const shape = (e: unknown): SdkErrorShape =>
  typeof e === 'object' && e !== null ? (e as SdkErrorShape) : {};

/** The SDK error's name (`ThrottlingException`, …), or '' for anything else. */
export function errorName(e: unknown): string {
  const s = shape(e);
  return s.name ?? s.code ?? '';
}

const THROTTLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceededException',
]);

const TRANSIENT_NAMES = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'InternalErrorException',
  'InternalError',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** AWS asked us to slow down. */
export function isThrottled(e: unknown): boolean {
  return THROTTLE_NAMES.has(errorName(e));
}

/** Worth retrying as is: throttling, a server fault, a dropped connection or a timeout. */
export function isTransient(e: unknown): boolean {
  if (e instanceof ControlPlaneError) return e.code === 'AWS_THROTTLED' || e.code === 'AWS_TRANSIENT';
  const s = shape(e);
  const status = s.$metadata?.httpStatusCode ?? 0;
  return (
    isThrottled(e) ||
    TRANSIENT_NAMES.has(errorName(e)) ||
    TRANSIENT_NAMES.has(s.code ?? '') ||
    Boolean(s.$retryable) ||
    s.$fault === 'server' ||
    status >= 500 ||
    /deserialization error|socket hang up|timed out/i.test(s.message ?? '')
  );
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Nothing answers at the endpoint: the connection was refused (or there is no route to it), as
 * when the local AWS emulator is not running. Looks through `cause` and AggregateError (node's
 * happy-eyeballs reports one per address tried).
 */
export function isEndpointUnreachable(e: unknown, depth = 0): boolean {
  if (typeof e !== 'object' || e === null || depth > 3) return false;
  const s = e as SdkErrorShape & { errno?: unknown; cause?: unknown; errors?: unknown };
  if (UNREACHABLE_CODES.has(s.code ?? '')) return true;
  if (Array.isArray(s.errors) && s.errors.length > 0)
    return s.errors.every((inner) => isEndpointUnreachable(inner, depth + 1));
  return isEndpointUnreachable(s.cause, depth + 1);
}

/** A DynamoDB condition did not hold (a lost race or an item in another state). */
export function isConditionFailed(e: unknown): boolean {
  return e instanceof ConditionalCheckFailedException || errorName(e) === 'ConditionalCheckFailedException';
}

/** Indexes of the items whose condition failed in a cancelled TransactWriteItems. */
export function cancelledItems(e: unknown): number[] {
  if (!(e instanceof TransactionCanceledException)) return [];
  return (e.CancellationReasons ?? []).flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}

/**
 * A TransactWriteItems cancelled because another transaction touched one of its items at the same
 * time (no condition failed): worth running again as is.
 */
export function isTransactionConflict(e: unknown): boolean {
  if (errorName(e) === 'TransactionConflictException') return true;
  if (!(e instanceof TransactionCanceledException)) return false;
  const codes = (e.CancellationReasons ?? []).map((r) => r.Code);
  return codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
}

/** The thing asked about does not exist, whatever the service calls that. */
export function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  if (/NotFound|NoSuch|DoesNotExist/i.test(name)) return true;
  // CloudFormation (and a few others) say it as a ValidationError.
  return name === 'ValidationError' && /does not exist|not found/i.test(shape(e).message ?? '');
}

/** CloudFormation: an update that would change nothing. */
export function isNoUpdates(e: unknown): boolean {
  return errorName(e) === 'ValidationError' && /No updates are to be performed/.test(shape(e).message ?? '');
}

/** CloudFormation: the stack is busy with another operation. */
export function isStackBusy(e: unknown): boolean {
  return (
    errorName(e) === 'ValidationError' &&
    /_IN_PROGRESS state and can ?not be (updated|deleted)/.test(shape(e).message ?? '')
  );
}

/** The thing to create exists already. */
export function isAlreadyExists(e: unknown): boolean {
  return /AlreadyExists|EntityAlreadyExists|ResourceInUse|Duplicate/i.test(errorName(e));
}

const NOT_IMPLEMENTED_NAMES = new Set([
  'NotImplemented',
  'NotImplementedException',
  'UnknownOperationException',
  'InvalidAction',
]);

/**
 * The endpoint lacks the call: a modeled NotImplemented / UnknownOperation answer, an HTTP 501, or
 * (moto) an HTML error page where the protocol's XML/JSON was expected. Not retryable: the capability will not
 * appear, so callers report it (CAPABILITY_UNAVAILABLE, "not available on this endpoint") instead.
 */
export function isNotImplemented(e: unknown): boolean {
  const s = shape(e);
  if (NOT_IMPLEMENTED_NAMES.has(errorName(e)) || s.$metadata?.httpStatusCode === 501) return true;
  return /Deserialization error/i.test(s.message ?? '') && /<html|<!doctype|<title/i.test(s.message ?? '');
}

/** The catalogue code for an AWS failure: AWS_THROTTLED, AWS_TRANSIENT or AWS_ERROR. */
export function awsErrorCode(e: unknown): 'AWS_THROTTLED' | 'AWS_TRANSIENT' | 'AWS_ERROR' {
  if (isThrottled(e)) return 'AWS_THROTTLED';
  if (isTransient(e)) return 'AWS_TRANSIENT';
  return 'AWS_ERROR';
}

/**
 * Any thrown value as a ControlPlaneError: one of ours passes through, an error named by a
 * catalogue code keeps it, an AWS error gets `fallback` unless it is throttling or transient.
 */
export function toControlPlaneError(
  e: unknown,
  what: string,
  fallback: ErrorCode = 'AWS_ERROR',
): ControlPlaneError {
  if (e instanceof ControlPlaneError) return e;
  const name = errorName(e);
  if (name in ERROR_CATALOGUE) return new ControlPlaneError(name as ErrorCode, shape(e).message ?? name);
  const code = awsErrorCode(e);
  return new ControlPlaneError(code === 'AWS_ERROR' ? fallback : code, `${what}: ${describeError(e)}`, {
    cause: e,
  });
}

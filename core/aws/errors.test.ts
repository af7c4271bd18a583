import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../errors.js';
import {
  awsErrorCode,
  cancelledItems,
  isConditionFailed,
  isEndpointUnreachable,
  isNotFound,
  isNotImplemented,
  isNoUpdates,
  isStackBusy,
  isThrottled,
  isTransient,
  toControlPlaneError,
} from './errors.js';

const named = (name: string, message = name, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });

describe('AWS error classifier', () => {
  it('matches modeled DynamoDB exceptions by class', () => {
    const e = new ConditionalCheckFailedException({ message: 'nope', $metadata: {} });
    expect(isConditionFailed(e)).toBe(true);
    expect(isConditionFailed(named('ValidationException'))).toBe(false);
    const t = new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });
    expect(cancelledItems(t)).toEqual([1]);
    expect(cancelledItems(named('TransactionCanceledException'))).toEqual([]);
  });

  it('tells throttling from other transient faults and from permanent ones', () => {
    expect(awsErrorCode(named('ThrottlingException'))).toBe('AWS_THROTTLED');
    expect(awsErrorCode(named('TooManyRequestsException'))).toBe('AWS_THROTTLED');
    expect(awsErrorCode(named('Whatever', 'x', { $metadata: { httpStatusCode: 503 } }))).toBe(
      'AWS_TRANSIENT',
    );
    expect(awsErrorCode(named('X', 'socket hang up'))).toBe('AWS_TRANSIENT');
    expect(awsErrorCode(named('AccessDeniedException', 'x', { $metadata: { httpStatusCode: 403 } }))).toBe(
      'AWS_ERROR',
    );
    expect(isThrottled(named('ValidationError'))).toBe(false);
    expect(isTransient(new ControlPlaneError('AWS_THROTTLED', 'x'))).toBe(true);
  });

  it('knows every way AWS says "not found"', () => {
    expect(isNotFound(named('ResourceNotFoundException'))).toBe(true);
    expect(isNotFound(named('NoSuchEntity'))).toBe(true);
    expect(isNotFound(named('ValidationError', 'Stack with id x does not exist'))).toBe(true);
    expect(isNotFound(named('ValidationError', 'Parameter X is invalid'))).toBe(false);
  });

  it('reads CloudFormation answers', () => {
    expect(isNoUpdates(named('ValidationError', 'No updates are to be performed.'))).toBe(true);
    expect(
      isStackBusy(named('ValidationError', 'Stack x is in UPDATE_IN_PROGRESS state and can not be updated.')),
    ).toBe(true);
  });

  it('maps to catalogue errors, keeping ours and catalogue-named ones', () => {
    const ours = new ControlPlaneError('STACK_FAILED', 'x');
    expect(toControlPlaneError(ours, 'y')).toBe(ours);
    expect(toControlPlaneError(named('STACK_FAILED', 'boom'), 'y').code).toBe('STACK_FAILED');
    expect(toControlPlaneError(named('ThrottlingException'), 'CreateStack s', 'STACK_FAILED').code).toBe(
      'AWS_THROTTLED',
    );
    const e = toControlPlaneError(named('AccessDenied', 'no'), 'CreateStack s', 'STACK_FAILED');
    expect(e.code).toBe('STACK_FAILED');
    expect(e.message).toBe('CreateStack s: AccessDenied: no');
  });

  it('tells a refused connection (nothing listening at the endpoint) from other faults', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      $metadata: { attempts: 3 },
    });
    expect(isEndpointUnreachable(refused)).toBe(true);
    expect(isEndpointUnreachable(new AggregateError([refused, refused], 'all refused'))).toBe(true);
    expect(isEndpointUnreachable(new Error('wrapped', { cause: refused }))).toBe(true);
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(isEndpointUnreachable(reset)).toBe(false);
    expect(isEndpointUnreachable(new AggregateError([refused, reset], 'mixed'))).toBe(false);
    expect(isEndpointUnreachable(named('ThrottlingException'))).toBe(false);
    expect(isEndpointUnreachable('ECONNREFUSED')).toBe(false);
  });

  it('tells a call the endpoint lacks from other failures', () => {
    const sdk = (name: string, message: string, status: number) =>
      Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
    // What the SDK makes of moto's HTML 500 page for an unimplemented action (XML and JSON protocols).
    expect(
      isNotImplemented(
        sdk(
          'Error',
          'XML parse error: mismatched tags <html> and </title>.\n  Deserialization error: to see the raw response…',
          500,
        ),
      ),
    ).toBe(true);
    expect(
      isNotImplemented(
        sdk(
          'SyntaxError',
          'Unexpected token \'<\', "<!doctype "... is not valid JSON\n  Deserialization error: …',
          500,
        ),
      ),
    ).toBe(true);
    expect(isNotImplemented(sdk('NotImplemented', 'not implemented', 400))).toBe(true);
    expect(isNotImplemented(sdk('Whatever', 'x', 501))).toBe(true);
    expect(isNotImplemented(sdk('InternalFailure', 'oops', 500))).toBe(false);
    expect(
      isNotImplemented(sdk('SyntaxError', 'Unexpected end of JSON input\n  Deserialization error', 200)),
    ).toBe(false);
    expect(isNotImplemented(sdk('ThrottlingException', 'Rate exceeded', 400))).toBe(false);
  });
});

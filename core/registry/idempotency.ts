import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isConditionFailed } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import { fingerprint, newRunnerId, randomSecret } from '../ids.js';
import { nowIso, nowSeconds, type RegistryIo } from './io.js';
import { idempotencyKey } from './keys.js';

/**
 * Idempotency records, after Powertools' DynamoDB persistence layer: ONE conditional put takes a
 * key, and when the key is held its current record comes back with the refusal
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so no read follows and nothing recurses.
 *
 * A record is owned by the process that took it (its runner id, the one claims.ts heartbeats) and
 * is in progress until `inProgressUntil`. Once the request has recorded its operation, the record
 * points to it: `operationId` is written in the operation's own transaction (see `linkItem`).
 *
 * What a later request with the same key gets:
 * - the operation exists → `recorded` (replay it); the response stored → `completed`;
 * - in progress, no operation, owner alive → `in-flight` (retry after a moment);
 * - in progress, no operation, owner dead or in-progress expiry passed → the key is taken again
 *   (a crash between taking the key and recording the operation never blocks the key for long);
 * - a different request under a live key → IDEMPOTENCY_KEY_REUSED.
 */

/** The process that owns what it takes: OperationClaims is one. */
export interface ProcessOwner {
  readonly runnerId: string;
  /** Whether another process (by runner id) still lives. */
  isAlive(runnerId: string): Promise<boolean>;
}

/**
 * An owner whose liveness nobody else can check (no heartbeat): its records are held until their
 * in-progress expiry only.
 */
export function expiryOnlyOwner(): ProcessOwner {
  const runnerId = newRunnerId();
  return { runnerId, isAlive: async () => true };
}

export type IdempotencyTake =
  /** This caller runs the request; `token` proves it still holds the key when it writes. */
  | { readonly status: 'taken'; readonly token: string }
  | { readonly status: 'completed'; readonly response: unknown }
  /** The request's operation exists (its response may not be stored): replay the operation. */
  | { readonly status: 'recorded'; readonly operationId: string; readonly tenantId: string }
  | { readonly status: 'in-flight'; readonly owner: string; readonly retryAfterSeconds: number };

/** What a request that took a key passes along, so its operation's transaction links the record. */
export interface IdempotencyLink {
  readonly scope: string;
  readonly key: string;
  readonly token: string;
}

export interface IdempotencyStoreOptions {
  /** The process taking keys (default: one whose records only expire). */
  readonly owner?: ProcessOwner;
  /** How long a taken key stays in progress without an operation before it may be taken again. */
  readonly inProgressSeconds?: number;
  /** How long a record is kept at all (replays within this window). */
  readonly ttlSeconds?: number;
}

interface StoredRecord {
  readonly requestHash?: string;
  /** `in-flight`: a record of the earlier format (before owners and tokens). */
  readonly status?: 'in-progress' | 'completed' | 'in-flight';
  readonly owner?: string;
  readonly token?: string;
  readonly inProgressUntil?: number;
  readonly expiresAt?: number;
  readonly operationId?: string;
  readonly tenantId?: string;
  readonly response?: unknown;
}

/** The older three-way answer (`claimIdempotencyKey`): a recorded operation counts as in flight. */
export type IdempotencyClaim =
  | { readonly status: 'claimed' }
  | { readonly status: 'completed'; readonly response: unknown }
  | { readonly status: 'in-flight' };

/** Stands for "a record of the earlier format" where a take over needs its token. */
const LEGACY = Symbol('legacy record');

/** A held key is judged at most this many times per take (each time another process won a race). */
const MAX_TAKE_ATTEMPTS = 3;

export class IdempotencyStore {
  readonly owner: ProcessOwner;
  readonly inProgressSeconds: number;
  private readonly ttlSeconds: number;

  constructor(
    private readonly io: RegistryIo,
    options: IdempotencyStoreOptions = {},
  ) {
    this.owner = options.owner ?? expiryOnlyOwner();
    this.inProgressSeconds = options.inProgressSeconds ?? 30;
    this.ttlSeconds = options.ttlSeconds ?? 24 * 3600;
  }

  /** Takes `key` for this request, or says who holds it (see the module comment). */
  async take(
    scope: string,
    key: string,
    request: unknown,
    owner: ProcessOwner = this.owner,
  ): Promise<IdempotencyTake> {
    const requestHash = fingerprint(request);
    // The first put takes a free, expired or timed-out key; a retry takes over exactly the record
    // judged abandoned (its token), so of two processes reclaiming, one wins.
    let abandoned: string | typeof LEGACY | undefined;
    for (let attempt = 0; attempt < MAX_TAKE_ATTEMPTS; attempt++) {
      const now = nowSeconds(this.io);
      const token = randomSecret(12);
      let old: StoredRecord;
      try {
        await this.io.db.send(
          new PutCommand({
            TableName: this.io.tableName,
            Item: {
              ...idempotencyKey(scope, key),
              kind: 'idempotency',
              requestHash,
              status: 'in-progress',
              owner: owner.runnerId,
              token,
              inProgressUntil: now + this.inProgressSeconds,
              createdAt: nowIso(this.io),
              expiresAt: now + this.ttlSeconds,
            },
            ...(abandoned === LEGACY
              ? {
                  // A record of the earlier format (no owner, no token): in flight forever otherwise.
                  ConditionExpression:
                    '#s = :legacy AND attribute_not_exists(#t) AND attribute_not_exists(operationId)',
                  ExpressionAttributeNames: { '#s': 'status', '#t': 'token' },
                  ExpressionAttributeValues: { ':legacy': 'in-flight' },
                }
              : abandoned
                ? {
                    ConditionExpression: '#t = :abandoned AND attribute_not_exists(operationId)',
                    ExpressionAttributeNames: { '#t': 'token' },
                    ExpressionAttributeValues: { ':abandoned': abandoned },
                  }
                : {
                    ConditionExpression:
                      'attribute_not_exists(pk) OR expiresAt < :now OR ' +
                      '(#s = :progress AND attribute_not_exists(operationId) AND inProgressUntil < :now)',
                    ExpressionAttributeNames: { '#s': 'status' },
                    ExpressionAttributeValues: { ':now': now, ':progress': 'in-progress' },
                  }),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { status: 'taken', token };
      } catch (e) {
        if (!isConditionFailed(e)) throw e;
        const item = e instanceof ConditionalCheckFailedException ? e.Item : undefined;
        // No old item: it was deleted (released) between our condition and now: take it afresh.
        if (!item) {
          abandoned = undefined;
          continue;
        }
        old = unmarshall(item) as StoredRecord;
      }
      const sameRequest = old.requestHash === requestHash;
      if (old.operationId || old.status === 'completed') {
        if (!sameRequest) throw keyReused(key);
        if (old.status === 'completed') return { status: 'completed', response: old.response };
        return { status: 'recorded', operationId: old.operationId!, tenantId: String(old.tenantId) };
      }
      const alive =
        (old.inProgressUntil ?? 0) >= now &&
        (old.owner === owner.runnerId || !old.owner || (await owner.isAlive(old.owner)));
      if (!alive && (old.token || old.status === 'in-flight')) {
        abandoned = old.token ?? LEGACY;
        continue;
      }
      if (!sameRequest) throw keyReused(key);
      return {
        status: 'in-flight',
        owner: old.owner ?? 'unknown',
        retryAfterSeconds: Math.max(1, Math.min(2, (old.inProgressUntil ?? now) - now)),
      };
    }
    // Every attempt lost a race to another taker: that one holds it now.
    return { status: 'in-flight', owner: 'unknown', retryAfterSeconds: 1 };
  }

  /**
   * The transaction item that points the record at the request's operation, written with the
   * operation: conditioned on the caller still holding the key, so a request whose key was taken
   * over (its owner was judged dead) records nothing.
   */
  linkItem(link: IdempotencyLink, operationId: string, tenantId: string) {
    return {
      Update: {
        TableName: this.io.tableName,
        Key: idempotencyKey(link.scope, link.key),
        UpdateExpression: 'SET operationId = :op, tenantId = :tenant',
        ConditionExpression: '#t = :token',
        ExpressionAttributeNames: { '#t': 'token' },
        ExpressionAttributeValues: { ':op': operationId, ':tenant': tenantId, ':token': link.token },
      },
    };
  }

  /** Stores the response of a request that ran; without a token, whoever holds the record. */
  async complete(scope: string, key: string, response: unknown, token?: string): Promise<void> {
    await this.io.db.send(
      new UpdateCommand({
        TableName: this.io.tableName,
        Key: idempotencyKey(scope, key),
        UpdateExpression: 'SET #s = :c, #r = :r REMOVE inProgressUntil',
        ConditionExpression: token ? '#t = :token' : 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#s': 'status', '#r': 'response', ...(token ? { '#t': 'token' } : {}) },
        ExpressionAttributeValues: {
          ':c': 'completed',
          ':r': response,
          ...(token ? { ':token': token } : {}),
        },
      }),
    );
  }

  /**
   * Forgets a key whose request failed before recording anything, so a retry runs afresh. Never
   * one that points to an operation, nor one another request took over meanwhile.
   */
  async release(scope: string, key: string, token?: string): Promise<void> {
    await this.io.db
      .send(
        new DeleteCommand({
          TableName: this.io.tableName,
          Key: idempotencyKey(scope, key),
          ConditionExpression: `#s = :progress AND attribute_not_exists(operationId)${token ? ' AND #t = :token' : ''}`,
          ExpressionAttributeNames: { '#s': 'status', ...(token ? { '#t': 'token' } : {}) },
          ExpressionAttributeValues: { ':progress': 'in-progress', ...(token ? { ':token': token } : {}) },
        }),
      )
      .catch((e) => {
        if (!isConditionFailed(e)) throw e;
      });
  }

  /** Tokens of keys this process took through `claim`, for completeClaim/releaseClaim. */
  private readonly held = new Map<string, string>();

  /** `take` in the older three-way form, remembering the token. */
  async claim(scope: string, key: string, request: unknown): Promise<IdempotencyClaim> {
    const taken = await this.take(scope, key, request);
    if (taken.status === 'taken') {
      this.held.set(`${scope}#${key}`, taken.token);
      return { status: 'claimed' };
    }
    return taken.status === 'completed'
      ? { status: 'completed', response: taken.response }
      : { status: 'in-flight' };
  }

  async completeClaim(scope: string, key: string, response: unknown): Promise<void> {
    const token = this.held.get(`${scope}#${key}`);
    this.held.delete(`${scope}#${key}`);
    await this.complete(scope, key, response, token);
  }

  async releaseClaim(scope: string, key: string): Promise<void> {
    const token = this.held.get(`${scope}#${key}`);
    this.held.delete(`${scope}#${key}`);
    await this.release(scope, key, token);
  }
}

function keyReused(key: string): ControlPlaneError {
  return new ControlPlaneError(
    'IDEMPOTENCY_KEY_REUSED',
    `Idempotency-Key "${key}" was used before with a different request; use a new key for a new request`,
    { details: { key } },
  );
}

import { backoffDelay, sleep } from '../core/backoff.js';
import { ControlPlaneError } from '../core/errors.js';
import type { IdempotencyLink, IdempotencyStore, ProcessOwner } from '../core/registry/idempotency.js';
import type { RegistryReader } from '../core/registry/queries.js';

/**
 * Runs an operation-starting request at most once per idempotency key, on the registry's
 * idempotency records (core/registry/idempotency.ts: one conditional put takes the key).
 * - Same key, same request: the stored answer; or, when the request recorded its operation but died
 *   before storing its answer, that operation (202, replayed).
 * - Same key, a different request: IDEMPOTENCY_KEY_REUSED.
 * - A duplicate arriving while the first still runs waits for it (so concurrent retries all get the
 *   same answer) and gives up after `waitMs` with IDEMPOTENCY_IN_FLIGHT and a Retry-After.
 * - A key whose request died (its process is gone, or its in-progress time passed) before
 *   recording an operation is taken again: the retry runs the request.
 */

export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

export interface IdempotencyOptions {
  /** How long a duplicate waits for the first request to finish. */
  readonly waitMs?: number;
  /** The process taking keys (the local engine's claims); default: the store's own owner. */
  readonly owner?: ProcessOwner | undefined;
  readonly onCompleteFailed?: (error: unknown) => void;
}

/** What the idempotency runner needs of the registry: its store, and reads to replay an operation. */
export interface IdempotencyRegistry extends Pick<RegistryReader, 'getScope'> {
  readonly idempotency: IdempotencyStore;
}

/** Waits between looks at a key another request holds: short, jittered, so duplicates spread out. */
const DUPLICATE_BACKOFF = { baseMs: 25, maxMs: 400 };

export class Idempotency {
  private readonly waitMs: number;

  constructor(
    private readonly registry: IdempotencyRegistry,
    private readonly options: IdempotencyOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 5000;
  }

  /**
   * Runs `execute` once for the key. `execute` gets the key's link: passed to the registry with the
   * operation (OperationRequest.idempotency), it points the record at the operation in the same
   * transaction.
   */
  async run(
    scope: string,
    key: string,
    request: unknown,
    execute: (link: IdempotencyLink) => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    const store = this.registry.idempotency;
    const deadline = Date.now() + this.waitMs;
    for (let attempt = 0; ; attempt++) {
      const taken = await store.take(scope, key, request, this.options.owner);
      if (taken.status === 'completed') return { ...(taken.response as StoredResponse), replayed: true };
      if (taken.status === 'recorded') {
        // The first request recorded its operation and died before storing its answer: replay it.
        const { tenant, operation } = await this.registry.getScope(taken.tenantId, taken.operationId);
        return { statusCode: 202, body: { tenant, operation }, replayed: true };
      }
      if (taken.status === 'taken') {
        let response: StoredResponse;
        try {
          response = await execute({ scope, key, token: taken.token });
        } catch (e) {
          // Refused or failed before recording an operation: a retry (or a waiting duplicate) runs
          // it afresh. A record that points to an operation is kept (the store refuses to drop it).
          await store.release(scope, key, taken.token);
          throw e;
        }
        try {
          await store.complete(scope, key, response, taken.token);
        } catch (e) {
          // The work is done and the record points to its operation: retries replay it anyway.
          this.options.onCompleteFailed?.(e);
        }
        return { ...response, replayed: false };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ControlPlaneError(
          'IDEMPOTENCY_IN_FLIGHT',
          `a request with Idempotency-Key "${key}" is still being processed; retry in ${taken.retryAfterSeconds} s`,
          { details: { key, retryAfterSeconds: taken.retryAfterSeconds } },
        );
      }
      await sleep(Math.min(backoffDelay(DUPLICATE_BACKOFF, attempt), remaining));
    }
  }
}

/** The Retry-After (seconds) an IDEMPOTENCY_IN_FLIGHT refusal carries, if `e` is one. */
export function inFlightRetryAfter(e: unknown): number | undefined {
  if (!(e instanceof ControlPlaneError) || e.code !== 'IDEMPOTENCY_IN_FLIGHT') return undefined;
  const seconds = (e.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof seconds === 'number' ? seconds : 1;
}

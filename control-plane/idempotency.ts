import { ControlPlaneError } from '../core/errors.js';
import type { Registry } from '../core/registry/registry.js';

/**
 * Runs a request at most once per idempotency key, on the registry's idempotency records (a
 * conditional put claims the key). Same key and same request: the stored response. Same key and a
 * different request: IDEMPOTENCY_KEY_REUSED. A duplicate arriving while the first is still running
 * waits for it (polling the record) so that concurrent retries all get the same answer, and gives up
 * with IDEMPOTENCY_IN_FLIGHT only after `waitMs`.
 */

export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

export type IdempotencyStore = Pick<
  Registry,
  'claimIdempotencyKey' | 'completeIdempotencyKey' | 'releaseIdempotencyKey'
>;

export interface IdempotencyOptions {
  /** How long a duplicate waits for the first request to finish. */
  readonly waitMs?: number;
  readonly onCompleteFailed?: (error: unknown) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Idempotency {
  private readonly waitMs: number;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly options: IdempotencyOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 5000;
  }

  async run(
    scope: string,
    key: string,
    request: unknown,
    execute: () => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    const deadline = Date.now() + this.waitMs;
    for (let attempt = 0; ; attempt++) {
      const claim = await this.store.claimIdempotencyKey(scope, key, request);
      if (claim.status === 'completed') return { ...(claim.response as StoredResponse), replayed: true };
      if (claim.status === 'claimed') {
        let response: StoredResponse;
        try {
          response = await execute();
        } catch (e) {
          // The request was refused or failed: let a retry (or a waiting duplicate) run it afresh.
          await this.store.releaseIdempotencyKey(scope, key);
          throw e;
        }
        try {
          await this.store.completeIdempotencyKey(scope, key, response);
        } catch (e) {
          // The work is done; the caller still gets its answer. Retries see IDEMPOTENCY_IN_FLIGHT.
          this.options.onCompleteFailed?.(e);
        }
        return { ...response, replayed: false };
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new ControlPlaneError(
          'IDEMPOTENCY_IN_FLIGHT',
          `a request with Idempotency-Key "${key}" is still being processed; retry in a few seconds`,
          { details: { key } },
        );
      }
      // Backoff with jitter keeps a burst of duplicates from hammering the table in lockstep.
      const pause = Math.min(25 * 2 ** Math.min(attempt, 4), 400) * (0.5 + Math.random() / 2);
      await sleep(Math.min(pause, remaining));
    }
  }
}

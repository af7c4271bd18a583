/**
 * The one backoff: exponential from `baseMs`, doubling per attempt up to `maxMs`, with equal jitter
 * (each wait is between half and all of its ceiling), so concurrent retriers spread out without
 * ever waiting less than half the schedule. docs/configuration.md documents it.
 */

export interface BackoffPolicy {
  /** The first ceiling. */
  readonly baseMs: number;
  /** The largest ceiling. @default 20 × baseMs */
  readonly maxMs?: number;
}

/** The ceiling of attempt `attempt` (0-based): base × 2^attempt, at most maxMs. */
export function backoffCeiling(policy: BackoffPolicy, attempt: number): number {
  const max = Math.max(policy.baseMs, policy.maxMs ?? policy.baseMs * 20);
  return Math.min(max, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
}

/** The wait before retry `attempt` (0-based), in ms; `random` in [0, 1). */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(policy, attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * `backoffDelay` in whole seconds, at least 1: what a Step Functions Wait state takes
 * (`SecondsPath`), e.g. between the calls of a polled workflow step.
 */
export function backoffSeconds(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  return Math.max(1, Math.round(backoffDelay(policy, attempt, random) / 1000));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

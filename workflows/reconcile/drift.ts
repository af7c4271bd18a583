import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { backoffDelay, sleep as defaultSleep } from '../../core/backoff.js';
import { describeError } from '../../core/errors.js';
import type { DriftAnswer } from '../../core/reconcile/drift.js';
import { driftDetectionStatus, stackResourceDrifts, startDriftDetection } from '../../templates/index.js';

/**
 * Drift detection of one stack, as the reconciler asks for it. On AWS: DetectStackDrift, its
 * status polled with the one backoff, then DescribeStackResourceDrifts, at most `maxInFlight`
 * detections at once across the run (CloudFormation throttles drift detection). On an endpoint
 * without it (moto), the answer says so: nothing is checked and nothing is reported in sync.
 */
export interface DriftDetector {
  detect(cf: CloudFormationClient, stackName: string): Promise<DriftAnswer>;
}

export function unavailableDrift(reason: string): DriftDetector {
  return { detect: async () => ({ kind: 'unavailable', reason }) };
}

export interface CloudFormationDriftOptions {
  /** Detections in flight at once. */
  readonly maxInFlight: number;
  /** First wait between status polls (doubling, jittered, core/backoff.ts). */
  readonly pollMs: number;
  /** Give up on a detection after this long: reported `failed`, never in sync. */
  readonly timeoutMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A counting semaphore: `run` waits for one of `n` places. */
export function limit(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

export function cloudFormationDrift(options: CloudFormationDriftOptions): DriftDetector {
  const run = limit(Math.max(1, options.maxInFlight));
  const wait = options.sleep ?? defaultSleep;
  return {
    detect: (cf, stackName) =>
      run(async (): Promise<DriftAnswer> => {
        try {
          const id = await startDriftDetection(cf, stackName);
          const deadline = Date.now() + options.timeoutMs;
          for (let attempt = 0; ; attempt++) {
            const status = await driftDetectionStatus(cf, id);
            if (status.status === 'DETECTION_COMPLETE') break;
            if (status.status === 'DETECTION_FAILED')
              return { kind: 'failed', reason: status.reason ?? 'DETECTION_FAILED' };
            if (Date.now() > deadline)
              return { kind: 'failed', reason: `still ${status.status} after ${options.timeoutMs} ms` };
            await wait(backoffDelay({ baseMs: options.pollMs, maxMs: options.pollMs * 20 }, attempt));
          }
          return { kind: 'detected', resources: await stackResourceDrifts(cf, stackName) };
        } catch (e) {
          return { kind: 'failed', reason: describeError(e) };
        }
      }),
  };
}

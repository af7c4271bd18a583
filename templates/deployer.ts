import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { type BackoffPolicy, backoffDelay, sleep as defaultSleep } from '../core/backoff.js';
import { ControlPlaneError } from '../core/errors.js';
import {
  deletionProgress,
  ensureCreated,
  ensureDeleted,
  ensureUpdated,
  observe,
  progressOf,
  type StackProgress,
  type StackSpec,
  type StackView,
} from './stack-ops.js';
import type { StackResult, SynthesizedTemplate } from './types.js';

export interface StackDeployerOptions {
  readonly cloudformation: CloudFormationClient;
  /** First wait between status polls. @default 2000 */
  readonly pollMs?: number;
  /** Longest wait between polls; waits double up to it, with jitter. @default 10 × pollMs */
  readonly maxPollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Total polling time after which a stack that has not settled is reported. @default 3 hours */
  readonly maxWaitMs?: number;
  /** DeleteStack attempts before STACK_DELETE_FAILED. @default 3 */
  readonly deleteAttempts?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** A stack-ops spec whose template is a synthesized one. */
export interface StackDeployArgs extends StackSpec {
  readonly template: SynthesizedTemplate;
}

export interface StackDeleteArgs {
  readonly stackName: string;
  readonly token: string;
}

function toResult(stack: StackView): StackResult {
  return { stackId: stack.stackId, stackName: stack.stackName, status: stack.status, outputs: stack.outputs };
}

/**
 * The platform deploy: blocking create, update and delete, each a loop over the non-blocking stack
 * operations (templates/stack-ops.ts) with the one backoff between polls. Tenant stacks are driven
 * by the workflow steps over the same operations, one poll per Task call.
 */
export class StackDeployer {
  private readonly cf: CloudFormationClient;
  private readonly policy: BackoffPolicy;
  private readonly maxWaitMs: number;
  private readonly deleteAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(options: StackDeployerOptions) {
    this.cf = options.cloudformation;
    const pollMs = options.pollMs ?? 2000;
    this.policy = { baseMs: pollMs, maxMs: Math.max(pollMs, options.maxPollMs ?? pollMs * 10) };
    this.maxWaitMs = options.maxWaitMs ?? 3 * 3600_000;
    this.deleteAttempts = Math.max(1, options.deleteAttempts ?? 3);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** Creates the stack, or adopts the one that exists, and waits until it is created. */
  async create(args: StackDeployArgs): Promise<StackResult> {
    // ensureCreated only observes a stack that exists: it is its own poll.
    const settled = await this.until(args.stackName, () => ensureCreated(this.cf, args));
    return toResult(settled.stack!);
  }

  /** Updates the stack (a busy one is waited out first); noChange when there was nothing to do. */
  async update(args: StackDeployArgs): Promise<StackResult & { noChange: boolean }> {
    let asked = false;
    const settled = await this.until(args.stackName, async () => {
      if (asked) return progressOf(this.cf, args, 'update');
      const progress = await ensureUpdated(this.cf, args);
      asked = !progress.done && progress.acted === true;
      return progress;
    });
    return { ...toResult(settled.stack!), noChange: 'noChange' in settled && settled.noChange === true };
  }

  /** Deletes the stack (a missing one counts), retrying a failed delete with a fresh token. */
  async delete(args: StackDeleteArgs): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      // CloudFormation ignores a repeated token: each attempt has its own.
      const token = attempt === 1 ? args.token : `${args.token}-retry${attempt}`;
      try {
        let asked = false;
        await this.until(args.stackName, async () => {
          if (asked) return deletionProgress(this.cf, { stackName: args.stackName, token });
          const progress = await ensureDeleted(this.cf, { stackName: args.stackName, token });
          asked = !progress.done && progress.acted === true;
          return progress;
        });
        return;
      } catch (e) {
        const failed = e instanceof ControlPlaneError && e.code === 'STACK_DELETE_FAILED';
        if (!failed || attempt >= this.deleteAttempts) throw e;
      }
    }
  }

  async describe(stackName: string): Promise<StackResult | undefined> {
    const stack = await observe(this.cf, stackName);
    return stack ? toResult(stack) : undefined;
  }

  /** Calls `step` until the stack settles, waiting with the backoff between calls; throws a failure. */
  private async until(
    stackName: string,
    step: () => Promise<StackProgress>,
  ): Promise<Extract<StackProgress, { done: true }>> {
    let waited = 0;
    for (let attempt = 0; ; attempt += 1) {
      const progress = await step();
      if (progress.done) {
        if (progress.failure) throw progress.failure;
        return progress;
      }
      if (waited >= this.maxWaitMs) {
        throw new ControlPlaneError(
          'STACK_FAILED',
          `stack ${stackName} still ${progress.status} after ${Math.round(waited / 1000)} s`,
        );
      }
      const delay = backoffDelay(this.policy, attempt, this.random);
      waited += delay;
      await this.sleep(delay);
    }
  }
}

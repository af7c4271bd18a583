import type { Config } from '../core/config.js';
import { LeaseGate, type LeaseOptions } from '../core/registry/leases.js';
import { ACCOUNT_GATE } from './tasks/accounts.js';

/**
 * In-process pacing for AWS APIs with account-wide rate limits (Cognito's 50 user-creating calls
 * per second). A burst of onboardings queues here instead of being throttled by AWS.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Resolves when a call may go out. Calls are admitted in arrival order. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const t = this.now();
        this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
        this.last = t;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.sleep(((1 - this.tokens) / this.perSecond) * 1000);
      }
    });
    this.queue = turn;
    return turn;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.take();
    return fn();
  }
}

/**
 * The counted gates the workflows hold across processes (core/registry/leases.ts): stack
 * operations (CloudFormation's concurrent-operation budget) and account vending (Organizations
 * allows 5 CreateAccount in flight). One list, so the workflows and GET /v1/gates agree.
 */
export interface GateSpec {
  readonly name: string;
  readonly capacity: number;
  /** A holder that has not released after this long is presumed dead. */
  readonly ttlSeconds: number;
}

export const STACK_GATE = 'stack-operations';

export function gateSpecs(config: Pick<Config, 'maxStackOperations'>): {
  readonly stacks: GateSpec;
  readonly accounts: GateSpec;
} {
  return {
    stacks: { name: STACK_GATE, capacity: config.maxStackOperations, ttlSeconds: 3 * 3600 },
    accounts: { name: ACCOUNT_GATE, capacity: 5, ttlSeconds: 3600 },
  };
}

export interface WorkflowGates {
  readonly stackGate: LeaseGate;
  readonly accountGate: LeaseGate;
  /** Frees every slot and waiter an operation still holds: called when it ends, however it ends. */
  releaseOperation(operationId: string): Promise<void>;
}

export function createGates(
  options: LeaseOptions,
  config: Pick<Config, 'maxStackOperations'>,
): WorkflowGates {
  const specs = gateSpecs(config);
  const gate = (spec: GateSpec) => new LeaseGate(options, spec.name, spec.capacity, spec.ttlSeconds);
  const stackGate = gate(specs.stacks);
  const accountGate = gate(specs.accounts);
  return {
    stackGate,
    accountGate,
    async releaseOperation(operationId) {
      await Promise.all([stackGate.releaseOperation(operationId), accountGate.releaseOperation(operationId)]);
    },
  };
}

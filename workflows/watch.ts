import type { Operation } from '../core/registry/records.js';
import type { Registry } from '../core/registry/registry.js';

export interface OperationWatchOptions {
  readonly registry: Pick<Registry, 'requireOperation'>;
  /** True while this process runs the operation, so its end is announced here through `ended`. */
  readonly runsHere: (operationId: string) => boolean;
  /** Registry re-read interval for an operation running elsewhere (Step Functions, another instance). */
  readonly pollMs: number;
}

const isEnded = (op: Operation) => op.status === 'SUCCEEDED' || op.status === 'FAILED';

/**
 * Lets a caller wait for an operation to end (long polling) without polling the registry when the
 * operation runs in this process: the task that records its end announces it. An operation running
 * elsewhere is re-read every `pollMs`. A watcher that polled every half second would cost the
 * registry two reads a second per waiting client, which is what bounded a 200-tenant burst.
 */
export class OperationWatch {
  private readonly waiters = new Map<string, Set<(op: Operation | undefined) => void>>();
  private closed = false;

  constructor(private readonly options: OperationWatchOptions) {}

  /** Called with every operation this process ended. */
  ended(operation: Operation): void {
    for (const wake of this.waiters.get(operation.operationId) ?? []) wake(operation);
  }

  /**
   * The operation once it has ended, or as it stands after `timeoutMs`. OPERATION_NOT_FOUND when it
   * does not exist.
   */
  async wait(operationId: string, timeoutMs: number): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    let woken = false;
    let announced: Operation | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Registered before the first read, and remembered, so an end announced during a read is not missed.
    const set = this.waiters.get(operationId) ?? new Set();
    this.waiters.set(operationId, set);
    const signal = (op: Operation | undefined) => {
      announced = op;
      woken = true;
      wake?.();
    };
    set.add(signal);
    try {
      let operation = await this.options.registry.requireOperation(operationId);
      while (!isEnded(operation) && !this.closed && Date.now() < deadline) {
        const left = deadline - Date.now();
        const pause = this.options.runsHere(operationId) ? left : Math.min(this.options.pollMs, left);
        if (!woken)
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, pause);
          });
        clearTimeout(timer);
        wake = undefined;
        woken = false;
        operation = announced ?? (await this.options.registry.requireOperation(operationId));
      }
      return operation;
    } finally {
      clearTimeout(timer);
      set.delete(signal);
      if (set.size === 0) this.waiters.delete(operationId);
    }
  }

  /** Wakes every waiter (shutdown): each answers with the operation as it stands. */
  close(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const wake of set) wake(undefined);
  }
}

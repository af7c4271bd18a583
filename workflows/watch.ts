import type { Operation } from '../core/registry/records.js';
import type { Registry } from '../core/registry/registry.js';

export interface OperationWatchOptions {
  readonly registry: Pick<Registry, 'requireOperation'>;
  /** True while this process runs the operation, so its changes are announced here (`changed`, `ended`). */
  readonly runsHere: (operationId: string) => boolean;
  /** Registry re-read interval for an operation running elsewhere (Step Functions, another instance). */
  readonly pollMs: number;
}

const isEnded = (op: Operation) => op.status === 'SUCCEEDED' || op.status === 'FAILED';

interface Waiter {
  /** Woken by step changes too, not only by the end. */
  readonly onChanges: boolean;
  readonly wake: (op: Operation | undefined) => void;
}

/**
 * Lets a caller wait for an operation to end, or with `since` for its next change (long polling),
 * without polling the registry when the operation runs in this process: the task runner announces
 * every step change (`changed`) and the task that records the end announces it (`ended`). An
 * operation running elsewhere is re-read every `pollMs`. A watcher that polled every half second
 * would cost the registry two reads a second per waiting client, which is what bounded a 200-tenant
 * burst.
 */
export class OperationWatch {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(private readonly options: OperationWatchOptions) {}

  /** Called with every operation this process ended. */
  ended(operation: Operation): void {
    for (const w of this.waiters.get(operation.operationId) ?? []) w.wake(operation);
  }

  /** Called when this process changed an operation (a step started, got a new detail or ended). */
  changed(operationId: string): void {
    for (const w of this.waiters.get(operationId) ?? []) if (w.onChanges) w.wake(undefined);
  }

  /**
   * The operation once it has ended, or with `since` once its version differs from it (at once if
   * it does already), or as it stands after `timeoutMs`. OPERATION_NOT_FOUND when it does not exist.
   */
  async wait(operationId: string, timeoutMs: number, since?: number): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    const settled = (op: Operation) => isEnded(op) || (since !== undefined && op.version !== since);
    let wake: (() => void) | undefined;
    let woken = false;
    let announced: Operation | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Registered before the first read, and remembered, so a change announced during a read is not missed.
    const set = this.waiters.get(operationId) ?? new Set();
    this.waiters.set(operationId, set);
    const waiter: Waiter = {
      onChanges: since !== undefined,
      wake: (op) => {
        announced = op ?? announced;
        woken = true;
        wake?.();
      },
    };
    set.add(waiter);
    try {
      let operation = await this.options.registry.requireOperation(operationId);
      while (!settled(operation) && !this.closed && Date.now() < deadline) {
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
      set.delete(waiter);
      if (set.size === 0) this.waiters.delete(operationId);
    }
  }

  /** Wakes every waiter (shutdown): each answers with the operation as it stands. */
  close(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const w of set) w.wake(undefined);
  }
}

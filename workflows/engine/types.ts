import type { Operation } from '../../core/registry/records.js';

/** What a state machine execution starts with; everything else is read from the registry. */
export interface ExecutionInput {
  readonly operationId: string;
  readonly tenantId: string;
  /** Seconds between polls of a long-running step (stack, database, migration hand-off). */
  readonly pollSeconds: number;
}

/**
 * Runs lifecycle operations. Two implementations: `local` (the ASL in-process) and
 * `stepfunctions` (the same ASL on AWS Step Functions). Both are idempotent per operation id.
 */
export interface WorkflowEngine {
  readonly kind: 'local' | 'stepfunctions';
  /** This process's runner id when it runs operations itself (local engine), else undefined. */
  readonly runnerId?: string | undefined;
  /** Starts the operation's state machine, unless it already runs. True when this call started it. */
  start(operation: Operation): Promise<boolean>;
  /**
   * Restarts the operations the registry holds as PENDING or RUNNING that nothing runs (after a
   * crash or restart); answers how many.
   */
  resumeOpen(): Promise<number>;
  /** True while this process runs the operation (the local engine); Step Functions runs none here. */
  runsHere(operationId: string): boolean;
  /** Resolves when nothing runs in this process (tests, graceful shutdown). */
  idle(): Promise<void>;
  /** Stops running executions where they are; their records stay open and resume on next start. */
  close(): Promise<void>;
}

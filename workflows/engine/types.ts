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
  /** Starts the operation's state machine, unless it already runs. */
  start(operation: Operation): Promise<void>;
  /** Restarts every operation the registry holds as PENDING or RUNNING (after a crash or restart). */
  resumeOpen(): Promise<number>;
  /** True while this process runs the operation (the local engine); Step Functions runs none here. */
  runsHere(operationId: string): boolean;
  /** Resolves when nothing runs in this process (tests, graceful shutdown). */
  idle(): Promise<void>;
  /** Stops running executions where they are; their records stay open and resume on next start. */
  close(): Promise<void>;
}

import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { OperationType } from '../../core/lifecycle.js';
import type { Operation } from '../../core/registry/records.js';
import type { Registry } from '../../core/registry/registry.js';
import type { ExecutionInput, WorkflowEngine } from './types.js';

export interface StepFunctionsEngineOptions {
  readonly sfn: SFNClient;
  readonly registry: Registry;
  /** State machine ARN of each operation type. */
  readonly stateMachineArn: (type: OperationType) => string;
  readonly pollSeconds: number;
}

/**
 * One execution per attempt: the operation id, then `<id>-attempt-<n>` for a retry. Names are unique
 * for 90 days, and RedriveExecution does not fit these machines: it restarts at the state that
 * failed, which here is the Fail state after RecordFailure and compensation, so it would only fail
 * again. A retry is a new execution, whose idempotent steps settle what is done already.
 */
export function executionName(operation: Operation): string {
  const attempt = operation.attempt ?? 1;
  return attempt > 1 ? `${operation.operationId}-attempt-${attempt}` : operation.operationId;
}

/**
 * The AWS engine: the same definitions on Step Functions (Standard). The execution name is the
 * operation id, so starting twice starts once (names are unique for 90 days).
 */
export class StepFunctionsEngine implements WorkflowEngine {
  readonly kind = 'stepfunctions' as const;

  constructor(private readonly options: StepFunctionsEngineOptions) {}

  /** Starts the execution named after the operation; Step Functions keeps names unique. */
  async start(operation: Operation): Promise<boolean> {
    const input: ExecutionInput = {
      operationId: operation.operationId,
      tenantId: operation.tenantId,
      pollSeconds: this.options.pollSeconds,
    };
    try {
      await this.options.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn(operation.type),
          name: executionName(operation),
          input: JSON.stringify(input),
        }),
      );
    } catch (e) {
      // Same name and input: Step Functions answers with the running execution; a different input is this error.
      if ((e as Error).name !== 'ExecutionAlreadyExists') throw e;
    }
    return true;
  }

  async resumeOpen(): Promise<number> {
    const open = await this.options.registry.listOpenOperations();
    for (const op of open) await this.start(op);
    return open.length;
  }

  runsHere(): boolean {
    return false;
  }

  async idle(): Promise<void> {}
  async close(): Promise<void> {}
}

import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListStateMachinesCommand,
  type SFNClient,
  StartExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import type { OperationType } from '../../core/lifecycle.js';
import type { Operation } from '../../core/registry/records.js';
import type { Registry } from '../../core/registry/registry.js';
import { definitionText, substitute } from '../definitions/index.js';
import type { ExecutionInput, WorkflowEngine } from './types.js';

export interface StepFunctionsEngineOptions {
  readonly sfn: SFNClient;
  readonly registry: Registry;
  /** State machine ARN of each operation type. */
  readonly stateMachineArn: (type: OperationType) => string;
  readonly pollSeconds: number;
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
          name: operation.operationId,
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

  async executionStatus(operation: Operation): Promise<string | undefined> {
    const arn = this.options.stateMachineArn(operation.type).replace(':stateMachine:', ':execution:');
    const out = await this.options.sfn.send(
      new DescribeExecutionCommand({ executionArn: `${arn}:${operation.operationId}` }),
    );
    return out.status;
  }

  runsHere(): boolean {
    return false;
  }

  async idle(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * Creates or updates one state machine per operation type from the definitions, named
 * `<prefix>-<type>`. The control-plane CDK stack does this on AWS; this is for a plain account or
 * an emulator.
 */
export async function ensureStateMachines(
  sfn: SFNClient,
  options: { prefix: string; roleArn: string; taskFunctionArn: string; types: readonly OperationType[] },
): Promise<Record<OperationType, string>> {
  const existing = new Map<string, string>();
  let token: string | undefined;
  do {
    const out = await sfn.send(new ListStateMachinesCommand({ nextToken: token }));
    for (const m of out.stateMachines ?? [])
      if (m.name && m.stateMachineArn) existing.set(m.name, m.stateMachineArn);
    token = out.nextToken;
  } while (token);
  const arns = {} as Record<OperationType, string>;
  for (const type of options.types) {
    const name = `${options.prefix}-${type}`;
    const definition = substitute(definitionText(type), options.taskFunctionArn);
    const arn = existing.get(name);
    if (arn) {
      await sfn.send(
        new UpdateStateMachineCommand({ stateMachineArn: arn, definition, roleArn: options.roleArn }),
      );
      arns[type] = arn;
    } else {
      const out = await sfn.send(
        new CreateStateMachineCommand({ name, definition, roleArn: options.roleArn, type: 'STANDARD' }),
      );
      arns[type] = out.stateMachineArn!;
    }
  }
  return arns;
}

import type { CloudFormationClient, StackEvent } from '@aws-sdk/client-cloudformation';

/**
 * A scripted CloudFormation for unit tests of the stack operations: DescribeStacks answers from a
 * list (the last answer repeats; undefined = the stack does not exist), other calls from handlers.
 */

export type Handler = (input: Record<string, unknown>) => unknown;

/** What DescribeStacks answers for the scripted stack. */
export interface FakeStack {
  StackStatus: string;
  StackStatusReason?: string;
  EnableTerminationProtection?: boolean;
  Outputs?: { OutputKey: string; OutputValue: string }[];
  Parameters?: { ParameterKey: string; ParameterValue: string }[];
  LastUpdatedTime?: Date;
}

export const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

export class ScriptedCloudFormation {
  readonly calls: { name: string; input: Record<string, unknown> }[] = [];
  private readonly statuses: (FakeStack | undefined)[];

  constructor(
    statuses: (FakeStack | undefined)[],
    private readonly handlers: Record<string, Handler> = {},
    private readonly events: StackEvent[] = [],
  ) {
    this.statuses = [...statuses];
  }

  /** The n-th DescribeStacks answer; the last one repeats. undefined = the stack does not exist. */
  private nextStack(): FakeStack | undefined {
    return this.statuses.length > 1 ? this.statuses.shift() : this.statuses[0];
  }

  async send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, '');
    this.calls.push({ name, input: command.input });
    const handler = this.handlers[name];
    if (handler) return handler(command.input);
    if (name === 'DescribeStacks') {
      const stack = this.nextStack();
      if (!stack)
        throw awsError('ValidationError', `Stack with id ${String(command.input.StackName)} does not exist`);
      return { Stacks: [{ StackName: 'acme', StackId: 'arn:stack/acme/1', ...stack }] };
    }
    if (name === 'DescribeStackEvents') return { StackEvents: this.events };
    return {};
  }

  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  client(): CloudFormationClient {
    return this as unknown as CloudFormationClient;
  }
}

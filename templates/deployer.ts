import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
  UpdateStackCommand,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { ControlPlaneError, describeError, type ErrorCode } from '../core/errors.js';
import type { CfnParameterValue, CfnTag, StackResult, SynthesizedTemplate } from './types.js';

/** Wrapped around every mutating CloudFormation call (the workflows inject a concurrency limiter). */
export interface StackGate {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export interface StackDeployerOptions {
  readonly cloudformation: CloudFormationClient;
  /** First wait between status polls. @default 2000 */
  readonly pollMs?: number;
  /** Longest wait between polls; waits double up to it, with jitter. @default 10 × pollMs */
  readonly maxPollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly gate?: StackGate;
  /** Total polling time after which a stack that has not settled is reported. @default 3 hours */
  readonly maxWaitMs?: number;
  /** DeleteStack attempts before STACK_DELETE_FAILED. @default 3 */
  readonly deleteAttempts?: number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export interface StackDeployArgs {
  readonly stackName: string;
  readonly template: SynthesizedTemplate;
  readonly parameters: readonly CfnParameterValue[];
  readonly tags: readonly CfnTag[];
  /** ClientRequestToken of this step, stable across retries of the step. */
  readonly token: string;
  /** Silo stacks set it; undefined leaves the stack's setting as it is. */
  readonly terminationProtection?: boolean;
}

export interface StackDeleteArgs {
  readonly stackName: string;
  readonly token: string;
}

const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;
const CREATED = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
/** Resource reasons that only echo another resource's failure. */
const ECHO_REASONS = /^Resource (creation|update|deletion) cancelled/;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errorName(e: unknown): string {
  return (e as { name?: string })?.name ?? '';
}

const isNotFound = (e: unknown) =>
  errorName(e) === 'ValidationError' && /does not exist/.test(describeError(e));
const isNoUpdates = (e: unknown) =>
  errorName(e) === 'ValidationError' && /No updates are to be performed/.test(describeError(e));
const isBusy = (e: unknown) =>
  errorName(e) === 'ValidationError' && /_IN_PROGRESS state and can ?not be updated/.test(describeError(e));
const isThrottled = (e: unknown) => /Throttl|TooManyRequests|RequestLimitExceeded/.test(errorName(e));

function callError(code: ErrorCode, what: string, e: unknown): ControlPlaneError {
  if (e instanceof ControlPlaneError) return e;
  if (isThrottled(e))
    return new ControlPlaneError('AWS_THROTTLED', `${what}: ${describeError(e)}`, { cause: e });
  return new ControlPlaneError(code, `${what}: ${describeError(e)}`, { cause: e });
}

function toResult(stack: Stack): StackResult {
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? [])
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  return {
    stackId: stack.StackId ?? '',
    stackName: stack.StackName ?? '',
    status: stack.StackStatus ?? 'UNKNOWN',
    outputs,
  };
}

const settled = (status: string | undefined) =>
  !status?.endsWith('_IN_PROGRESS') || status === 'REVIEW_IN_PROGRESS';

/** What CreateStack and UpdateStack both take. */
function stackInput(args: StackDeployArgs) {
  return {
    StackName: args.stackName,
    ...templateSource(args.template),
    Parameters: [...args.parameters],
    Tags: [...args.tags],
    Capabilities: [...CAPABILITIES],
    ClientRequestToken: args.token,
  };
}

/**
 * Creates, updates and deletes stacks and waits until they settle. Idempotent for crash-resume:
 * creating a stack that exists adopts it, deleting a missing stack succeeds, an update with
 * nothing to change reports noChange. Failures carry the failing resource's reason.
 */
export class StackDeployer {
  private readonly cf: CloudFormationClient;
  private readonly pollMs: number;
  private readonly maxPollMs: number;
  private readonly maxWaitMs: number;
  private readonly deleteAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly gate: StackGate;

  constructor(options: StackDeployerOptions) {
    this.cf = options.cloudformation;
    this.pollMs = options.pollMs ?? 2000;
    this.maxPollMs = Math.max(this.pollMs, options.maxPollMs ?? this.pollMs * 10);
    this.maxWaitMs = options.maxWaitMs ?? 3 * 3600_000;
    this.deleteAttempts = Math.max(1, options.deleteAttempts ?? 3);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.gate = options.gate ?? { run: (fn) => fn() };
  }

  async create(args: StackDeployArgs): Promise<StackResult> {
    try {
      await this.gate.run(() =>
        this.cf.send(
          new CreateStackCommand({
            ...stackInput(args),
            EnableTerminationProtection: args.terminationProtection ?? false,
          }),
        ),
      );
    } catch (e) {
      // Exists already: a retry of this step after a crash (or an SDK retry of a create that got
      // through). Adopt it: wait for it and judge its outcome.
      if (errorName(e) !== 'AlreadyExistsException')
        throw callError('STACK_FAILED', `CreateStack ${args.stackName}`, e);
    }
    const stack = await this.waitToSettle(args.stackName);
    if (!stack)
      throw new ControlPlaneError('STACK_FAILED', `stack ${args.stackName} disappeared while being created`);
    if (!CREATED.has(stack.StackStatus ?? '')) throw await this.failure('STACK_FAILED', stack, 'create');
    await this.reconcileTerminationProtection(stack, args.terminationProtection);
    return toResult(stack);
  }

  async update(args: StackDeployArgs): Promise<StackResult & { noChange: boolean }> {
    const send = () => this.gate.run(() => this.cf.send(new UpdateStackCommand(stackInput(args))));
    let noChange = false;
    try {
      await send();
    } catch (e) {
      if (isNoUpdates(e)) noChange = true;
      else if (isBusy(e)) {
        // An operation is running (this update before a crash, or another): let it settle, then
        // ask again; the repeat reports noChange if it was this update.
        await this.waitToSettle(args.stackName);
        try {
          await send();
        } catch (again) {
          if (!isNoUpdates(again)) throw callError('STACK_FAILED', `UpdateStack ${args.stackName}`, again);
          noChange = true;
        }
      } else throw callError('STACK_FAILED', `UpdateStack ${args.stackName}`, e);
    }
    const stack = await this.waitToSettle(args.stackName);
    if (!stack) throw new ControlPlaneError('STACK_FAILED', `stack ${args.stackName} does not exist`);
    if (!CREATED.has(stack.StackStatus ?? '')) throw await this.failure('STACK_FAILED', stack, 'update');
    await this.reconcileTerminationProtection(stack, args.terminationProtection);
    return { ...toResult(stack), noChange };
  }

  async delete(args: StackDeleteArgs): Promise<void> {
    let stack = await this.describeStack(args.stackName);
    if (!stack) return;
    const stackId = stack.StackId ?? args.stackName;
    if (!settled(stack.StackStatus) && stack.StackStatus !== 'DELETE_IN_PROGRESS') {
      stack = await this.waitToSettle(stackId);
      if (!stack) return;
    }
    const protectionProblem = stack.EnableTerminationProtection
      ? await this.disableTerminationProtection(stackId)
      : undefined;
    for (let attempt = 1; attempt <= this.deleteAttempts; attempt += 1) {
      // Each attempt needs its own token: CloudFormation ignores a repeated one.
      const token = attempt === 1 ? args.token : `${args.token}-retry${attempt}`;
      try {
        await this.gate.run(() =>
          this.cf.send(new DeleteStackCommand({ StackName: stackId, ClientRequestToken: token })),
        );
      } catch (e) {
        const suffix = protectionProblem
          ? ` (turning termination protection off failed: ${protectionProblem})`
          : '';
        throw callError('STACK_DELETE_FAILED', `DeleteStack ${args.stackName}${suffix}`, e);
      }
      stack = await this.waitToSettle(stackId);
      if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return;
      if (attempt === this.deleteAttempts) throw await this.failure('STACK_DELETE_FAILED', stack, 'delete');
    }
  }

  async describe(stackName: string): Promise<StackResult | undefined> {
    const stack = await this.describeStack(stackName);
    return stack ? toResult(stack) : undefined;
  }

  /** The stack, or undefined when it does not exist or is deleted. */
  private async describeStack(stackName: string): Promise<Stack | undefined> {
    try {
      const out = await this.cf.send(new DescribeStacksCommand({ StackName: stackName }));
      const stack = out.Stacks?.[0];
      return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? stack : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw callError('AWS_ERROR', `DescribeStacks ${stackName}`, e);
    }
  }

  /** Polls with exponential backoff and equal jitter until the stack settles or is gone. */
  private async waitToSettle(stackName: string): Promise<Stack | undefined> {
    let waited = 0;
    for (let attempt = 0; ; attempt += 1) {
      const stack = await this.describeStack(stackName);
      if (!stack || settled(stack.StackStatus)) return stack;
      if (waited >= this.maxWaitMs) {
        throw new ControlPlaneError(
          'STACK_FAILED',
          `stack ${stackName} still ${stack.StackStatus} after ${Math.round(waited / 1000)} s`,
        );
      }
      const ceiling = Math.min(this.maxPollMs, this.pollMs * 2 ** Math.min(attempt, 30));
      const delay = Math.round(ceiling / 2 + (ceiling / 2) * this.random());
      waited += delay;
      await this.sleep(delay);
    }
  }

  private async reconcileTerminationProtection(stack: Stack, wanted: boolean | undefined): Promise<void> {
    if (wanted === undefined || Boolean(stack.EnableTerminationProtection) === wanted) return;
    try {
      await this.gate.run(() =>
        this.cf.send(
          new UpdateTerminationProtectionCommand({
            StackName: stack.StackId,
            EnableTerminationProtection: wanted,
          }),
        ),
      );
    } catch (e) {
      throw callError('STACK_FAILED', `UpdateTerminationProtection ${stack.StackName}`, e);
    }
  }

  /**
   * Turns protection off before a delete. A failure is returned, not thrown: moto reports the
   * flag but does not implement the call (nor enforce the flag); on AWS the delete then fails
   * with the reason, and the message carries both.
   */
  private async disableTerminationProtection(stackId: string): Promise<string | undefined> {
    try {
      await this.gate.run(() =>
        this.cf.send(
          new UpdateTerminationProtectionCommand({ StackName: stackId, EnableTerminationProtection: false }),
        ),
      );
      return undefined;
    } catch (e) {
      return describeError(e);
    }
  }

  /** STACK_FAILED / STACK_DELETE_FAILED naming the first resource that failed in this operation. */
  private async failure(
    code: 'STACK_FAILED' | 'STACK_DELETE_FAILED',
    stack: Stack,
    operation: string,
  ): Promise<ControlPlaneError> {
    const cause = await this.firstFailure(stack).catch(() => undefined);
    const where = cause
      ? `${cause.LogicalResourceId} (${cause.ResourceType}): ${cause.ResourceStatusReason}`
      : (stack.StackStatusReason ?? 'no reason given');
    return new ControlPlaneError(
      code,
      `stack ${stack.StackName} ${operation} ended ${stack.StackStatus}: ${where}`,
      {
        details: {
          stackName: stack.StackName,
          stackId: stack.StackId,
          status: stack.StackStatus,
          resource: cause?.LogicalResourceId,
          resourceType: cause?.ResourceType,
          reason: cause?.ResourceStatusReason ?? stack.StackStatusReason,
        },
      },
    );
  }

  /** The earliest resource failure since the stack's latest operation began (events come newest first). */
  private async firstFailure(stack: Stack): Promise<StackEvent | undefined> {
    let earliest: StackEvent | undefined;
    let nextToken: string | undefined;
    for (let page = 0; page < 5; page += 1) {
      const out = await this.cf.send(
        new DescribeStackEventsCommand({ StackName: stack.StackId, NextToken: nextToken }),
      );
      for (const event of out.StackEvents ?? []) {
        const isStack =
          event.ResourceType === 'AWS::CloudFormation::Stack' && event.LogicalResourceId === stack.StackName;
        if (isStack && event.ResourceStatusReason === 'User Initiated') return earliest;
        const failed = event.ResourceStatus?.endsWith('_FAILED') && !isStack && event.ResourceStatusReason;
        if (failed && !ECHO_REASONS.test(event.ResourceStatusReason ?? '')) earliest = event;
      }
      nextToken = out.NextToken;
      if (!nextToken) break;
    }
    return earliest;
  }
}

function templateSource(template: SynthesizedTemplate): { TemplateURL: string } | { TemplateBody: string } {
  return template.templateUrl ? { TemplateURL: template.templateUrl } : { TemplateBody: template.body };
}

import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackEventsCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  type Stack,
  type StackEvent,
  UpdateStackCommand,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import {
  isAlreadyExists,
  isNotFound,
  isNoUpdates,
  isStackBusy,
  toControlPlaneError,
} from '../core/aws/errors.js';
import { ControlPlaneError, describeError } from '../core/errors.js';
import type { CfnParameterValue, CfnTag } from './types.js';

/**
 * The one way the control plane drives CloudFormation: non-blocking stack operations. Each
 * `ensure…` looks at the stack, makes at most one mutating call, looks again and answers where the
 * stack stands: `{ done: false }` (call again later), `{ done: true, stack }` or
 * `{ done: true, failure }`. Nothing here waits: the platform deploy loops over these calls with
 * core/backoff (StackDeployer), the workflow steps return `{ done: false }` to be polled.
 *
 * (`ensure…` make at most one Create/Update/DeleteStack call; switching termination protection is
 * the only other mutating call.)
 *
 * Every operation carries its ClientRequestToken, stable across retries of the same request, and a
 * failure is explained by the first resource that failed in *that* operation (the events carrying
 * its token), never by an event of an earlier one.
 */

/** A stack as the control plane needs to see it. */
export interface StackView {
  readonly stackId: string;
  readonly stackName: string;
  readonly status: string;
  readonly statusReason?: string | undefined;
  readonly outputs: Record<string, string>;
  readonly parameters: Record<string, string>;
  readonly terminationProtection: boolean;
  readonly lastUpdatedTime?: Date | undefined;
  /** The stack's tags (TenantId, Tier, TemplateVersion, …). */
  readonly tags: Record<string, string>;
}

export type StackProgress =
  /**
   * Still moving, or waiting for another operation to end: ask again later. `acted`: this call
   * made its stack operation (the stack now moves because of it).
   */
  | {
      readonly done: false;
      readonly status: string;
      readonly stack?: StackView | undefined;
      readonly acted?: boolean;
    }
  /** Settled as asked; `stack` is undefined once deleted. */
  | {
      readonly done: true;
      readonly failure?: undefined;
      readonly stack?: StackView | undefined;
      readonly noChange?: boolean;
    }
  /** Settled, not as asked: STACK_FAILED / STACK_DELETE_FAILED naming the first failed resource. */
  | { readonly done: true; readonly failure: ControlPlaneError; readonly stack?: StackView | undefined };

export interface StackTemplateSource {
  readonly body: string;
  readonly templateUrl?: string | undefined;
}

/** What CreateStack and UpdateStack are given. */
export interface StackSpec {
  readonly stackName: string;
  readonly template: StackTemplateSource;
  readonly parameters: readonly CfnParameterValue[];
  readonly tags: readonly CfnTag[];
  /** This operation's ClientRequestToken: [a-zA-Z0-9-]{1,128}, the same on every retry. */
  readonly token: string;
  /** CloudFormation's execution role (RoleARN). */
  readonly roleArn?: string | undefined;
  /** Wanted termination protection; undefined leaves the stack's setting as it is. */
  readonly terminationProtection?: boolean | undefined;
}

export interface UpdateOptions {
  /**
   * Settled without a call when the stack already runs with exactly these parameters (the workflow
   * steps: a template version is a parameter). Off, UpdateStack is asked and "no updates" settles.
   */
  readonly skipWhenParametersMatch?: boolean;
  /** An UPDATE_ROLLBACK_COMPLETE stack updated after this instant is this operation's failure. */
  readonly rolledBackAfter?: string | undefined;
}

export interface DeleteSpec {
  /** Name or id; an id keeps addressing the deleted stack. */
  readonly stackName: string;
  /** This attempt's token: CloudFormation ignores a repeated one, so a retry needs a new token. */
  readonly token: string;
  /** A stack found DELETE_FAILED is deleted again (true) or reported (false). @default true */
  readonly retryFailed?: boolean;
}

const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] as const;
const CREATED = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
/** Resource reasons that only echo another resource's failure. */
const ECHO_REASONS = /^Resource (creation|update|deletion) cancelled/;
/** Pages of events read for a failure reason. */
const EVENT_PAGES = 5;

/** Still moving. REVIEW_IN_PROGRESS is a created change set's stack: it does not move on its own. */
export const isInProgress = (status: string): boolean =>
  status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS';

function toView(stack: Stack): StackView {
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? [])
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  const parameters: Record<string, string> = {};
  for (const p of stack.Parameters ?? [])
    if (p.ParameterKey && p.ParameterValue !== undefined) parameters[p.ParameterKey] = p.ParameterValue;
  return {
    stackId: stack.StackId ?? '',
    stackName: stack.StackName ?? '',
    status: stack.StackStatus ?? 'UNKNOWN',
    statusReason: stack.StackStatusReason,
    outputs,
    parameters,
    terminationProtection: Boolean(stack.EnableTerminationProtection),
    lastUpdatedTime: stack.LastUpdatedTime,
    tags: Object.fromEntries((stack.Tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : []))),
  };
}

/** The stack as it is, or undefined when it does not exist (or is DELETE_COMPLETE). */
export async function observe(cf: CloudFormationClient, stackName: string): Promise<StackView | undefined> {
  try {
    const out = await cf.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? toView(stack) : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw toControlPlaneError(e, `DescribeStacks ${stackName}`);
  }
}

/**
 * The earliest resource failure of the operation that carried `token` (events come newest first).
 * Events of other operations, and failures that only echo another's, are skipped.
 */
export async function firstFailure(
  cf: CloudFormationClient,
  stack: { readonly stackId: string; readonly stackName: string },
  token: string,
): Promise<StackEvent | undefined> {
  let earliest: StackEvent | undefined;
  let seenOurs = false;
  let nextToken: string | undefined;
  for (let page = 0; page < EVENT_PAGES; page += 1) {
    const out = await cf.send(
      new DescribeStackEventsCommand({ StackName: stack.stackId || stack.stackName, NextToken: nextToken }),
    );
    for (const event of out.StackEvents ?? []) {
      if (event.ClientRequestToken !== token) {
        // Past the start of our operation: everything older belongs to earlier ones.
        if (seenOurs) return earliest;
        continue;
      }
      seenOurs = true;
      const isStack =
        event.ResourceType === 'AWS::CloudFormation::Stack' && event.LogicalResourceId === stack.stackName;
      const reason = event.ResourceStatusReason;
      if (!isStack && event.ResourceStatus?.endsWith('_FAILED') && reason && !ECHO_REASONS.test(reason))
        earliest = event;
    }
    nextToken = out.NextToken;
    if (!nextToken) break;
  }
  return earliest;
}

/** STACK_FAILED / STACK_DELETE_FAILED for a stack that settled wrong, naming this operation's first failure. */
export async function stackFailure(
  cf: CloudFormationClient,
  stack: StackView,
  token: string,
  operation: 'create' | 'update' | 'delete',
): Promise<ControlPlaneError> {
  const cause = await firstFailure(cf, stack, token).catch(() => undefined);
  const where = cause
    ? `${cause.LogicalResourceId}${cause.ResourceType ? ` (${cause.ResourceType})` : ''}: ${cause.ResourceStatusReason}`
    : (stack.statusReason ?? 'no reason given');
  return new ControlPlaneError(
    operation === 'delete' ? 'STACK_DELETE_FAILED' : 'STACK_FAILED',
    `stack ${stack.stackName} ${operation} ended ${stack.status}: ${where}`,
    {
      details: {
        stackName: stack.stackName,
        stackId: stack.stackId,
        status: stack.status,
        resource: cause?.LogicalResourceId,
        resourceType: cause?.ResourceType,
        reason: cause?.ResourceStatusReason ?? stack.statusReason,
      },
    },
  );
}

function templateSource(t: StackTemplateSource): { TemplateURL: string } | { TemplateBody: string } {
  return t.templateUrl ? { TemplateURL: t.templateUrl } : { TemplateBody: t.body };
}

function stackInput(spec: StackSpec) {
  return {
    StackName: spec.stackName,
    ...templateSource(spec.template),
    Parameters: [...spec.parameters],
    Tags: [...spec.tags],
    Capabilities: [...CAPABILITIES],
    ClientRequestToken: spec.token,
    ...(spec.roleArn ? { RoleARN: spec.roleArn } : {}),
  };
}

/** Where a create or update stands once the stack is seen; `acted`: this call made its stack operation. */
async function settledAs(
  cf: CloudFormationClient,
  stack: StackView | undefined,
  spec: StackSpec,
  operation: 'create' | 'update',
  acted: boolean,
  noChange = false,
): Promise<StackProgress> {
  if (!stack) {
    if (acted && operation === 'create') return { done: false, status: 'CREATE_IN_PROGRESS', acted };
    return {
      done: true,
      failure: new ControlPlaneError('STACK_FAILED', `stack ${spec.stackName} does not exist`),
    };
  }
  if (isInProgress(stack.status)) return { done: false, status: stack.status, stack, acted };
  if (!CREATED.has(stack.status))
    return { done: true, failure: await stackFailure(cf, stack, spec.token, operation), stack };
  const wanted = spec.terminationProtection;
  if (wanted !== undefined && stack.terminationProtection !== wanted) {
    try {
      await cf.send(
        new UpdateTerminationProtectionCommand({
          StackName: stack.stackId,
          EnableTerminationProtection: wanted,
        }),
      );
    } catch (e) {
      throw toControlPlaneError(e, `UpdateTerminationProtection ${stack.stackName}`, 'STACK_FAILED');
    }
    return { done: true, stack: { ...stack, terminationProtection: wanted }, noChange };
  }
  return { done: true, stack, noChange };
}

/** Where a create or update that was asked for stands now (no call). */
export async function progressOf(
  cf: CloudFormationClient,
  spec: StackSpec,
  operation: 'create' | 'update',
): Promise<StackProgress> {
  return settledAs(cf, await observe(cf, spec.stackName), spec, operation, true);
}

/** Where a delete that was asked for stands now (no call). */
export async function deletionProgress(
  cf: CloudFormationClient,
  spec: Pick<DeleteSpec, 'stackName' | 'token'>,
): Promise<StackProgress> {
  const stack = await observe(cf, spec.stackName);
  if (!stack) return { done: true };
  if (stack.status !== 'DELETE_FAILED') return { done: false, status: stack.status, stack, acted: true };
  return { done: true, failure: await stackFailure(cf, stack, spec.token, 'delete'), stack };
}

/**
 * The stack exists and is created: a missing stack is created (OnFailure ROLLBACK), an existing one
 * adopted (a retried step, or an SDK retry of a create that got through).
 */
export async function ensureCreated(
  cf: CloudFormationClient,
  spec: StackSpec,
  /** The stack as the caller just saw it (null: seen missing), saving a DescribeStacks. */
  seen?: StackView | null,
): Promise<StackProgress> {
  const before = seen === undefined ? await observe(cf, spec.stackName) : (seen ?? undefined);
  if (before) return settledAs(cf, before, spec, 'create', false);
  try {
    await cf.send(
      new CreateStackCommand({
        ...stackInput(spec),
        EnableTerminationProtection: spec.terminationProtection ?? false,
        OnFailure: 'ROLLBACK',
      }),
    );
  } catch (e) {
    if (!isAlreadyExists(e)) throw toControlPlaneError(e, `CreateStack ${spec.stackName}`, 'STACK_FAILED');
  }
  return settledAs(cf, await observe(cf, spec.stackName), spec, 'create', true);
}

/** The stack runs with the spec's template and parameters. A busy stack is waited out, then asked. */
export async function ensureUpdated(
  cf: CloudFormationClient,
  spec: StackSpec,
  options: UpdateOptions = {},
): Promise<StackProgress> {
  const before = await observe(cf, spec.stackName);
  if (!before)
    return {
      done: true,
      failure: new ControlPlaneError('STACK_FAILED', `stack ${spec.stackName} does not exist`),
    };
  if (isInProgress(before.status)) return { done: false, status: before.status, stack: before };
  const healthy = CREATED.has(before.status);
  if (
    options.skipWhenParametersMatch &&
    healthy &&
    spec.parameters.every((p) => before.parameters[p.ParameterKey] === p.ParameterValue)
  )
    return settledAs(cf, before, spec, 'update', false, true);
  const updatedAt = before.lastUpdatedTime?.toISOString();
  if (
    before.status === 'UPDATE_ROLLBACK_COMPLETE' &&
    options.rolledBackAfter &&
    updatedAt &&
    updatedAt > options.rolledBackAfter
  )
    return { done: true, failure: await stackFailure(cf, before, spec.token, 'update'), stack: before };
  try {
    await cf.send(new UpdateStackCommand(stackInput(spec)));
  } catch (e) {
    if (isNoUpdates(e)) return settledAs(cf, before, spec, 'update', false, true);
    if (isStackBusy(e)) return { done: false, status: before.status, stack: before };
    throw toControlPlaneError(e, `UpdateStack ${spec.stackName}`, 'STACK_FAILED');
  }
  return settledAs(cf, await observe(cf, spec.stackName), spec, 'update', true);
}

/**
 * The stack is gone: a missing one counts as deleted; termination protection is turned off first
 * (one answer), then DeleteStack. A stack that ends DELETE_FAILED is reported; whether to try again
 * (with a new token) is the caller's choice.
 */
export async function ensureDeleted(cf: CloudFormationClient, spec: DeleteSpec): Promise<StackProgress> {
  const before = await observe(cf, spec.stackName);
  if (!before) return { done: true };
  if (isInProgress(before.status)) return { done: false, status: before.status, stack: before };
  if (before.status === 'DELETE_FAILED' && spec.retryFailed === false)
    return { done: true, failure: await stackFailure(cf, before, spec.token, 'delete'), stack: before };
  const stackId = before.stackId || spec.stackName;
  let protectionProblem: string | undefined;
  if (before.terminationProtection) {
    try {
      await cf.send(
        new UpdateTerminationProtectionCommand({ StackName: stackId, EnableTerminationProtection: false }),
      );
      return {
        done: false,
        status: before.status,
        stack: { ...before, terminationProtection: false },
      };
    } catch (e) {
      // moto reports the flag but lacks the call (and does not enforce it); on AWS the delete then
      // fails with the reason, and the message carries both.
      protectionProblem = describeError(e);
    }
  }
  try {
    await cf.send(new DeleteStackCommand({ StackName: stackId, ClientRequestToken: spec.token }));
  } catch (e) {
    const suffix = protectionProblem
      ? ` (turning termination protection off failed: ${protectionProblem})`
      : '';
    const error = toControlPlaneError(e, `DeleteStack ${before.stackName}${suffix}`, 'STACK_DELETE_FAILED');
    // Throttling and transient faults are retried by the caller; a refusal (moto answers a failed
    // delete this way, AWS with DELETE_FAILED) is this attempt's failure.
    if (error.code !== 'STACK_DELETE_FAILED') throw error;
    return { done: true, failure: error, stack: before };
  }
  return deletionProgress(cf, { stackName: stackId, token: spec.token });
}

// ---------------------------------------------------------------- reading many stacks, drift

/**
 * Every live stack (not DELETE_COMPLETE) carrying the tag `tagKey`, with its tags: DescribeStacks
 * without a name, paged (ListStacks answers no tags). The reconciler's orphan search.
 */
export async function listTaggedStacks(cf: CloudFormationClient, tagKey: string): Promise<StackView[]> {
  const out: StackView[] = [];
  let token: string | undefined;
  do {
    const page = await cf.send(new DescribeStacksCommand({ NextToken: token })).catch((e: unknown) => {
      throw toControlPlaneError(e, 'DescribeStacks');
    });
    for (const stack of page.Stacks ?? [])
      if (stack.StackStatus !== 'DELETE_COMPLETE' && stack.Tags?.some((t) => t.Key === tagKey))
        out.push(toView(stack));
    token = page.NextToken;
  } while (token);
  return out;
}

/** Starts drift detection of a stack (DetectStackDrift); answers its detection id. */
export async function startDriftDetection(cf: CloudFormationClient, stackName: string): Promise<string> {
  const out = await cf.send(new DetectStackDriftCommand({ StackName: stackName }));
  return out.StackDriftDetectionId ?? '';
}

/** Where a drift detection stands: DETECTION_IN_PROGRESS, DETECTION_COMPLETE or DETECTION_FAILED. */
export async function driftDetectionStatus(
  cf: CloudFormationClient,
  detectionId: string,
): Promise<{
  readonly status: string;
  readonly reason?: string | undefined;
  readonly stackDriftStatus?: string | undefined;
}> {
  const out = await cf.send(
    new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: detectionId }),
  );
  return {
    status: out.DetectionStatus ?? 'UNKNOWN',
    reason: out.DetectionStatusReason,
    stackDriftStatus: out.StackDriftStatus,
  };
}

/** Every resource's drift from the stack's last detection (DescribeStackResourceDrifts, paged). */
export async function stackResourceDrifts(cf: CloudFormationClient, stackName: string) {
  const out = [];
  let token: string | undefined;
  do {
    const page = await cf.send(
      new DescribeStackResourceDriftsCommand({ StackName: stackName, NextToken: token }),
    );
    out.push(...(page.StackResourceDrifts ?? []));
    token = page.NextToken;
  } while (token);
  return out;
}

import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { CreateDBSnapshotCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import type { AwsClients } from '../../core/aws/clients.js';
import { ControlPlaneError } from '../../core/errors.js';
import type { StackRef, Tenant } from '../../core/registry/records.js';
import { buildTenantParameters, tenantStackName, tenantStackTags } from '../../templates/index.js';
import type { Tier } from '../../tiers/catalog.js';
import { clientsFor } from './accounts.js';
import {
  type HandlerOf,
  loadScope,
  names,
  type PollResult,
  type TaskDeps,
  type TaskScope,
  tierFor,
  toTaskError,
} from './context.js';

/**
 * Stack steps, written as "ensure" calls: each call looks at the stack as it is, acts if needed,
 * and says whether it has settled. A crash at any point is resumed by calling again: an existing
 * stack is adopted, a request already made is not made twice (ClientRequestToken), a missing stack
 * counts as deleted.
 */

const IN_PROGRESS = /_IN_PROGRESS$/;
const MAX_DELETE_ATTEMPTS = 3;

export async function describeStack(aws: AwsClients, stackName: string): Promise<Stack | undefined> {
  try {
    const out = await aws.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    return stack && stack.StackStatus !== 'DELETE_COMPLETE' ? stack : undefined;
  } catch (e) {
    if ((e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message))
      return undefined;
    throw e;
  }
}

export function stackOutputs(stack: Stack): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const o of stack.Outputs ?? [])
    if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
  return outputs;
}

/** The first failure CloudFormation recorded for the stack: `LogicalId: reason`. */
async function failureReason(aws: AwsClients, stackName: string, fallback: string): Promise<string> {
  try {
    const out = await aws.cloudformation.send(new DescribeStackEventsCommand({ StackName: stackName }));
    const failed = (out.StackEvents ?? [])
      .filter(
        (e) =>
          /FAILED$/.test(e.ResourceStatus ?? '') &&
          e.ResourceStatusReason &&
          e.LogicalResourceId !== stackName,
      )
      .pop();
    if (failed) return `${failed.LogicalResourceId}: ${failed.ResourceStatusReason}`;
  } catch {
    // The reason is a courtesy; the status alone is still reported.
  }
  return fallback;
}

function templateSource(t: {
  body: string;
  templateUrl?: string | undefined;
}): { TemplateBody: string } | { TemplateURL: string } {
  return t.templateUrl ? { TemplateURL: t.templateUrl } : { TemplateBody: t.body };
}

async function stackParameters(
  deps: TaskDeps,
  tenant: Tenant,
  tier: Tier,
  templateVersion: string,
  accountId: string | undefined,
) {
  return buildTenantParameters(
    {
      tenantId: tenant.tenantId,
      slug: tenant.slug,
      tier,
      allowedPrincipals: tenant.allowedPrincipals,
      templateVersion,
      // The boundary the execution role demands exists in the control plane's account only.
      ...(deps.tenantRoleBoundaryArn && !accountId
        ? { permissionsBoundaryArn: deps.tenantRoleBoundaryArn }
        : {}),
    },
    deps.platform(),
  );
}

function upsertStack(stacks: readonly StackRef[], ref: StackRef): StackRef[] {
  return [...stacks.filter((s) => s.stackName !== ref.stackName), ref];
}

/** ResolveTemplate: make sure the template of the step's tier is synthesized (once per model and version). */
export const resolveTemplate: HandlerOf<'ResolveTemplate'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const tier = tierFor(deps, scope, input.args.which);
  const template = await deps.synth.resolve(tier.isolation, deps.target);
  return { templateVersion: template.versionId, bytes: template.bytes };
};

/** EnsureStack: create the tier's stack for the tenant, or adopt it, and wait for it to settle. */
export const ensureStack: HandlerOf<'EnsureStack'> = async (input, deps, step): Promise<PollResult> => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  const tier = tierFor(deps, scope, input.args.which);
  const role = String(input.args.role ?? 'tenant');
  const stackName = tenantStackName(deps.prefix, tenant.slug, tier.isolation);
  const owner = `${operation.operationId}/${stackName}`;
  const template = await deps.synth.resolve(tier.isolation, deps.target);
  if (tier.dedicatedAccount && !tenant.accountId)
    throw new ControlPlaneError(
      'WORKFLOW_FAILED',
      `tier ${tier.name} needs a dedicated account and tenant ${tenant.tenantId} has none yet`,
    );
  const accountId = tier.dedicatedAccount ? tenant.accountId : undefined;
  const aws = await clientsFor(deps, { tenantId: tenant.tenantId, accountId });
  // A stack the tenant records is looked at first; an unrecorded one is created (under a slot) and
  // a stack left by a crash before it was recorded is adopted through AlreadyExistsException.
  let stack = tenant.stacks.some((s) => s.stackName === stackName)
    ? await describeStack(aws, stackName)
    : undefined;

  if (!stack) {
    // No slot, no stack. No queue position in the detail: it would rewrite the operation on every poll.
    const slot = await deps.stackGate.acquire(owner, operation.createdAt);
    if (!slot.acquired) return { done: false, detail: 'waiting for a stack slot' };
    const parameters = await stackParameters(deps, tenant, tier, template.versionId, accountId);
    try {
      await aws.cloudformation.send(
        new CreateStackCommand({
          StackName: stackName,
          ...templateSource(template),
          Parameters: parameters,
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
          // Own-account stacks run as the scoped execution role; a tenant account's stacks use its credentials.
          ...(deps.cloudFormationRoleArn && !accountId ? { RoleARN: deps.cloudFormationRoleArn } : {}),
          Tags: tenantStackTags({
            tenantId: tenant.tenantId,
            tier: tier.name,
            isolation: tier.isolation,
            templateVersion: template.versionId,
          }),
          ClientRequestToken: names.token(operation.operationId, 'create', stackName),
          EnableTerminationProtection: tier.isolation === 'silo' && deps.target === 'aws',
          OnFailure: 'ROLLBACK',
        }),
      );
    } catch (e) {
      if ((e as Error).name !== 'AlreadyExistsException') throw e;
    }
    stack = await describeStack(aws, stackName);
    if (!stack) return { done: false, detail: 'CREATE_IN_PROGRESS' };
  }

  const status = stack.StackStatus ?? 'UNKNOWN';
  const ref: StackRef = {
    name: role,
    stackName,
    arn: stack.StackId ?? '',
    templateVersion: template.versionId,
    status,
    ...(accountId ? { accountId } : {}),
  };
  const recorded = tenant.stacks.find((s) => s.stackName === stackName);
  if (IN_PROGRESS.test(status)) {
    if (!recorded)
      await deps.registry.patchTenant(tenant, operation.operationId, {
        stacks: upsertStack(tenant.stacks, ref),
      });
    return { done: false, detail: status };
  }
  await deps.stackGate.release(owner);
  if (status === 'CREATE_COMPLETE' || status === 'UPDATE_COMPLETE') {
    const outputs = stackOutputs(stack);
    await deps.registry.patchTenant(
      tenant,
      operation.operationId,
      {
        stacks: upsertStack(tenant.stacks, ref),
        ...(role === 'tenant'
          ? { outputs: { ...tenant.outputs, ...outputs }, templateVersion: template.versionId }
          : {}),
      },
      { endsStep: step?.end(status) },
    );
    return { done: true, detail: status };
  }
  // ROLLBACK_COMPLETE, CREATE_FAILED, …: record what is there so compensation removes it.
  if (!recorded)
    await deps.registry.patchTenant(tenant, operation.operationId, {
      stacks: upsertStack(tenant.stacks, ref),
    });
  throw new ControlPlaneError(
    'STACK_FAILED',
    `stack ${stackName} ended ${status}: ${await failureReason(aws, stackName, status)}`,
  );
};

/**
 * EnsureStackUpdated: bring the tenant's stack to the parameters of a tier (the target tier for a
 * change, the tenant's own to undo one). Settled when the stack runs with exactly those parameters.
 */
export const ensureStackUpdated: HandlerOf<'EnsureStackUpdated'> = async (
  input,
  deps,
  step,
): Promise<PollResult> => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  const tier = tierFor(deps, scope, input.args.tier);
  const ref = tenant.stacks.find((s) => s.name === 'tenant');
  if (!ref)
    throw new ControlPlaneError('WORKFLOW_FAILED', `tenant ${tenant.tenantId} has no stack to update`);
  const aws = await clientsFor(deps, { tenantId: tenant.tenantId, accountId: ref.accountId });
  const stack = await describeStack(aws, ref.stackName);
  if (!stack) throw new ControlPlaneError('STACK_FAILED', `stack ${ref.stackName} does not exist`);
  const status = stack.StackStatus ?? 'UNKNOWN';
  if (IN_PROGRESS.test(status)) return { done: false, detail: status };

  const template = await deps.synth.resolve(tier.isolation, deps.target);
  const wanted = await stackParameters(deps, tenant, tier, template.versionId, ref.accountId);
  const current = new Map((stack.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
  const matches = wanted.every((p) => current.get(p.ParameterKey) === p.ParameterValue);
  if (matches && /_COMPLETE$/.test(status) && !/ROLLBACK/.test(status)) {
    await deps.registry.patchTenant(
      tenant,
      operation.operationId,
      {
        stacks: upsertStack(tenant.stacks, { ...ref, status, templateVersion: template.versionId }),
        outputs: { ...tenant.outputs, ...stackOutputs(stack) },
      },
      { endsStep: step?.end(status) },
    );
    return { done: true, detail: status };
  }
  const updatedSinceStart =
    stack.LastUpdatedTime && stack.LastUpdatedTime.toISOString() > operation.createdAt;
  if (status === 'UPDATE_ROLLBACK_COMPLETE' && updatedSinceStart && input.args.tier === 'target') {
    throw new ControlPlaneError(
      'STACK_FAILED',
      `update of ${ref.stackName} rolled back: ${await failureReason(aws, ref.stackName, status)}`,
    );
  }
  try {
    await aws.cloudformation.send(
      new UpdateStackCommand({
        StackName: ref.stackName,
        ...templateSource(template),
        Parameters: wanted,
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
        ...(deps.cloudFormationRoleArn && !ref.accountId ? { RoleARN: deps.cloudFormationRoleArn } : {}),
        Tags: tenantStackTags({
          tenantId: tenant.tenantId,
          tier: tier.name,
          isolation: tier.isolation,
          templateVersion: template.versionId,
        }),
        ClientRequestToken: names.token(operation.operationId, `update-${tier.name}`, ref.stackName),
      }),
    );
  } catch (e) {
    if (!/No updates are to be performed/.test((e as Error).message)) throw e;
    await deps.registry.patchTenant(tenant, operation.operationId, {
      stacks: upsertStack(tenant.stacks, { ...ref, status, templateVersion: template.versionId }),
    });
    return { done: true, detail: 'no changes' };
  }
  return { done: false, detail: 'UPDATE_IN_PROGRESS' };
};

function stacksWithRole(tenant: Tenant, role: unknown): StackRef[] {
  return role === 'all' ? tenant.stacks : tenant.stacks.filter((s) => s.name === role);
}

/**
 * RetireStacks: delete the tenant's stacks with a role (`all`, `retiring`, `target`). A stack in
 * DELETE_FAILED is deleted again up to 3 times, then reported (STACK_DELETE_FAILED), never dropped
 * from the record.
 */
export const retireStacks: HandlerOf<'RetireStacks'> = async (input, deps): Promise<PollResult> => {
  const { tenant, operation } = await loadScope(deps, input);
  const targets = stacksWithRole(tenant, input.args.role);
  let remaining = [...tenant.stacks];
  const pending: string[] = [];
  for (const ref of targets) {
    const aws = await clientsFor(deps, { tenantId: tenant.tenantId, accountId: ref.accountId });
    const stack = await describeStack(aws, ref.stackName);
    if (!stack) {
      remaining = remaining.filter((s) => s.stackName !== ref.stackName);
      await deps.stackGate.release(`${operation.operationId}/${ref.stackName}`);
      continue;
    }
    const status = stack.StackStatus ?? 'UNKNOWN';
    pending.push(`${ref.stackName} ${status}`);
    if (IN_PROGRESS.test(status)) continue;
    const attempts = (ref.deleteAttempts ?? 0) + (status === 'DELETE_FAILED' ? 1 : 0);
    if (status === 'DELETE_FAILED' && attempts > MAX_DELETE_ATTEMPTS) {
      throw new ControlPlaneError(
        'STACK_DELETE_FAILED',
        `stack ${ref.stackName} failed to delete ${attempts - 1} times: ${await failureReason(aws, ref.stackName, status)}`,
      );
    }
    if (stack.EnableTerminationProtection) {
      await aws.cloudformation.send(
        new UpdateTerminationProtectionCommand({
          StackName: ref.stackName,
          EnableTerminationProtection: false,
        }),
      );
    }
    let refused: string | undefined;
    try {
      await aws.cloudformation.send(
        new DeleteStackCommand({
          StackName: ref.stackName,
          ClientRequestToken: names.token(operation.operationId, `delete${attempts}`, ref.stackName),
        }),
      );
    } catch (e) {
      // moto deletes synchronously and answers a failed delete as an error; AWS reports DELETE_FAILED.
      if (toTaskError(e).code !== 'AWS_ERROR') throw e;
      refused = (e as Error).message;
    }
    if (refused && attempts + 1 > MAX_DELETE_ATTEMPTS) {
      throw new ControlPlaneError(
        'STACK_DELETE_FAILED',
        `stack ${ref.stackName} failed to delete ${attempts + 1} times: ${refused}`,
      );
    }
    const next = refused
      ? { status: 'DELETE_FAILED', deleteAttempts: attempts + 1 }
      : { status: 'DELETE_IN_PROGRESS', deleteAttempts: attempts };
    remaining = remaining.map((s) => (s.stackName === ref.stackName ? { ...s, ...next } : s));
  }
  const changed = JSON.stringify(remaining) !== JSON.stringify(tenant.stacks);
  if (changed) await deps.registry.patchTenant(tenant, operation.operationId, { stacks: remaining });
  return pending.length === 0 ? { done: true } : { done: false, detail: pending.join(', ') };
};

/** The dedicated database of a stack, when its tier has one. */
export async function databaseOf(
  aws: AwsClients,
  scope: TaskScope,
  ref: StackRef,
): Promise<string | undefined> {
  const stack = await describeStack(aws, ref.stackName);
  const fromStack = stack ? stackOutputs(stack).DbInstanceIdentifier : undefined;
  return fromStack ?? (ref.name === 'tenant' ? scope.tenant.outputs.DbInstanceIdentifier : undefined);
}

/** SnapshotDatabase: a final snapshot of each dedicated database before its stack goes. */
export const snapshotDatabase: HandlerOf<'SnapshotDatabase'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const taken: string[] = [];
  for (const ref of stacksWithRole(scope.tenant, input.args.role)) {
    const aws = await clientsFor(deps, { tenantId: scope.tenant.tenantId, accountId: ref.accountId });
    const db = await databaseOf(aws, scope, ref);
    if (!db) continue;
    const exists = await aws.rds
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: db }))
      .then(() => true)
      .catch((e) => {
        if ((e as Error).name === 'DBInstanceNotFoundFault' || (e as Error).name === 'DBInstanceNotFound')
          return false;
        throw e;
      });
    if (!exists) continue;
    const id = names.snapshot(ref.stackName, scope.operation.operationId);
    try {
      await aws.rds.send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: db,
          DBSnapshotIdentifier: id,
          Tags: [{ Key: 'TenantId', Value: scope.tenant.tenantId }],
        }),
      );
    } catch (e) {
      if (!/AlreadyExists/.test((e as Error).name)) throw e;
    }
    taken.push(id);
  }
  return { snapshots: taken };
};

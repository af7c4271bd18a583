import { CreateDBSnapshotCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { isAlreadyExists, isNotFound } from '../../core/aws/errors.js';
import { ControlPlaneError } from '../../core/errors.js';
import type { StackRef, StackRole, Tenant } from '../../core/registry/records.js';
import {
  buildTenantParameters,
  ensureCreated,
  ensureDeleted,
  ensureUpdated,
  observe,
  type StackSpec,
  type StackView,
  tenantStackName,
  tenantStackTags,
} from '../../templates/index.js';
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
  updateOf,
} from './context.js';

/**
 * Stack steps over the one stack-operations module (templates/stack-ops.ts): each call looks at the
 * stack, makes at most one stack operation and answers `{ done: false }` until it has settled. A
 * crash at any point is resumed by calling again: a recorded stack is adopted, a request already
 * made is not made twice (ClientRequestToken), a missing stack counts as deleted.
 *
 * A tenant's stacks are identified by what they are: (role, account, region). Two silo stacks of
 * one tenant (enterprise ↔ enterprise-dedicated) carry the same name in two accounts; neither ever
 * replaces the other in the record. A stack is recorded before it is asked for, and stays recorded
 * until it is seen deleted.
 */

const MAX_DELETE_ATTEMPTS = 3;

/** Where a stack lives: `accountId` undefined is the control plane's own account. */
interface StackPlace {
  readonly role: StackRole;
  readonly accountId?: string | undefined;
  readonly region: string;
}

/** Same role, account and region: the same stack of the tenant, whatever its name. */
export function samePlace(a: StackPlace, b: StackPlace): boolean {
  return a.role === b.role && (a.accountId ?? '') === (b.accountId ?? '') && a.region === b.region;
}

/** The tenant's stack with a role (in any account or region), e.g. the current one. */
export function stackOf(tenant: Tenant, role: StackRole): StackRef | undefined {
  return tenant.stacks.find((s) => s.role === role);
}

/**
 * Records `ref` in place of the same stack (its role, account, region and name), never in place of
 * another: a stack left at the same place under another name stays recorded until it is deleted.
 */
function upsertStack(stacks: readonly StackRef[], ref: StackRef): StackRef[] {
  const at = stacks.findIndex((s) => samePlace(s, ref) && s.stackName === ref.stackName);
  return at < 0 ? [...stacks, ref] : stacks.map((s, i) => (i === at ? ref : s));
}

/** The stack slot's owner: one per operation and stack (two same-named stacks in two accounts differ). */
const slotOwner = (operationId: string, accountId: string | undefined, stackName: string) =>
  `${operationId}/${accountId ?? 'home'}/${stackName}`;

async function stackParameters(
  deps: TaskDeps,
  tenant: Tenant,
  tier: Tier,
  templateVersion: string,
  accountId: string | undefined,
  allowedPrincipals: readonly string[] = tenant.allowedPrincipals,
) {
  return buildTenantParameters(
    {
      tenantId: tenant.tenantId,
      slug: tenant.slug,
      tier,
      allowedPrincipals,
      templateVersion,
      // The boundary the execution role demands exists in the control plane's account only.
      ...(deps.tenantRoleBoundaryArn && !accountId
        ? { permissionsBoundaryArn: deps.tenantRoleBoundaryArn }
        : {}),
    },
    deps.platform(),
  );
}

/** What CreateStack/UpdateStack get for a tenant's stack of a tier. */
async function stackSpec(
  deps: TaskDeps,
  tenant: Tenant,
  tier: Tier,
  where: { stackName: string; accountId: string | undefined; token: string },
  options: {
    /** The allowed principals to deploy (an update operation's); default: the tenant's. */
    readonly allowedPrincipals?: readonly string[] | undefined;
    /** A registered version's template (a rollout); default: the code's template of the tier's model. */
    readonly version?: { versionId: string; body: string; templateUrl?: string | undefined };
  } = {},
): Promise<StackSpec & { templateVersion: string }> {
  const template = options.version ?? (await deps.synth.resolve(tier.isolation, deps.target));
  return {
    stackName: where.stackName,
    template,
    templateVersion: template.versionId,
    parameters: await stackParameters(
      deps,
      tenant,
      tier,
      template.versionId,
      where.accountId,
      options.allowedPrincipals,
    ),
    tags: tenantStackTags({
      tenantId: tenant.tenantId,
      tier: tier.name,
      isolation: tier.isolation,
      templateVersion: template.versionId,
    }),
    token: where.token,
    // Own-account stacks run as the scoped execution role; a tenant account's use its credentials.
    roleArn: deps.cloudFormationRoleArn && !where.accountId ? deps.cloudFormationRoleArn : undefined,
  };
}

/** ResolveTemplate: make sure the template of the step's tier is synthesized (once per model and version). */
export const resolveTemplate: HandlerOf<'ResolveTemplate'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const tier = tierFor(deps, scope, input.args.which);
  const template = await deps.synth.resolve(tier.isolation, deps.target);
  return { templateVersion: template.versionId, bytes: template.bytes };
};

/**
 * EnsureStack: create the tier's stack for the tenant (role `current`, or `target` for a tier
 * change), or adopt it, until it has settled. Creating takes a stack slot, held until the stack
 * settles and released on every way out of the step, failures included.
 */
export const ensureStack: HandlerOf<'EnsureStack'> = async (input, deps, step): Promise<PollResult> => {
  const scope = await loadScope(deps, input);
  let { tenant } = scope;
  const { operation } = scope;
  const tier = tierFor(deps, scope, input.args.which);
  const role: StackRole = input.args.role;
  if (tier.dedicatedAccount && !tenant.accountId)
    throw new ControlPlaneError(
      'WORKFLOW_FAILED',
      `tier ${tier.name} needs a dedicated account and tenant ${tenant.tenantId} has none yet`,
    );
  const accountId = tier.dedicatedAccount ? tenant.accountId : undefined;
  const region = deps.clients.target.region;
  const stackName = tenantStackName(deps.prefix, tenant.slug, tier.isolation);
  const owner = slotOwner(operation.operationId, accountId, stackName);
  const release = () => deps.stackGate.release(owner);
  try {
    const spec = await stackSpec(deps, tenant, tier, {
      stackName,
      accountId,
      token: names.token(operation.operationId, 'create', stackName),
    });
    const cf = (await clientsFor(deps, { tenantId: tenant.tenantId, accountId })).cloudformation;
    const place = { role, accountId, region };
    let recorded = tenant.stacks.find((s) => samePlace(s, place) && s.stackName === stackName);
    // A recorded stack is looked at; an unrecorded one is asked for without a look (one left by a
    // crash before it was recorded is adopted through AlreadyExistsException).
    const seen = recorded ? ((await observe(cf, stackName)) ?? null) : null;
    if (!seen) {
      // No slot, no stack. No queue position in the detail: it would rewrite the operation on every poll.
      const slot = await deps.stackGate.acquire(owner, operation.createdAt);
      if (!slot.acquired) return { done: false, detail: 'waiting for a stack slot' };
      if (!recorded) {
        // Recorded before it is asked for: whatever happens next, compensation and offboarding see it.
        recorded = {
          role,
          stackName,
          arn: '',
          templateVersion: spec.templateVersion,
          status: 'CREATE_REQUESTED',
          region,
          ...(accountId ? { accountId } : {}),
        };
        tenant = await deps.registry.patchTenant(tenant, operation.operationId, {
          stacks: upsertStack(tenant.stacks, recorded),
        });
      }
    }
    const progress = await ensureCreated(cf, spec, seen);
    const view = progress.stack;
    const ref: StackRef = {
      ...recorded!,
      arn: view?.stackId || recorded!.arn,
      status: view?.status ?? recorded!.status,
      templateVersion: spec.templateVersion,
    };
    const changed = ref.arn !== recorded!.arn || ref.status !== recorded!.status;
    if (!progress.done) {
      if (changed)
        await deps.registry.patchTenant(tenant, operation.operationId, {
          stacks: upsertStack(tenant.stacks, ref),
        });
      return { done: false, detail: progress.status };
    }
    await release();
    if (progress.failure) {
      // ROLLBACK_COMPLETE, CREATE_FAILED, …: recorded as it is, so compensation removes it.
      if (changed)
        await deps.registry.patchTenant(tenant, operation.operationId, {
          stacks: upsertStack(tenant.stacks, ref),
        });
      throw progress.failure;
    }
    await deps.registry.patchTenant(
      tenant,
      operation.operationId,
      {
        stacks: upsertStack(tenant.stacks, ref),
        ...(role === 'current'
          ? { outputs: { ...tenant.outputs, ...view!.outputs }, templateVersion: spec.templateVersion }
          : {}),
      },
      { endsStep: step?.end(ref.status) },
    );
    return { done: true, detail: ref.status };
  } catch (e) {
    await release().catch(() => undefined);
    throw e;
  }
};

/** The tenant's current stack, the tier whose parameters it gets and its CloudFormation client. */
async function currentStack(
  deps: TaskDeps,
  input: Parameters<typeof loadScope>[1],
  which: 'tenant' | 'target',
) {
  const scope = await loadScope(deps, input);
  const tier = tierFor(deps, scope, which);
  const ref = stackOf(scope.tenant, 'current');
  if (!ref)
    throw new ControlPlaneError('WORKFLOW_FAILED', `tenant ${scope.tenant.tenantId} has no stack to update`);
  const cf = (await clientsFor(deps, { tenantId: scope.tenant.tenantId, accountId: ref.accountId }))
    .cloudformation;
  return { ...scope, tier, ref, cf };
}

/** The spec that updates the current stack: its name and account, a token per operation and attempt. */
function updateSpec(
  deps: TaskDeps,
  at: Awaited<ReturnType<typeof currentStack>>,
  attempt: string,
  options: Parameters<typeof stackSpec>[4] = {},
) {
  const { ref } = at;
  return stackSpec(
    deps,
    at.tenant,
    at.tier,
    {
      stackName: ref.stackName,
      accountId: ref.accountId,
      token: names.token(at.operation.operationId, attempt, ref.stackName),
    },
    options,
  );
}

/** Records the current stack as updated (status, version, outputs), ending the step in the same write. */
async function recordUpdated(
  deps: TaskDeps,
  at: { tenant: Tenant; operation: { operationId: string }; ref: StackRef },
  stack: StackView,
  templateVersion: string,
  step: Parameters<HandlerOf<'EnsureStackUpdated'>>[2],
  patch: { templateVersion?: string } = {},
): Promise<void> {
  await deps.registry.patchTenant(
    at.tenant,
    at.operation.operationId,
    {
      stacks: upsertStack(at.tenant.stacks, { ...at.ref, status: stack.status, templateVersion }),
      // The stack's outputs are its whole set: an update that turns a condition off (a tier without
      // a noisy-neighbour control) removes outputs, which a merge with the old ones would keep.
      outputs: stack.outputs,
      ...patch,
    },
    { endsStep: step?.end(stack.status) },
  );
}

/**
 * EnsureStackUpdated: bring the tenant's current stack to the parameters of a tier (the target tier
 * for a change, the tenant's own to undo one). Settled when the stack runs with exactly those
 * parameters.
 */
export const ensureStackUpdated: HandlerOf<'EnsureStackUpdated'> = async (
  input,
  deps,
  step,
): Promise<PollResult> => {
  const at = await currentStack(deps, input, input.args.tier);
  const { tenant, operation, tier, ref, cf } = at;
  const requested = input.args.principals === 'requested';
  const spec = await updateSpec(
    deps,
    at,
    `update-${tier.name}`,
    requested
      ? { allowedPrincipals: updateOf(operation.input).allowedPrincipals ?? tenant.allowedPrincipals }
      : {},
  );
  const progress = await ensureUpdated(cf, spec, {
    skipWhenParametersMatch: input.args.reapply !== true,
    // Going forward, a rollback since the operation began is its failure; undoing, it is the state to undo.
    rolledBackAfter: input.args.tier === 'target' || requested ? operation.createdAt : undefined,
  });
  if (!progress.done) return { done: false, detail: progress.status };
  if (progress.failure) throw progress.failure;
  await recordUpdated(deps, at, progress.stack!, spec.templateVersion, step);
  return { done: true, detail: progress.noChange ? 'no changes' : progress.stack!.status };
};

/**
 * EnsureStackAtVersion: bring the tenant's current stack to a registered template version (the
 * operation's `templateVersion`, or its `fromVersion` to undo), with its tier's parameters. Takes a
 * stack slot while CloudFormation works on it, like a create. "No updates are to be performed"
 * settles as success; a failure is reported once CloudFormation has rolled the stack back.
 */
export const ensureStackAtVersion: HandlerOf<'EnsureStackAtVersion'> = async (
  input,
  deps,
  step,
): Promise<PollResult> => {
  const at = await currentStack(deps, input, 'tenant');
  const { tenant, operation, tier, ref, cf } = at;
  const key = input.args.version === 'target' ? 'templateVersion' : 'fromVersion';
  const versionId = String(operation.input[key] ?? '');
  if (!deps.templateVersions)
    throw new ControlPlaneError('INTERNAL', 'this process was built without the template version store');
  const version = { versionId, ...(await deps.templateVersions.body(tier.isolation, versionId)) };
  const spec = await updateSpec(deps, at, `version-${versionId}`, { version });
  const owner = slotOwner(operation.operationId, ref.accountId, ref.stackName);
  const slot = await deps.stackGate.acquire(owner, operation.createdAt);
  if (!slot.acquired) return { done: false, detail: 'waiting for a stack slot' };
  let progress: Awaited<ReturnType<typeof ensureUpdated>>;
  try {
    progress = await ensureUpdated(cf, spec, {
      skipWhenParametersMatch: true,
      rolledBackAfter: operation.createdAt,
    });
  } catch (e) {
    await deps.stackGate.release(owner).catch(() => undefined);
    throw e;
  }
  if (!progress.done) return { done: false, detail: progress.status };
  await deps.stackGate.release(owner);
  if (progress.failure) throw progress.failure;
  await recordUpdated(deps, at, progress.stack!, versionId, step, { templateVersion: versionId });
  return { done: true, detail: progress.noChange ? 'no changes' : progress.stack!.status };
};

function stacksWithRole(tenant: Tenant, role: StackRole | 'all'): StackRef[] {
  return role === 'all' ? tenant.stacks : tenant.stacks.filter((s) => s.role === role);
}

/**
 * RetireStacks: delete the tenant's stacks with a role (`all`, `retiring`, `target`). A stack is
 * dropped from the record once it is seen gone. A failed delete is tried again with a new token up
 * to 3 times, then reported (STACK_DELETE_FAILED), never dropped from the record.
 */
export const retireStacks: HandlerOf<'RetireStacks'> = async (input, deps): Promise<PollResult> => {
  const { tenant, operation } = await loadScope(deps, input);
  const targets = stacksWithRole(tenant, input.args.role);
  let remaining = [...tenant.stacks];
  const pending: string[] = [];
  for (const ref of targets) {
    const cf = (await clientsFor(deps, { tenantId: tenant.tenantId, accountId: ref.accountId }))
      .cloudformation;
    const attempts = ref.deleteAttempts ?? 0;
    const progress = await ensureDeleted(cf, {
      // By id when known: exactly the stack recorded, even once deleted.
      stackName: ref.arn || ref.stackName,
      token: names.token(operation.operationId, `delete${attempts}`, ref.stackName),
    });
    let next: StackRef | undefined = ref;
    if (progress.done && !progress.failure) {
      next = undefined;
      // A creation this operation started and never saw settle held a slot.
      await deps.stackGate.release(slotOwner(operation.operationId, ref.accountId, ref.stackName));
    } else if (progress.done) {
      const failed = attempts + 1;
      if (failed > MAX_DELETE_ATTEMPTS)
        throw new ControlPlaneError(
          'STACK_DELETE_FAILED',
          `stack ${ref.stackName} failed to delete ${failed} times: ${progress.failure.message}`,
        );
      next = { ...ref, status: 'DELETE_FAILED', deleteAttempts: failed };
      pending.push(`${ref.stackName} DELETE_FAILED`);
    } else {
      next = { ...ref, status: progress.status };
      pending.push(`${ref.stackName} ${progress.status}`);
    }
    remaining = next ? remaining.map((s) => (s === ref ? next : s)) : remaining.filter((s) => s !== ref);
  }
  const changed = JSON.stringify(remaining) !== JSON.stringify(tenant.stacks);
  if (changed) await deps.registry.patchTenant(tenant, operation.operationId, { stacks: remaining });
  return pending.length === 0 ? { done: true } : { done: false, detail: pending.join(', ') };
};

/** The stack of a ref as it is (in its account), or undefined when it is gone. */
export async function observeRef(
  deps: TaskDeps,
  tenant: Tenant,
  ref: StackRef,
): Promise<StackView | undefined> {
  const cf = (await clientsFor(deps, { tenantId: tenant.tenantId, accountId: ref.accountId })).cloudformation;
  return observe(cf, ref.arn || ref.stackName);
}

/** The dedicated database of a stack, when its tier has one. */
export async function databaseOf(
  deps: TaskDeps,
  scope: TaskScope,
  ref: StackRef,
): Promise<string | undefined> {
  const stack = await observeRef(deps, scope.tenant, ref);
  return (
    stack?.outputs.DbInstanceIdentifier ??
    (ref.role === 'current' ? scope.tenant.outputs.DbInstanceIdentifier : undefined)
  );
}

/** SnapshotDatabase: a final snapshot of each dedicated database before its stack goes. */
export const snapshotDatabase: HandlerOf<'SnapshotDatabase'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const taken: string[] = [];
  for (const ref of stacksWithRole(scope.tenant, input.args.role)) {
    const aws = await clientsFor(deps, { tenantId: scope.tenant.tenantId, accountId: ref.accountId });
    const db = await databaseOf(deps, scope, ref);
    if (!db) continue;
    const exists = await aws.rds
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: db }))
      .then(() => true)
      .catch((e) => {
        if (isNotFound(e)) return false;
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
      if (!isAlreadyExists(e)) throw e;
    }
    taken.push(id);
  }
  return { snapshots: taken };
};

import {
  AttachRolePolicyCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import type { Tenant } from '../../core/registry/records.js';
import { clientsFor } from './accounts.js';
import { type HandlerOf, ignoreNotFound, loadScope } from './context.js';
import { suspensionWith } from './identity.js';

/**
 * The suspension block on the tenant role: a policy denying every action. IAM evaluates policies
 * on every request, so it also stops sessions (and vended credentials) issued before the
 * suspension, which a state check at vending time cannot reach. Resume removes only this policy.
 * In the control plane's account it is the platform's managed policy (SuspensionPolicyArn), so the
 * task role may attach that one policy and no other (iam:PolicyARN condition; no PutRolePolicy,
 * which could write any Allow). In a dedicated account, where the control plane is already the
 * account's administrator, it is an inline policy of the same text.
 */

/** The inline policy's name on a dedicated-account tenant role. */
export const SUSPENSION_POLICY_NAME = 'tenant-suspended';

/** Deny everything: an explicit Deny overrides every Allow, including the session's own. */
export const SUSPENSION_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'TenantSuspended', Effect: 'Deny', Action: '*', Resource: '*' }],
} as const;

/** The role name from a role ARN (`arn:aws:iam::123:role/path/name` → `name`). */
export function roleNameOf(roleArn: string): string {
  return roleArn.slice(roleArn.lastIndexOf('/') + 1);
}

/** The role a tenant's workloads assume, from its stack outputs; undefined before its stack exists. */
export function tenantRoleArn(tenant: Pick<Tenant, 'outputs'>): string | undefined {
  return tenant.outputs.TenantRoleArn || undefined;
}

/** SetRoleBlocked: attach (suspend) or remove (resume) the deny policy on the tenant role. */
export const setRoleBlocked: HandlerOf<'SetRoleBlocked'> = async (input, deps) => {
  const { tenant, operation } = await loadScope(deps, input);
  const roleArn = tenantRoleArn(tenant);
  if (!roleArn) return { role: 'none' };
  const RoleName = roleNameOf(roleArn);
  // The role lives where the tenant's current stack does (a move between accounts may have left
  // the record's accountId pointing elsewhere while it was rolled back).
  const accountId = tenant.stacks.find((s) => s.role === 'current')?.accountId;
  const { iam } = await clientsFor(deps, { tenantId: tenant.tenantId, accountId });
  const managed = accountId ? undefined : deps.platform().suspensionPolicyArn;
  if (input.args.blocked) {
    if (!tenant.access.suspension?.roleBlocked)
      await deps.registry.patchTenant(tenant, operation.operationId, {
        access: suspensionWith(tenant, { roleBlocked: true }),
      });
    if (managed) await iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: managed }));
    else
      await iam.send(
        new PutRolePolicyCommand({
          RoleName,
          PolicyName: SUSPENSION_POLICY_NAME,
          PolicyDocument: JSON.stringify(SUSPENSION_POLICY),
        }),
      );
    return { roleArn, blocked: true };
  }
  await (managed
    ? iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn: managed }))
    : iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: SUSPENSION_POLICY_NAME }))
  ).catch(ignoreNotFound);
  if (tenant.access.suspension?.roleBlocked)
    await deps.registry.patchTenant(tenant, operation.operationId, {
      access: suspensionWith(tenant, { roleBlocked: false }),
    });
  return { roleArn, blocked: false };
};

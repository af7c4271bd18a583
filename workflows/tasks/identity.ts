import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  CreateGroupCommand,
  DeleteGroupCommand,
  ListUsersInGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Tenant } from '../../core/registry/records.js';
import { type HandlerOf, ignoreNotFound, loadScope, names, type TaskDeps } from './context.js';

/** The tenant's users in the platform user pool: its group and an admin user, managed through Cognito. */

async function usersInGroup(deps: TaskDeps, tenant: Tenant): Promise<string[]> {
  const users: string[] = [];
  let token: string | undefined;
  do {
    const out = await deps.clients.cognito
      .send(
        new ListUsersInGroupCommand({
          UserPoolId: deps.platform().userPoolId,
          GroupName: names.group(tenant),
          NextToken: token,
        }),
      )
      .catch(ignoreNotFound);
    if (!out) return users;
    for (const u of out.Users ?? []) if (u.Username) users.push(u.Username);
    token = out.NextToken;
  } while (token);
  return users;
}

/** CreateIdentity: the tenant's group and admin user; an existing group or user is accepted. */
export const createIdentity: HandlerOf<'CreateIdentity'> = async (input, deps, step) => {
  const { tenant, operation } = await loadScope(deps, input);
  const userPoolId = deps.platform().userPoolId;
  const groupName = names.group(tenant);
  const username = names.adminUser(tenant);
  await deps.clients.cognito
    .send(
      new CreateGroupCommand({
        UserPoolId: userPoolId,
        GroupName: groupName,
        Description: `Tenant ${tenant.slug} (${tenant.tenantId})`,
      }),
    )
    .catch((e) => {
      if ((e as Error).name !== 'GroupExistsException') throw e;
    });
  await deps.cognitoLimiter.run(() =>
    deps.clients.cognito
      .send(
        new AdminCreateUserCommand({
          UserPoolId: userPoolId,
          Username: username,
          UserAttributes: [
            { Name: 'email', Value: tenant.adminEmail },
            { Name: 'email_verified', Value: 'true' },
          ],
          DesiredDeliveryMediums: ['EMAIL'],
        }),
      )
      .catch((e) => {
        if ((e as Error).name !== 'UsernameExistsException') throw e;
      }),
  );
  await deps.clients.cognito.send(
    new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: groupName }),
  );
  await deps.registry.patchTenant(
    tenant,
    operation.operationId,
    { access: { ...tenant.access, userPoolId, groupName, adminUsername: username } },
    { endsStep: step?.end() },
  );
  return { groupName, username };
};

/** SetUsersEnabled: disable (suspend) or enable (resume) every user of the tenant's group. */
export const setUsersEnabled: HandlerOf<'SetUsersEnabled'> = async (input, deps) => {
  const { tenant } = await loadScope(deps, input);
  const enabled = input.args.enabled === true;
  const userPoolId = deps.platform().userPoolId;
  const users = await usersInGroup(deps, tenant);
  for (const Username of users) {
    await deps.clients.cognito
      .send(
        enabled
          ? new AdminEnableUserCommand({ UserPoolId: userPoolId, Username })
          : new AdminDisableUserCommand({ UserPoolId: userPoolId, Username }),
      )
      .catch(ignoreNotFound);
  }
  return { users: users.length, enabled };
};

/** Deletes the tenant's users and group; gone already counts as done. */
export async function deleteIdentityOf(deps: TaskDeps, tenant: Tenant): Promise<number> {
  const userPoolId = deps.platform().userPoolId;
  const users = await usersInGroup(deps, tenant);
  const adminUser = tenant.access.adminUsername;
  if (adminUser && !users.includes(adminUser)) users.push(adminUser);
  for (const Username of users) {
    await deps.clients.cognito
      .send(new AdminDeleteUserCommand({ UserPoolId: userPoolId, Username }))
      .catch(ignoreNotFound);
  }
  await deps.clients.cognito
    .send(new DeleteGroupCommand({ UserPoolId: userPoolId, GroupName: names.group(tenant) }))
    .catch(ignoreNotFound);
  return users.length;
}

/** DeleteIdentity: offboarding's removal of users and group. */
export const deleteIdentity: HandlerOf<'DeleteIdentity'> = async (input, deps) => {
  const { tenant } = await loadScope(deps, input);
  return { deletedUsers: await deleteIdentityOf(deps, tenant) };
};

import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminGetUserCommand,
  AdminUpdateUserAttributesCommand,
  AdminUserGlobalSignOutCommand,
  type AttributeType,
  CreateGroupCommand,
  DeleteGroupCommand,
  ListUsersInGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Tenant } from '../../core/registry/records.js';
import { TENANT_ID_ATTRIBUTE, TIER_ATTRIBUTE } from '../../templates/index.js';
import { type HandlerOf, ignoreNotFound, loadScope, names, type TaskDeps } from './context.js';

/** The tenant's users in the platform user pool: its group and an admin user, managed through Cognito. */

interface UserState {
  readonly username: string;
  readonly enabled: boolean;
}

async function usersInGroup(deps: TaskDeps, tenant: Tenant): Promise<UserState[]> {
  const users: UserState[] = [];
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
    for (const u of out.Users ?? [])
      if (u.Username) users.push({ username: u.Username, enabled: u.Enabled !== false });
    token = out.NextToken;
  } while (token);
  return users;
}

/** The tenant claims every tenant user carries: `custom:tenantId` (immutable) and `custom:tier`. */
export function tenantClaimAttributes(tenant: Pick<Tenant, 'tenantId' | 'tier'>): AttributeType[] {
  return [
    { Name: TENANT_ID_ATTRIBUTE, Value: tenant.tenantId },
    { Name: TIER_ATTRIBUTE, Value: tenant.tier },
  ];
}

/**
 * Sets `custom:tier` on every user of the tenant (a tier change, or its undo); new tokens carry it
 * through the pre-token trigger. Users gone already are skipped.
 */
export async function setTierClaims(deps: TaskDeps, tenant: Tenant, tier: string): Promise<number> {
  const users = await tenantUsers(deps, tenant);
  for (const { username } of users)
    await deps.clients.cognito
      .send(
        new AdminUpdateUserAttributesCommand({
          UserPoolId: deps.platform().userPoolId,
          Username: username,
          UserAttributes: [{ Name: TIER_ATTRIBUTE, Value: tier }],
        }),
      )
      .catch(ignoreNotFound);
  return users.length;
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
            ...tenantClaimAttributes(tenant),
          ],
          DesiredDeliveryMediums: ['EMAIL'],
        }),
      )
      .catch(async (e) => {
        if ((e as Error).name !== 'UsernameExistsException') throw e;
        // A re-run, or a user from before tier claims: bring its tier claim up to date.
        await deps.clients.cognito.send(
          new AdminUpdateUserAttributesCommand({
            UserPoolId: userPoolId,
            Username: username,
            UserAttributes: [{ Name: TIER_ATTRIBUTE, Value: tenant.tier }],
          }),
        );
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

type Suspension = NonNullable<Tenant['access']['suspension']>;

/** The suspension record to write: the tenant's current one (or an empty one) with `change` applied. */
export function suspensionWith(tenant: Tenant, change: Partial<Suspension>): Tenant['access'] {
  const current: Suspension = tenant.access.suspension ?? {
    disabledUsers: [],
    apiKeyDisabled: false,
    roleBlocked: false,
  };
  return { ...tenant.access, suspension: { ...current, ...change } };
}

/** Every user of the tenant with their enabled flag: its group, plus the recorded admin user when outside it. */
export async function tenantUsers(deps: TaskDeps, tenant: Tenant): Promise<UserState[]> {
  const users = await usersInGroup(deps, tenant);
  const admin = tenant.access.adminUsername;
  if (admin && !users.some((u) => u.username === admin)) {
    const out = await deps.clients.cognito
      .send(new AdminGetUserCommand({ UserPoolId: deps.platform().userPoolId, Username: admin }))
      .catch(ignoreNotFound);
    if (out) users.push({ username: admin, enabled: out.Enabled !== false });
  }
  return users;
}

/**
 * SetUsersEnabled false (suspend): records the users that are enabled, then disables them and
 * signs every user out everywhere (AdminUserGlobalSignOut revokes refresh tokens, so no new ID or
 * access token is issued). The record is written first, so a crash between the two loses nothing.
 * SetUsersEnabled true (resume, or undoing a suspend): enables only the recorded users; a user the
 * tenant had disabled stays disabled. With no record at all (a suspension from before records
 * existed) it enables the whole group, as it used to.
 */
export const setUsersEnabled: HandlerOf<'SetUsersEnabled'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { operation } = scope;
  let { tenant } = scope;
  const userPoolId = deps.platform().userPoolId;
  // Gone already counts as done; the Cognito client's send has a per-command overload, hence the cast.
  const send = (command: unknown) =>
    (deps.clients.cognito.send as (c: unknown) => Promise<unknown>)(command).catch(ignoreNotFound);
  if (input.args.enabled !== true) {
    const users = await tenantUsers(deps, tenant);
    const recorded = new Set(tenant.access.suspension?.disabledUsers ?? []);
    const enabled = users.filter((u) => u.enabled).map((u) => u.username);
    const disabledUsers = [...new Set([...recorded, ...enabled])];
    if (!tenant.access.suspension || enabled.some((u) => !recorded.has(u)))
      tenant = await deps.registry.patchTenant(tenant, operation.operationId, {
        access: suspensionWith(tenant, { disabledUsers }),
      });
    for (const Username of enabled)
      await send(new AdminDisableUserCommand({ UserPoolId: userPoolId, Username }));
    for (const { username } of users)
      await send(new AdminUserGlobalSignOutCommand({ UserPoolId: userPoolId, Username: username }));
    return { users: users.length, disabled: enabled.length, signedOut: users.length, enabled: false };
  }
  const recorded = tenant.access.suspension?.disabledUsers;
  const toEnable = recorded ?? (await usersInGroup(deps, tenant)).map((u) => u.username);
  for (const Username of toEnable)
    await send(new AdminEnableUserCommand({ UserPoolId: userPoolId, Username }));
  if (recorded && recorded.length > 0)
    await deps.registry.patchTenant(tenant, operation.operationId, {
      access: suspensionWith(tenant, { disabledUsers: [] }),
    });
  return { users: toEnable.length, enabled: true };
};

/** Deletes the tenant's users and group; gone already counts as done. */
export async function deleteIdentityOf(deps: TaskDeps, tenant: Tenant): Promise<number> {
  const userPoolId = deps.platform().userPoolId;
  const users = (await usersInGroup(deps, tenant)).map((u) => u.username);
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

/**
 * SetAdminEmail: the recorded admin user's email (and email_verified, since ops set it) becomes the
 * one the update operation asks for (`requested`) or, undoing, the tenant's recorded one (`tenant`).
 * A tenant whose admin user is gone has nothing to change: the registry still records the new email.
 */
export const setAdminEmail: HandlerOf<'SetAdminEmail'> = async (input, deps) => {
  const { tenant, operation } = await loadScope(deps, input);
  const username = tenant.access.adminUsername;
  const email = input.args.email === 'requested' ? operation.input.adminEmail : tenant.adminEmail;
  if (!username || typeof email !== 'string') return { changed: false };
  const out = await deps.clients.cognito
    .send(
      new AdminUpdateUserAttributesCommand({
        UserPoolId: deps.platform().userPoolId,
        Username: username,
        UserAttributes: [
          { Name: 'email', Value: email },
          { Name: 'email_verified', Value: 'true' },
        ],
      }),
    )
    .catch(ignoreNotFound);
  return { changed: out !== undefined, username };
};

import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminListGroupsForUserCommand,
  AdminUserGlobalSignOutCommand,
  type CognitoIdentityProviderClient,
  CreateGroupCommand,
  ListUsersCommand,
  ListUsersInGroupCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { toControlPlaneError } from '../core/aws/errors.js';
import { ControlPlaneError } from '../core/errors.js';
import type { TenantState } from '../core/lifecycle.js';
import type { RegistryReader } from '../core/registry/queries.js';
import type { Tenant } from '../core/registry/records.js';
import type { RateLimiter } from './gates.js';
import { names } from './tasks/context.js';
import { tenantClaimAttributes } from './tasks/identity.js';

/**
 * A tenant's own users, managed by operators (`/v1/tenants/{id}/users`, `tenantctl users`): each
 * user is created in the tenant user pool with the tenant claims (`custom:tenantId`, `custom:tier`)
 * and put in the tenant's group, so every token and group check names its tenant. Not a workflow:
 * each call is one or two Cognito calls, and a failed add leaves nothing behind.
 */

/** One `@`, a local part and a domain with a dot, no spaces: what AdminCreateUser would take as deliverable. */
export const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

/** States in which a tenant's users may be added or disabled: a suspended tenant's users are the suspension's. */
const MANAGEABLE: readonly TenantState[] = ['ACTIVE', 'UPDATING'];

export interface TenantUser {
  readonly username: string;
  readonly email: string;
  readonly enabled: boolean;
  readonly status: string;
  readonly createdAt: string | undefined;
}

export interface TenantUsersOptions {
  readonly registry: RegistryReader;
  readonly cognito: CognitoIdentityProviderClient;
  /** The tenant user pool's id: the platform's, or found by name where the platform is not read. */
  readonly userPoolId: () => Promise<string>;
  /** Cognito's account-wide user-creation limit, shared with the workflows. */
  readonly limiter?: Pick<RateLimiter, 'run'>;
  /**
   * The user pool of a tenant's region (each region's platform has its own); absent, or for the
   * home region, `cognito` and `userPoolId`.
   */
  readonly inRegion?: (
    region: string,
  ) => Promise<{ readonly cognito: CognitoIdentityProviderClient; readonly userPoolId: string } | undefined>;
}

function attribute(user: UserType, name: string): string | undefined {
  return user.Attributes?.find((a) => a.Name === name)?.Value;
}

function toTenantUser(user: UserType): TenantUser {
  return {
    username: user.Username ?? '',
    email: attribute(user, 'email') ?? '',
    enabled: user.Enabled !== false,
    status: user.UserStatus ?? 'UNKNOWN',
    createdAt: user.UserCreateDate?.toISOString(),
  };
}

/** Normalizes an email (trimmed, lowercased) or throws INVALID_EMAIL saying what is accepted. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !EMAIL_PATTERN.test(email))
    throw new ControlPlaneError(
      'INVALID_EMAIL',
      `${JSON.stringify(raw)} is not a valid email address: expected one @, a local part and a domain with a dot, no spaces, at most 254 characters`,
      { details: { email: raw } },
    );
  return email;
}

export class TenantUsers {
  constructor(private readonly options: TenantUsersOptions) {}

  /** The tenant's user pool and the client of its region. */
  private async pool(
    tenant: Tenant,
  ): Promise<{ cognito: CognitoIdentityProviderClient; UserPoolId: string }> {
    const regional = tenant.region ? await this.options.inRegion?.(tenant.region) : undefined;
    if (regional) return { cognito: regional.cognito, UserPoolId: regional.userPoolId };
    return { cognito: this.options.cognito, UserPoolId: await this.options.userPoolId() };
  }

  private async manageable(idOrSlug: string): Promise<Tenant> {
    const tenant = await this.options.registry.requireTenant(idOrSlug);
    if (!MANAGEABLE.includes(tenant.state))
      throw new ControlPlaneError(
        'TENANT_NOT_ACTIVE',
        `tenant ${tenant.slug} is ${tenant.state}; its users can be managed while it is ${MANAGEABLE.join(' or ')}`,
        { details: { tenantId: tenant.tenantId, state: tenant.state } },
      );
    return tenant;
  }

  private async send<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw toControlPlaneError(e, `Cognito ${what}`);
    }
  }

  /**
   * Creates the user (username = the email) with the tenant claims, in the tenant's group. An email
   * any user of the pool has already is TENANT_USER_EXISTS, so one person never belongs to two tenants.
   */
  async add(idOrSlug: string, rawEmail: string): Promise<TenantUser> {
    const email = normalizeEmail(rawEmail);
    const tenant = await this.manageable(idOrSlug);
    const { cognito, UserPoolId } = await this.pool(tenant);
    const taken = await this.send('ListUsers', () =>
      cognito.send(new ListUsersCommand({ UserPoolId, Filter: `email = "${email}"`, Limit: 1 })),
    );
    const exists = () =>
      new ControlPlaneError('TENANT_USER_EXISTS', `a user with email ${email} exists already`, {
        details: { email },
      });
    if ((taken.Users ?? []).some((u) => attribute(u, 'email') === email)) throw exists();
    const create = () =>
      cognito.send(
        new AdminCreateUserCommand({
          UserPoolId,
          Username: email,
          UserAttributes: [
            { Name: 'email', Value: email },
            { Name: 'email_verified', Value: 'true' },
            ...tenantClaimAttributes(tenant),
          ],
          DesiredDeliveryMediums: ['EMAIL'],
        }),
      );
    const created = await (this.options.limiter ? this.options.limiter.run(create) : create()).catch(
      (e: unknown) => {
        if ((e as Error).name === 'UsernameExistsException') throw exists();
        throw toControlPlaneError(e, 'Cognito AdminCreateUser');
      },
    );
    const GroupName = names.group(tenant);
    try {
      await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: email, GroupName }));
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') {
        await cognito
          .send(new AdminDeleteUserCommand({ UserPoolId, Username: email }))
          .catch(() => undefined);
        throw toControlPlaneError(e, 'Cognito AdminAddUserToGroup');
      }
      // A tenant onboarded before its group existed: make the group, then add.
      await cognito
        .send(new CreateGroupCommand({ UserPoolId, GroupName, Description: `Tenant ${tenant.slug}` }))
        .catch((err: unknown) => {
          if ((err as Error).name !== 'GroupExistsException') throw err;
        });
      await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId, Username: email, GroupName }));
    }
    return toTenantUser(created.User ?? { Username: email, Attributes: [{ Name: 'email', Value: email }] });
  }

  /** The tenant's group members (any state but OFFBOARDED: a suspended tenant's users can be read). */
  async list(idOrSlug: string): Promise<TenantUser[]> {
    const tenant = await this.options.registry.requireTenant(idOrSlug);
    if (tenant.state === 'OFFBOARDED') return [];
    const { cognito, UserPoolId } = await this.pool(tenant);
    const users: TenantUser[] = [];
    let NextToken: string | undefined;
    do {
      const page = await cognito
        .send(new ListUsersInGroupCommand({ UserPoolId, GroupName: names.group(tenant), NextToken }))
        .catch((e: unknown) => {
          if ((e as Error).name === 'ResourceNotFoundException') return { Users: [], NextToken: undefined };
          throw toControlPlaneError(e, 'Cognito ListUsersInGroup');
        });
      users.push(...(page.Users ?? []).map(toTenantUser));
      NextToken = page.NextToken;
    } while (NextToken);
    return users.sort((a, b) => a.username.localeCompare(b.username));
  }

  /** Disables one of the tenant's users and signs it out everywhere; a user outside the group is not found. */
  async disable(idOrSlug: string, username: string): Promise<TenantUser> {
    const tenant = await this.manageable(idOrSlug);
    const { cognito, UserPoolId } = await this.pool(tenant);
    const notFound = () =>
      new ControlPlaneError('TENANT_USER_NOT_FOUND', `tenant ${tenant.slug} has no user ${username}`, {
        details: { tenantId: tenant.tenantId, username },
      });
    const groups = await cognito
      .send(new AdminListGroupsForUserCommand({ UserPoolId, Username: username }))
      .catch((e: unknown) => {
        if ((e as Error).name === 'UserNotFoundException') throw notFound();
        throw toControlPlaneError(e, 'Cognito AdminListGroupsForUser');
      });
    if (!(groups.Groups ?? []).some((g) => g.GroupName === names.group(tenant))) throw notFound();
    await this.send('AdminDisableUser', () =>
      cognito.send(new AdminDisableUserCommand({ UserPoolId, Username: username })),
    );
    await this.send('AdminUserGlobalSignOut', () =>
      cognito.send(new AdminUserGlobalSignOutCommand({ UserPoolId, Username: username })),
    );
    const user = (await this.list(tenant.tenantId)).find((u) => u.username === username);
    if (!user) throw notFound();
    return user;
  }
}

import type { CreateUsagePlanRequest } from '@aws-sdk/client-api-gateway';
import type {
  CreateUserPoolCommandInput,
  SetUserPoolMfaConfigCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import type { Tier } from '../tiers/catalog.js';
import { PLATFORM_TAG_VALUE } from './constants.js';

/**
 * The platform's resources that live outside the platform template (the tenant user pool, one
 * usage plan per tier), as SDK requests. `ensurePlatform` sends them locally (moto cannot model them
 * in CloudFormation); the control-plane CDK stack (control-plane/infra/constructs/tenant-access.ts)
 * declares the same resources from them on AWS, as it does the registry table from
 * `registryTableDefinition`. So both make one thing, and a test compares them.
 */

/** Who manages a resource the control plane made outside a tenant stack (the `ManagedBy` tag). */
export const MANAGED_BY = 'tenant-control-plane';

/** Tags of the platform's own resources: the cost-allocation keys say "platform", plus owner and prefix. */
export function platformTags(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TenantId: PLATFORM_TAG_VALUE,
    Tier: PLATFORM_TAG_VALUE,
    Isolation: PLATFORM_TAG_VALUE,
    ManagedBy: MANAGED_BY,
    ResourcePrefix: prefix,
    ...extra,
  };
}

/** `<prefix>-tenants`: the user pool of every tenant's users (a group per tenant). */
export const tenantUserPoolName = (prefix: string): string => `${prefix}-tenants`;

export interface UserPoolDefinition {
  /** CreateUserPool's request. */
  readonly create: CreateUserPoolCommandInput & { readonly PoolName: string };
  /** SetUserPoolMfaConfig's request without the pool id: TOTP can only be switched on once the pool exists. */
  readonly mfa: Omit<SetUserPoolMfaConfigCommandInput, 'UserPoolId'> & {
    readonly MfaConfiguration: 'OFF' | 'ON' | 'OPTIONAL';
  };
}

/**
 * The tenant user pool: admin-created users only (the onboarding workflow makes them, never self
 * sign-up), a 12-character password policy, an immutable `tenantId` attribute, TOTP MFA optional.
 */
export function tenantUserPoolDefinition(prefix: string): UserPoolDefinition {
  return {
    create: {
      PoolName: tenantUserPoolName(prefix),
      UserPoolTags: platformTags(prefix),
      DeletionProtection: 'ACTIVE',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 7,
        },
      },
      Schema: [
        {
          Name: 'tenantId',
          AttributeDataType: 'String',
          Mutable: false,
          StringAttributeConstraints: { MaxLength: '64' },
        },
      ],
    },
    mfa: { MfaConfiguration: 'OPTIONAL', SoftwareTokenMfaConfiguration: { Enabled: true } },
  };
}

/** `<prefix>-<tier>`: the usage plan of a tier's API keys. */
export const usagePlanName = (prefix: string, tier: Pick<Tier, 'name'>): string => `${prefix}-${tier.name}`;

/** A tier's usage plan: the tier's throttle and daily quota. */
export function usagePlanDefinition(
  prefix: string,
  tier: Pick<Tier, 'name' | 'isolation' | 'throttle'>,
): CreateUsagePlanRequest & { readonly name: string } {
  return {
    name: usagePlanName(prefix, tier),
    description: `Tier ${tier.name} (${tier.isolation})`,
    throttle: { rateLimit: tier.throttle.rateLimit, burstLimit: tier.throttle.burstLimit },
    quota: { limit: tier.throttle.dailyQuota, period: 'DAY' },
    tags: platformTags(prefix, { Tier: tier.name }),
  };
}

import type { CreateUsagePlanRequest } from '@aws-sdk/client-api-gateway';
import type {
  CreateUserPoolCommandInput,
  SetUserPoolMfaConfigCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import type { CreatePolicyCommandInput } from '@aws-sdk/client-iam';
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

/** The user attributes every tenant user carries (Cognito prefixes custom attributes with `custom:`). */
export const TENANT_ID_ATTRIBUTE = 'custom:tenantId';
export const TIER_ATTRIBUTE = 'custom:tier';

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
 * sign-up), a 12-character password policy, an immutable `tenantId` and a mutable `tier` attribute,
 * TOTP MFA optional.
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
        // Kept current on tier change (MoveApiKey), so new tokens carry the tier the tenant is on.
        {
          Name: 'tier',
          AttributeDataType: 'String',
          Mutable: true,
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

/**
 * `<prefix>-tenant-suspended`: the deny-all managed policy suspension attaches to a tenant role
 * and resume detaches. An explicit Deny overrides every Allow, so it stops every session of the
 * role at once, credentials vended before the suspension included.
 */
export function suspensionPolicyDefinition(
  prefix: string,
): CreatePolicyCommandInput & { readonly PolicyName: string; readonly PolicyDocument: string } {
  return {
    PolicyName: `${prefix}-tenant-suspended`,
    Description: 'Attached to a suspended tenant role: denies every action',
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'TenantSuspended', Effect: 'Deny', Action: '*', Resource: '*' }],
    }),
    Tags: Object.entries(platformTags(prefix)).map(([Key, Value]) => ({ Key, Value })),
  };
}

/** The stage of the platform's tenant API every tier's usage plan is attached to. */
export const TENANT_API_STAGE = 'v1';

/**
 * The platform template's acknowledged cdk-nag findings. Exported because the deployed platform
 * stack includes the synthesized template (CfnInclude), whose resources carry no construct
 * metadata: control-plane/infra/platform-stack.ts acknowledges the same findings there.
 */
export function platformAcknowledgements(bucketLogicalId: string): { id: string; reason: string }[] {
  const api =
    "The tenant API is the throttling front door (every tier's usage plan is attached to its stage): it serves one mock route that requires an API key; applications add their own routes, authorizers, access logs and WAF to it.";
  return [
    {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${bucketLogicalId}>/tenants/<aws:PrincipalTag/TenantId>/*]`,
      reason:
        "Object keys are per object; the wildcard sits after the session's own prefix tenants/<its TenantId tag>/, and a session without the tag gets nothing.",
    },
    ...[
      'AwsSolutions-APIG1',
      'AwsSolutions-APIG2',
      'AwsSolutions-APIG3',
      'AwsSolutions-APIG4',
      'AwsSolutions-APIG6',
      'AwsSolutions-COG4',
    ].map((id) => ({ id, reason: api })),
  ];
}

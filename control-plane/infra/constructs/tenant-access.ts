import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import {
  suspensionPolicyDefinition,
  TENANT_API_STAGE,
  tenantUserPoolDefinition,
  type UserPoolDefinition,
  usagePlanDefinition,
} from '../../../templates/index.js';
import type { TierCatalog } from '../../../tiers/catalog.js';
import { controlPlaneFunction } from '../functions.js';
import { deploymentRegions, inEachRegion, TenantStackRole, tenantStacksArn } from '../iam.js';
import type { FunctionBundling } from '../settings.js';
import { ResourceGroup } from './resource-group.js';

export interface TenantAccessProps {
  /** The resource prefix: tenant stacks are `<prefix>-<slug>-<isolation>`, the pool `<prefix>-tenants`. */
  readonly prefix: string;
  /** One usage plan per tier of this catalog. */
  readonly catalog: TierCatalog;
  /** Stacks the workflows must never create, change or delete (the platform and control-plane stacks). */
  readonly protectedStackNames: readonly string[];
  /** The lifecycle event bus the workflows publish to. */
  readonly eventBusArn: string;
  /** The role Organizations creates in a vended account, assumed for dedicated-account tenants. */
  readonly accountRoleName: string;
  /** The platform's tenant REST API (platform output TenantApiId): every usage plan is attached to its stage. */
  readonly tenantApiId: string;
  /**
   * Regions besides the stack's own where tenants live, each with its platform, user pool and
   * usage plans (declared in that region's platform stack: platform-stack.ts). @default none
   */
  readonly otherRegions?: readonly string[];
}

/** CfnUserPool properties from the SDK definition ensurePlatform sends (templates/platform-spec.ts). */
export function cfnUserPoolProps(definition: UserPoolDefinition): cognito.CfnUserPoolProps {
  const { create, mfa } = definition;
  const password = create.Policies?.PasswordPolicy;
  return {
    userPoolName: create.PoolName,
    userPoolTags: create.UserPoolTags,
    deletionProtection: create.DeletionProtection,
    adminCreateUserConfig: {
      allowAdminCreateUserOnly: create.AdminCreateUserConfig?.AllowAdminCreateUserOnly,
    },
    policies: {
      passwordPolicy: {
        minimumLength: password?.MinimumLength,
        requireLowercase: password?.RequireLowercase,
        requireUppercase: password?.RequireUppercase,
        requireNumbers: password?.RequireNumbers,
        requireSymbols: password?.RequireSymbols,
        temporaryPasswordValidityDays: password?.TemporaryPasswordValidityDays,
      },
    },
    schema: create.Schema?.map((a) => ({
      name: a.Name,
      attributeDataType: a.AttributeDataType,
      mutable: a.Mutable,
      ...(a.StringAttributeConstraints
        ? { stringAttributeConstraints: { maxLength: a.StringAttributeConstraints.MaxLength } }
        : {}),
    })),
    mfaConfiguration: mfa.MfaConfiguration,
    enabledMfas: mfa.SoftwareTokenMfaConfiguration?.Enabled ? ['SOFTWARE_TOKEN_MFA'] : [],
  };
}

/** The tenants' user pool `<prefix>-tenants`, retained, as ensurePlatform creates it locally. */
export function declareTenantUserPool(scope: Construct, prefix: string): cognito.CfnUserPool {
  const userPool = new cognito.CfnUserPool(
    scope,
    'TenantUserPool',
    cfnUserPoolProps(tenantUserPoolDefinition(prefix)),
  );
  userPool.applyRemovalPolicy(RemovalPolicy.RETAIN);
  Validations.of(userPool).acknowledge(
    {
      id: 'AwsSolutions-COG2',
      reason:
        "Tenants' end users: MFA is optional (TOTP) as in local mode, because requiring it is each tenant's product decision; operators, who administer tenants, have MFA required.",
    },
    ...['AwsSolutions-COG3', 'AwsSolutions-COG8'].map((rule) => ({
      id: rule,
      reason:
        "Tenants' end users are created by the onboarding workflow only (no self sign-up); threat protection (Plus plan) is priced per active user and is the application's choice, as in local mode.",
    })),
  );
  return userPool;
}

/** One usage plan per tier (`<prefix>-<tier>`), attached to the stage of the region's tenant API. */
export function declareUsagePlans(
  scope: Construct,
  prefix: string,
  catalog: TierCatalog,
  tenantApiId: string,
): Record<string, apigateway.CfnUsagePlan> {
  return Object.fromEntries(
    catalog.tiers.map((tier) => {
      const plan = usagePlanDefinition(prefix, tier);
      return [
        tier.name,
        new apigateway.CfnUsagePlan(scope, `UsagePlan-${tier.name}`, {
          usagePlanName: plan.name,
          description: plan.description,
          throttle: plan.throttle,
          quota: plan.quota,
          // Throttling is enforced on the stage a plan is attached to: the platform's tenant API.
          apiStages: [{ apiId: tenantApiId, stage: TENANT_API_STAGE }],
          tags: Object.entries(plan.tags ?? {}).map(([key, value]) => ({ key, value })),
        }),
      ];
    }),
  );
}

/**
 * The pre-token-generation trigger (control-plane/pre-token-lambda.ts): tenantId, tier and
 * isolation in ID and access tokens. Trigger version V2_0 customizes access tokens too, which
 * needs the Essentials feature plan.
 */
export function declarePreTokenTrigger(
  scope: Construct,
  userPool: cognito.CfnUserPool,
  prefix: string,
  bundling: FunctionBundling,
  catalog: TierCatalog,
): lambda.Function {
  const role = new iam.Role(scope, 'PreTokenRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Pre-token-generation trigger of the ${prefix} tenant user pool`,
  });
  const fn = controlPlaneFunction(scope, 'PreTokenFunction', {
    entry: 'control-plane/pre-token-lambda.ts',
    bundling,
    description: `${prefix} tenant user pool: tenant claims in tokens`,
    role,
    logGroup: new logs.LogGroup(scope, 'PreTokenLogs', { retention: logs.RetentionDays.SIX_MONTHS }),
    timeout: Duration.seconds(5),
    memorySize: 256,
    environment: {
      TIER_ISOLATION: JSON.stringify(Object.fromEntries(catalog.tiers.map((t) => [t.name, t.isolation]))),
    },
  });
  fn.addPermission('CognitoInvokes', {
    principal: new iam.ServicePrincipal('cognito-idp.amazonaws.com'),
    sourceArn: userPool.attrArn,
  });
  userPool.userPoolTier = 'ESSENTIALS';
  userPool.lambdaConfig = {
    preTokenGenerationConfig: { lambdaArn: fn.functionArn, lambdaVersion: 'V2_0' },
  };
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing (PutTraceSegments, PutTelemetryRecords), added by the function construct: no resource-level permissions.',
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is the newest runtime the control plane supports and tests (node 20 and 22, package.json engines).',
  });
  return fn;
}

/**
 * What tenants are given outside their stacks and what the workflows need to give it: the tenant
 * user pool and one usage plan per tier, declared from the same definitions ensurePlatform sends
 * locally (readPlatform finds both by name), and the CloudFormation role tenant stacks are created
 * with, under the tenant permissions boundary. `grantTenantLifecycle` gives the task function the
 * rest of the lifecycle: tenant stacks, users, API keys, databases, events, dedicated accounts.
 */
export class TenantAccess extends ResourceGroup {
  /** `<prefix>-tenants`, retained with the stack. */
  readonly userPool: cognito.CfnUserPool;
  /** `<prefix>-<tier>` by tier name. */
  readonly usagePlans: Readonly<Record<string, apigateway.CfnUsagePlan>>;
  /** CloudFormation's role for tenant stacks and the boundary of every role they create. */
  readonly stackRole: TenantStackRole;
  /** `<prefix>-tenant-suspended`: the deny-all policy suspension attaches to tenant roles. */
  readonly suspensionPolicy: iam.CfnManagedPolicy;
  private readonly props: TenantAccessProps;

  constructor(scope: Construct, id: string, props: TenantAccessProps) {
    super(scope, id);
    this.props = props;
    const { prefix } = props;
    this.userPool = declareTenantUserPool(this, prefix);
    this.usagePlans = declareUsagePlans(this, prefix, props.catalog, props.tenantApiId);
    this.stackRole = new TenantStackRole(this, 'TenantStacks', {
      prefix,
      otherRegions: props.otherRegions ?? [],
    });
    const suspension = suspensionPolicyDefinition(prefix);
    // Found by name (readPlatform), like the user pool: the same definition ensurePlatform sends locally.
    this.suspensionPolicy = new iam.CfnManagedPolicy(this, 'TenantSuspendedPolicy', {
      managedPolicyName: suspension.PolicyName,
      description: suspension.Description,
      policyDocument: JSON.parse(suspension.PolicyDocument),
    });
  }

  /**
   * The pre-token-generation trigger (control-plane/pre-token-lambda.ts): tenantId, tier and
   * isolation in ID and access tokens. Trigger version V2_0 customizes access tokens too, which
   * needs the Essentials feature plan.
   */
  addPreTokenTrigger(bundling: FunctionBundling, catalog: TierCatalog): lambda.Function {
    return declarePreTokenTrigger(this, this.userPool, this.props.prefix, bundling, catalog);
  }

  /**
   * What the API does for the access kit: a tenant's users (/v1/tenants/{id}/users) and credential
   * vending (/credentials: AssumeRole with session tags on tenant roles, named after their stacks).
   */
  grantTenantAccessApi(role: iam.Role): void {
    const others = this.props.otherRegions ?? [];
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TenantUsers',
        actions: [
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminAddUserToGroup',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:AdminDisableUser',
          'cognito-idp:AdminUserGlobalSignOut',
          'cognito-idp:AdminListGroupsForUser',
          'cognito-idp:CreateGroup',
          'cognito-idp:ListUsers',
          'cognito-idp:ListUsersInGroup',
        ],
        resources: this.userPools(),
      }),
    );
    // Another region's user pool is read off its platform (readPlatform): the stack, the pool and
    // the usage plans by name, the suspension policy by name.
    if (others.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadRegionalPlatforms',
          actions: ['cloudformation:DescribeStacks'],
          resources: others.map((r) => tenantStacksArn(this.props.prefix, r)),
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'FindRegionalUsagePlans',
          actions: ['apigateway:GET'],
          resources: others.map((r) => `arn:${Aws.PARTITION}:apigateway:${r}::/usageplans`),
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'FindSuspensionPolicy',
          actions: ['iam:ListPolicies'],
          resources: ['*'],
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'FindTenantUserPool',
        actions: ['cognito-idp:ListUserPools'],
        resources: ['*'],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'VendTenantCredentials',
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${this.props.prefix}-*`],
      }),
    );
    // Dedicated-account tenants' roles live in their own accounts, whose trust names this account
    // for sessions tagged with that tenant's TenantId (templates/stacks/tenant-role.ts).
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'VendDedicatedTenantCredentials',
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: [`arn:${Aws.PARTITION}:iam::*:role/${this.props.prefix}-*`],
        conditions: { StringLike: { 'aws:RequestTag/TenantId': 't_*' } },
      }),
    );
    Validations.of(role).acknowledge(
      ...this.otherUserPoolAcks(),
      ...others.map((r) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:${r}:<AWS::AccountId>:stack/${this.props.prefix}-*/*]`,
        reason: `DescribeStacks only (read): the API reads the platform of ${r} (<prefix>-platform, outputs) to reach a tenant there, as the task function does.`,
      })),
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${this.props.prefix}-*]`,
        reason:
          'Tenant roles are named by CloudFormation after their stack (<prefix>-<slug>-<isolation>-…); credential vending assumes them with session tags TenantId and Tier.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${this.props.prefix}-*]`,
        reason:
          "Dedicated-account tenants' roles, named after their stacks, in accounts vended at onboarding (ids unknown at deploy time); each role's trust admits this account only for a session tagged with its own TenantId, and this statement only with a TenantId tag.",
      },
    );
  }

  /** Everything the workflows do to tenants, least privilege (docs/deploy.md, "IAM boundaries"). */
  grantTenantLifecycle(role: iam.Role): void {
    const { prefix, accountRoleName } = this.props;
    const others = this.props.otherRegions ?? [];
    const regions = deploymentRegions(others);
    const execRoleArn = this.stackRole.role.roleArn;
    const stacks = regions.map((r) => tenantStacksArn(prefix, r));
    // Every region has a `<prefix>-platform`; a control-plane stack of that name is denied everywhere.
    const ownStacks = regions.flatMap((r) =>
      this.props.protectedStackNames.map(
        (name) => `arn:${Aws.PARTITION}:cloudformation:${r}:${Aws.ACCOUNT_ID}:stack/${name}/*`,
      ),
    );
    const apigw = (path: string) => regions.map((r) => `arn:${Aws.PARTITION}:apigateway:${r}::${path}`);
    const rds = (resource: string) =>
      regions.map((r) => `arn:${Aws.PARTITION}:rds:${r}:${Aws.ACCOUNT_ID}:${resource}`);
    const plans = Object.values(this.usagePlans).map((p) => p.ref);
    // Another region's usage plans are in its platform stack: their ids are not known here.
    const planKeys = (suffix: string) => [
      ...plans.map((id) => `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/usageplans/${id}/keys${suffix}`),
      ...others.map((r) => `arn:${Aws.PARTITION}:apigateway:${r}::/usageplans/*/keys${suffix}`),
    ];
    const statements = [
      new iam.PolicyStatement({
        sid: 'TenantStacks',
        actions: [
          'cloudformation:DescribeStacks',
          'cloudformation:DescribeStackEvents',
          'cloudformation:DeleteStack',
          'cloudformation:UpdateTerminationProtection',
          // CreateStack/UpdateStack carry the cost-allocation tags (TenantId, Tier, …).
          'cloudformation:TagResource',
        ],
        resources: stacks,
      }),
      new iam.PolicyStatement({
        sid: 'TenantStacksWithExecutionRole',
        actions: ['cloudformation:CreateStack', 'cloudformation:UpdateStack'],
        resources: stacks,
        conditions: { StringEquals: { 'cloudformation:RoleArn': execRoleArn } },
      }),
      new iam.PolicyStatement({
        sid: 'NotTheControlPlaneStacks',
        effect: iam.Effect.DENY,
        actions: [
          'cloudformation:CreateStack',
          'cloudformation:UpdateStack',
          'cloudformation:DeleteStack',
          'cloudformation:UpdateTerminationProtection',
        ],
        resources: ownStacks,
      }),
      new iam.PolicyStatement({
        sid: 'PassTenantStackRole',
        actions: ['iam:PassRole'],
        resources: [execRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      }),
      new iam.PolicyStatement({
        sid: 'TenantUserPool',
        actions: [
          'cognito-idp:CreateGroup',
          'cognito-idp:DeleteGroup',
          'cognito-idp:AdminCreateUser',
          'cognito-idp:AdminAddUserToGroup',
          'cognito-idp:AdminDisableUser',
          'cognito-idp:AdminEnableUser',
          'cognito-idp:AdminDeleteUser',
          'cognito-idp:ListUsersInGroup',
          // Suspension: sign every user out; read the admin user outside the group; tier claims.
          'cognito-idp:AdminUserGlobalSignOut',
          'cognito-idp:AdminGetUser',
          'cognito-idp:AdminUpdateUserAttributes',
          'cognito-idp:AdminListGroupsForUser',
          'cognito-idp:ListUsers',
        ],
        resources: this.userPools(),
      }),
      new iam.PolicyStatement({
        sid: 'FindTenantUserPool',
        actions: ['cognito-idp:ListUserPools'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'FindSuspensionPolicy',
        actions: ['iam:ListPolicies'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'TenantApiKeys',
        actions: ['apigateway:GET', 'apigateway:POST'],
        resources: apigw('/apikeys'),
      }),
      new iam.PolicyStatement({
        sid: 'TenantApiKey',
        // GET: the reconciler reads a tenant's key by id (docs/reconcile.md).
        actions: ['apigateway:GET', 'apigateway:PATCH', 'apigateway:DELETE'],
        resources: apigw('/apikeys/*'),
      }),
      new iam.PolicyStatement({
        // The orphan search lists every stack; drift-detection status has no resource-level form.
        sid: 'ReconcileAccountReads',
        actions: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackDriftDetectionStatus'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReconcileTenantStackDrift',
        actions: ['cloudformation:DetectStackDrift', 'cloudformation:DescribeStackResourceDrifts'],
        resources: stacks,
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['apigateway:POST'],
        resources: apigw('/tags/*'),
      }),
      new iam.PolicyStatement({
        sid: 'FindUsagePlans',
        actions: ['apigateway:GET'],
        resources: apigw('/usageplans'),
      }),
      new iam.PolicyStatement({
        sid: 'UsagePlanKeys',
        actions: ['apigateway:GET', 'apigateway:POST'],
        resources: planKeys(''),
      }),
      new iam.PolicyStatement({
        sid: 'UsagePlanKey',
        actions: ['apigateway:DELETE'],
        resources: planKeys('/*'),
      }),
      // Attach and detach the platform's deny-all policy, and no other: never PutRolePolicy,
      // which could write an Allow onto a tenant role.
      new iam.PolicyStatement({
        sid: 'TenantRoleSuspension',
        actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
        resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${prefix}-*`],
        conditions: { ArnEquals: { 'iam:PolicyARN': this.suspensionPolicy.ref } },
      }),
      new iam.PolicyStatement({
        sid: 'LifecycleEvents',
        actions: ['events:PutEvents'],
        resources: [this.props.eventBusArn],
      }),
      new iam.PolicyStatement({
        sid: 'TenantDatabasesRead',
        actions: ['rds:DescribeDBInstances'],
        resources: rds('db:*'),
      }),
      new iam.PolicyStatement({
        sid: 'TenantDatabases',
        actions: ['rds:StartDBInstance', 'rds:StopDBInstance', 'rds:CreateDBSnapshot'],
        resources: rds('db:*'),
        conditions: { Null: { 'aws:ResourceTag/TenantId': 'false' } },
      }),
      new iam.PolicyStatement({
        sid: 'TenantDatabaseSnapshots',
        actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
        resources: rds(`snapshot:${prefix}-*`),
      }),
      new iam.PolicyStatement({
        sid: 'DedicatedAccounts',
        actions: [
          'organizations:CreateAccount',
          'organizations:DescribeCreateAccountStatus',
          'organizations:DescribeAccount',
          'organizations:MoveAccount',
          'organizations:CloseAccount',
          'organizations:ListRoots',
          'organizations:ListAccounts',
          'organizations:ListParents',
          'organizations:ListOrganizationalUnitsForParent',
          'organizations:CreateOrganizationalUnit',
          'organizations:TagResource',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'DedicatedAccountAccess',
        actions: ['sts:AssumeRole'],
        resources: [`arn:${Aws.PARTITION}:iam::*:role/${accountRoleName}`],
      }),
      // Offboarding's ReleaseDomain: the tenant's custom-domain certificate, tagged with its TenantId.
      new iam.PolicyStatement({
        sid: 'TenantCertificateRelease',
        actions: ['acm:DescribeCertificate', 'acm:DeleteCertificate'],
        resources: regions.map((r) => `arn:${Aws.PARTITION}:acm:${r}:${Aws.ACCOUNT_ID}:certificate/*`),
        conditions: { StringLike: { 'aws:ResourceTag/TenantId': 't_*' } },
      }),
    ];
    for (const s of statements) role.addToPolicy(s);

    const stack = Stack.of(this);
    Validations.of(role).acknowledge(
      ...this.otherUserPoolAcks(),
      ...others.flatMap((r) =>
        ['', '/*'].map((suffix) => ({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:${r}::/usageplans/*/keys${suffix}]`,
          reason: `The usage plans of ${r} are declared in its platform stack, whose ids this stack cannot import across regions; the statement is limited to usage-plan keys of that region.`,
        })),
      ),
      ...inEachRegion(
        [
          {
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'Organizations account vending (CreateAccount, DescribeCreateAccountStatus, MoveAccount, CloseAccount, CreateOrganizationalUnit, the List calls, TagResource) acts on accounts and OUs that do not exist before the call and whose ids are not known at deploy time; cognito-idp:ListUserPools, iam:ListPolicies (finding the suspension policy by name), the read-only CloudFormation DescribeStacks of the reconciler (listing every stack, for orphans) and DescribeStackDriftDetectionStatus, and X-Ray tracing have no resource-level permissions. Dedicated-account tenants need the former; nothing here reaches tenant data.',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${prefix}-*/*]`,
            reason:
              "Tenant stacks are named <prefix>-<slug>-<isolation>; creating or updating one requires RoleARN = the tenant-stack execution role, and the control plane's own stacks are denied explicitly.",
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:<AWS::Region>:<AWS::AccountId>:certificate/*]',
            reason:
              "Tenants' custom-domain certificates get ids from ACM at request time; offboarding reads and deletes only certificates tagged with a TenantId.",
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${prefix}-*]`,
            reason:
              'Tenant roles are named by CloudFormation after their stack (<prefix>-<slug>-<isolation>-…); suspension attaches and removes its one deny policy (tenant-suspended) on them.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apikeys/*]',
            reason:
              'Tenant API keys have generated ids; the statement covers updating (disable/enable) and deleting them.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/tags/*]',
            reason:
              'API Gateway authorizes tags given at creation (TenantId, Tier on tenant API keys) on the /tags path.',
          },
          ...Object.entries(this.usagePlans).map(([tier, plan]) => ({
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/<${stack.resolve(plan.logicalId)}>/keys/*]`,
            reason: `Removing a tenant's key from the ${tier} usage plan: key ids are generated.`,
          })),
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:db:*]',
            reason:
              'Tenant database identifiers are generated by CloudFormation; starting, stopping and snapshotting are limited to instances tagged with a TenantId.',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:snapshot:${prefix}-*]`,
            reason: 'Final snapshots are named after the tenant stack and operation: the tenant prefix.',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${accountRoleName}]`,
            reason:
              'Dedicated-account tenants: the vended accounts are created at run time, so their ids are unknown at deploy time; only the role Organizations creates in each (accountRoleName) may be assumed.',
          },
        ],
        others,
      ),
    );
  }

  /** The tenant user pool of every region: this stack's, then each other region's (any id there). */
  private userPools(): string[] {
    return [
      this.userPool.attrArn,
      ...(this.props.otherRegions ?? []).map(
        (r) => `arn:${Aws.PARTITION}:cognito-idp:${r}:${Aws.ACCOUNT_ID}:userpool/*`,
      ),
    ];
  }

  private otherUserPoolAcks(): { id: string; reason: string }[] {
    return (this.props.otherRegions ?? []).map((r) => ({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cognito-idp:${r}:<AWS::AccountId>:userpool/*]`,
      reason: `The tenant user pool of ${r} is declared in that region's platform stack; CloudFormation cannot import its id across regions, so the statement names that region's user pools (the control plane declares one there, <prefix>-tenants).`,
    }));
  }
}

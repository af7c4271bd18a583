import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ITEM_ACTIONS, TENANT_QUEUE_DATA_ACTIONS } from '../../templates/index.js';

/**
 * The IAM boundaries of the deployed control plane (docs/deploy.md, "IAM boundaries").
 *
 * The task function never creates tenant infrastructure with its own permissions: it calls
 * CloudFormation with RoleARN = the tenant-stack execution role below, which may only create the
 * resource types tenant templates contain. Every role a tenant stack creates must carry the tenant
 * permissions boundary, so no template can mint a role stronger than tenant data access.
 */

const arn = (service: string, resource: string, region: string = Aws.REGION): string =>
  `arn:${Aws.PARTITION}:${service}:${region}:${Aws.ACCOUNT_ID}:${resource}`;

/** `arn:<partition>:cloudformation:<region>:<account>:stack/<prefix>-*` + `/*`: the tenant stacks. */
export const tenantStacksArn = (prefix: string, region: string = Aws.REGION): string =>
  arn('cloudformation', `stack/${prefix}-*/*`, region);

/**
 * The regions a deployment builds tenants in: its own (`AWS::Region`, so a one-region template
 * stays environment-agnostic) first, then every other allowed region by name (settings.ts).
 */
export const deploymentRegions = (otherRegions: readonly string[] = []): string[] => [
  Aws.REGION,
  ...otherRegions,
];

/** A regional ARN in each of `regions`. */
export const arnsIn = (regions: readonly string[], service: string, resource: string): string[] =>
  regions.map((r) => arn(service, resource, r));

/**
 * cdk-nag acknowledgements of home-region findings (`<AWS::Region>` in the id), repeated for each
 * other region, whose ARNs name the region: the same finding, for the same reason, there.
 */
export function inEachRegion<T extends { id: string; reason: string }>(
  acks: readonly T[],
  otherRegions: readonly string[],
): T[] {
  return acks.flatMap((ack) =>
    ack.id.includes('<AWS::Region>')
      ? [ack, ...otherRegions.map((r) => ({ ...ack, id: ack.id.replaceAll('<AWS::Region>', r) }))]
      : [ack],
  );
}
/** Roles created by tenant stacks: CloudFormation names them `<stack name>-<logical id>-<suffix>`. */
export const tenantRolesArn = (prefix: string): string => arn('iam', `role/${prefix}-*`, '');

/** Actions the execution role needs per resource type of the tenant templates (pool, bridge, silo). */
export const TENANT_STACK_ACTIONS = {
  /** Silo VPC (isolated subnets, route tables), bridge and silo security groups, flow logs. */
  network: [
    'ec2:CreateVpc',
    'ec2:DeleteVpc',
    'ec2:ModifyVpcAttribute',
    'ec2:CreateSubnet',
    'ec2:DeleteSubnet',
    'ec2:ModifySubnetAttribute',
    'ec2:CreateRouteTable',
    'ec2:DeleteRouteTable',
    'ec2:AssociateRouteTable',
    'ec2:DisassociateRouteTable',
    'ec2:CreateSecurityGroup',
    'ec2:DeleteSecurityGroup',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:AuthorizeSecurityGroupEgress',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:UpdateSecurityGroupRuleDescriptionsIngress',
    'ec2:UpdateSecurityGroupRuleDescriptionsEgress',
    'ec2:CreateFlowLogs',
    'ec2:DeleteFlowLogs',
    'ec2:CreateTags',
    'ec2:DeleteTags',
  ],
  /** Silo PrivateLink endpoint service. */
  endpointService: [
    'ec2:CreateVpcEndpointServiceConfiguration',
    'ec2:DeleteVpcEndpointServiceConfigurations',
    'ec2:ModifyVpcEndpointServiceConfiguration',
    'ec2:ModifyVpcEndpointServicePermissions',
  ],
  /** EC2 reads have no resource-level permissions. */
  networkRead: [
    'ec2:DescribeVpcs',
    'ec2:DescribeVpcAttribute',
    'ec2:DescribeSubnets',
    'ec2:DescribeRouteTables',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSecurityGroupRules',
    'ec2:DescribeFlowLogs',
    'ec2:DescribeVpcEndpointServiceConfigurations',
    'ec2:DescribeVpcEndpointServicePermissions',
    'ec2:DescribeAvailabilityZones',
    'ec2:DescribeAccountAttributes',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeTags',
  ],
  /** Silo internal NLB, its listener and target group. */
  loadBalancing: [
    'elasticloadbalancing:CreateLoadBalancer',
    'elasticloadbalancing:DeleteLoadBalancer',
    'elasticloadbalancing:ModifyLoadBalancerAttributes',
    'elasticloadbalancing:CreateTargetGroup',
    'elasticloadbalancing:DeleteTargetGroup',
    'elasticloadbalancing:ModifyTargetGroup',
    'elasticloadbalancing:ModifyTargetGroupAttributes',
    'elasticloadbalancing:CreateListener',
    'elasticloadbalancing:DeleteListener',
    'elasticloadbalancing:ModifyListener',
    'elasticloadbalancing:AddTags',
    'elasticloadbalancing:RemoveTags',
  ],
  loadBalancingRead: [
    'elasticloadbalancing:DescribeLoadBalancers',
    'elasticloadbalancing:DescribeLoadBalancerAttributes',
    'elasticloadbalancing:DescribeTargetGroups',
    'elasticloadbalancing:DescribeTargetGroupAttributes',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeListenerAttributes',
    'elasticloadbalancing:DescribeTags',
  ],
  /** Bridge and silo PostgreSQL instances, their subnet groups and final snapshots. */
  database: [
    'rds:CreateDBInstance',
    'rds:DeleteDBInstance',
    'rds:ModifyDBInstance',
    'rds:CreateDBSubnetGroup',
    'rds:DeleteDBSubnetGroup',
    'rds:ModifyDBSubnetGroup',
    'rds:CreateDBSnapshot',
    'rds:AddTagsToResource',
    'rds:RemoveTagsFromResource',
    'rds:ListTagsForResource',
    'rds:DescribeDBInstances',
    'rds:DescribeDBSubnetGroups',
    'rds:DescribeDBSnapshots',
  ],
  databaseRead: ['rds:DescribeDBEngineVersions', 'rds:DescribeOrderableDBInstanceOptions'],
  /** The tenant's KMS key: created, never deleted (the stacks retain it for the final snapshot). */
  keyCreate: ['kms:CreateKey'],
  key: [
    'kms:DescribeKey',
    'kms:EnableKeyRotation',
    'kms:GetKeyRotationStatus',
    'kms:PutKeyPolicy',
    'kms:GetKeyPolicy',
    'kms:UpdateKeyDescription',
    'kms:TagResource',
    'kms:UntagResource',
    'kms:ListResourceTags',
    // RDS storage encryption and the generated master secret use the key on the creator's behalf.
    'kms:CreateGrant',
    'kms:Decrypt',
    'kms:Encrypt',
    'kms:GenerateDataKey',
  ],
  /** The database master secret, its generated password and its attachment to the instance. */
  secret: [
    'secretsmanager:CreateSecret',
    'secretsmanager:DeleteSecret',
    'secretsmanager:DescribeSecret',
    'secretsmanager:UpdateSecret',
    'secretsmanager:PutSecretValue',
    // CloudFormation resolves {{resolve:secretsmanager:…}} for the instance's master password.
    'secretsmanager:GetSecretValue',
    'secretsmanager:TagResource',
    'secretsmanager:UntagResource',
  ],
  secretPassword: ['secretsmanager:GetRandomPassword'],
  /** Silo flow-log group (named after the stack). */
  logs: [
    'logs:CreateLogGroup',
    'logs:DeleteLogGroup',
    'logs:PutRetentionPolicy',
    'logs:DeleteRetentionPolicy',
    'logs:TagResource',
    'logs:UntagResource',
    'logs:TagLogGroup',
    'logs:UntagLogGroup',
    'logs:ListTagsForResource',
    'logs:ListTagsLogGroup',
  ],
  logsRead: ['logs:DescribeLogGroups'],
  /** Noisy-neighbour controls: the tenant queue, its dead-letter queue and the queue policy. */
  queue: [
    'sqs:CreateQueue',
    'sqs:DeleteQueue',
    'sqs:GetQueueAttributes',
    'sqs:SetQueueAttributes',
    'sqs:GetQueueUrl',
    'sqs:TagQueue',
    'sqs:UntagQueue',
    'sqs:ListQueueTags',
  ],
  /** Noisy-neighbour controls: the tenant worker function and its reserved concurrency. */
  worker: [
    'lambda:CreateFunction',
    'lambda:DeleteFunction',
    'lambda:GetFunction',
    'lambda:GetFunctionConfiguration',
    'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration',
    'lambda:PutFunctionConcurrency',
    'lambda:DeleteFunctionConcurrency',
    'lambda:GetFunctionConcurrency',
    'lambda:TagResource',
    'lambda:UntagResource',
    'lambda:ListTags',
  ],
  /** Tenant roles and the silo flow-log role; creating or extending one needs the tenant boundary. */
  roleWithBoundary: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy'],
  role: [
    'iam:DeleteRole',
    'iam:GetRole',
    'iam:UpdateRole',
    'iam:UpdateRoleDescription',
    'iam:UpdateAssumeRolePolicy',
    'iam:TagRole',
    'iam:UntagRole',
    'iam:ListRoleTags',
    'iam:GetRolePolicy',
    'iam:ListRolePolicies',
    'iam:ListAttachedRolePolicies',
  ],
} as const;

/** Isolation models whose stacks have their own table, bucket and key (TenantDataStores). */
const TENANT_STORE_ISOLATIONS = ['bridge', 'silo'] as const;

/** Services the execution role may pass tenant stacks' roles to: the flow-log role, the worker role. */
export const TENANT_ROLE_SERVICES = ['vpc-flow-logs.amazonaws.com', 'lambda.amazonaws.com'] as const;

/** Service-linked roles the first NLB or RDS instance of an account needs. */
const SERVICE_LINKED_ROLES = ['elasticloadbalancing.amazonaws.com', 'rds.amazonaws.com'];

export interface TenantStackRoleProps {
  readonly prefix: string;
  /** Regions besides the stack's own that tenant stacks are created in. @default none */
  readonly otherRegions?: readonly string[];
}

/**
 * CloudFormation's service role for tenant stacks (CreateStack/UpdateStack `RoleARN`), scoped to the
 * resource types tenant templates use, plus the permissions boundary every tenant role must carry.
 */
export class TenantStackRole extends Construct {
  readonly role: iam.Role;
  /** The ceiling of every role a tenant stack creates. */
  readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: TenantStackRoleProps) {
    super(scope, id);
    const { prefix } = props;
    const others = props.otherRegions ?? [];
    const regions = deploymentRegions(others);
    const inRegions = (service: string, resource: string) => arnsIn(regions, service, resource);
    // kms:ViaService per region; a one-region deployment keeps its single values (template unchanged).
    const via = (service: string) => regions.map((r) => `${service}.${r}.amazonaws.com`);
    const statement = (
      sid: string,
      actions: readonly string[],
      resources: string[],
      conditions?: Record<string, unknown>,
    ) =>
      new iam.PolicyStatement({
        sid,
        actions: [...actions],
        resources,
        ...(conditions ? { conditions } : {}),
      });

    this.boundary = new iam.ManagedPolicy(this, 'TenantRoleBoundary', {
      managedPolicyName: `${prefix}-tenant-role-boundary`,
      description: 'Permissions boundary of every role a tenant stack creates: tenant data access only.',
      statements: [
        statement(
          'PooledTableItems',
          [...ITEM_ACTIONS],
          [...inRegions('dynamodb', `table/${prefix}-platform-*`)],
        ),
        statement(
          'ArtifactBucketList',
          ['s3:ListBucket'],
          [`arn:${Aws.PARTITION}:s3:::${prefix}-platform-*`],
        ),
        statement(
          'ArtifactBucketObjects',
          ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          [`arn:${Aws.PARTITION}:s3:::${prefix}-platform-*/tenants/*`],
        ),
        statement(
          'DatabaseCredentials',
          ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          [...inRegions('secretsmanager', 'secret:*')],
        ),
        // A bridge or silo tenant's own stores (TenantDataStores): CloudFormation names them after
        // the stack, `<prefix>-<slug>-<isolation>-…` (buckets in lower case, as the prefix is).
        statement(
          'TenantStoreItems',
          [...ITEM_ACTIONS],
          TENANT_STORE_ISOLATIONS.flatMap((i) => inRegions('dynamodb', `table/${prefix}-*-${i}-*`)),
        ),
        statement(
          'TenantStoreBucketList',
          ['s3:ListBucket'],
          TENANT_STORE_ISOLATIONS.map((i) => `arn:${Aws.PARTITION}:s3:::${prefix}-*-${i}-*`),
        ),
        statement(
          'TenantStoreBucketObjects',
          ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
          TENANT_STORE_ISOLATIONS.map((i) => `arn:${Aws.PARTITION}:s3:::${prefix}-*-${i}-*/*`),
        ),
        // Their key (tagged with the tenant, like every key a tenant stack creates), only as those
        // stores use it on the caller's behalf.
        statement(
          'TenantStoreKey',
          ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          [...inRegions('kms', 'key/*')],
          {
            StringEquals: {
              'kms:ViaService': [...via('dynamodb'), ...via('s3')],
            },
            Null: { 'aws:ResourceTag/TenantId': 'false' },
          },
        ),
        statement(
          'DatabaseCredentialsKey',
          ['kms:Decrypt', 'kms:DescribeKey'],
          [...inRegions('kms', 'key/*')],
          {
            StringEquals: {
              'kms:ViaService': others.length ? via('secretsmanager') : via('secretsmanager')[0],
            },
          },
        ),
        statement('DatabaseIamAuthentication', ['rds-db:connect'], [...inRegions('rds-db', 'dbuser:*/*')]),
        statement(
          'TenantQueueMessages',
          [...TENANT_QUEUE_DATA_ACTIONS, 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          [...inRegions('sqs', `${prefix}-*`)],
        ),
        statement('TenantQueueKey', ['kms:Decrypt', 'kms:GenerateDataKey'], [...inRegions('kms', 'key/*')], {
          StringEquals: { 'kms:ViaService': others.length ? via('sqs') : via('sqs')[0] },
        }),
        statement(
          'TenantWorkerInvoke',
          ['lambda:InvokeFunction'],
          [...inRegions('lambda', `function:${prefix}-*`)],
        ),
        statement(
          'FlowLogDelivery',
          ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:DescribeLogGroups'],
          [
            ...inRegions('logs', `log-group:${prefix}-*`),
            ...inRegions('logs', `log-group:${prefix}-*:log-stream:*`),
          ],
        ),
      ],
    });

    const a = TENANT_STACK_ACTIONS;
    const tenantTagged = { Null: { 'aws:ResourceTag/TenantId': 'false' } };
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
      description: `CloudFormation service role for ${prefix} tenant stacks: the resource types of the tenant templates only`,
      inlinePolicies: {
        TenantStackResources: new iam.PolicyDocument({
          statements: [
            statement('Network', [...a.network, ...a.endpointService], ['*'], {
              StringEquals: { 'aws:RequestedRegion': others.length ? regions : Aws.REGION },
            }),
            statement(
              'NetworkRead',
              [...a.networkRead, ...a.loadBalancingRead, ...a.databaseRead, ...a.logsRead],
              ['*'],
            ),
            statement('LoadBalancing', a.loadBalancing, [
              ...inRegions('elasticloadbalancing', 'loadbalancer/net/*'),
              ...inRegions('elasticloadbalancing', 'listener/net/*'),
              ...inRegions('elasticloadbalancing', 'targetgroup/*'),
            ]),
            statement('Database', a.database, [
              ...inRegions('rds', 'db:*'),
              ...inRegions('rds', 'subgrp:*'),
              ...inRegions('rds', 'snapshot:*'),
              ...inRegions('rds', 'pg:*'),
              ...inRegions('rds', 'og:*'),
            ]),
            statement('KeyCreate', a.keyCreate, ['*'], { Null: { 'aws:RequestTag/TenantId': 'false' } }),
            statement('Key', a.key, [...inRegions('kms', 'key/*')], tenantTagged),
            statement('Secret', a.secret, [...inRegions('secretsmanager', 'secret:*')]),
            statement('SecretPassword', a.secretPassword, ['*']),
            statement('FlowLogGroup', a.logs, [...inRegions('logs', `log-group:${prefix}-*`)]),
            statement('TenantQueues', a.queue, [...inRegions('sqs', `${prefix}-*`)]),
            statement('TenantWorkers', a.worker, [...inRegions('lambda', `function:${prefix}-*`)]),
            statement('TenantRolesWithBoundary', a.roleWithBoundary, [tenantRolesArn(prefix)], {
              StringEquals: { 'iam:PermissionsBoundary': this.boundary.managedPolicyArn },
            }),
            statement('TenantRoles', a.role, [tenantRolesArn(prefix)]),
            statement('PassTenantServiceRoles', ['iam:PassRole'], [tenantRolesArn(prefix)], {
              StringEquals: { 'iam:PassedToService': [...TENANT_ROLE_SERVICES] },
            }),
            statement(
              'ServiceLinkedRoles',
              ['iam:CreateServiceLinkedRole'],
              [arn('iam', 'role/aws-service-role/*', '')],
              { StringEquals: { 'iam:AWSServiceName': SERVICE_LINKED_ROLES } },
            ),
          ],
        }),
      },
    });

    Validations.of(this.role).acknowledge(
      ...inEachRegion(
        [
          {
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'EC2 and ELB reads, EC2 VPC/subnet/security-group/endpoint-service creation (ids unknown before the call, limited to this region), kms:CreateKey (only with a TenantId request tag) and secretsmanager:GetRandomPassword have no resource-level permissions. This role is assumable only by CloudFormation and passable only by the task function.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:loadbalancer/net/*]',
            reason:
              'Load balancer names are generated by CloudFormation; limited to network load balancers of this region and account.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:listener/net/*]',
            reason: 'Listeners of the network load balancers above; their ids are generated.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:targetgroup/*]',
            reason: 'Target group names are generated by CloudFormation; limited to this region and account.',
          },
          ...['db', 'subgrp', 'snapshot', 'pg', 'og'].map((type) => ({
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:${type}:*]`,
            reason:
              'RDS identifiers of tenant databases are generated by CloudFormation; the statement is limited to the RDS resource types a tenant database uses (instance, subnet group, final snapshot, default parameter and option groups).',
          })),
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
            reason:
              'Key ids are generated; the statement applies only to keys tagged with a TenantId (tenant keys), and includes no key deletion.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*]',
            reason:
              'Secret names of tenant database credentials are generated by CloudFormation (name plus random suffix).',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${prefix}-*]`,
            reason:
              'Silo flow-log groups are named after their tenant stack, <prefix>-<slug>-silo-…: the tenant prefix.',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/${prefix}-*]`,
            reason:
              'Roles of tenant stacks are named after the stack (<prefix>-<slug>-<isolation>-…). Creating one or changing its policies requires the tenant permissions boundary; passing one is limited to VPC flow logs and Lambda (the tenant worker).',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:${prefix}-*]`,
            reason:
              'Tenant queues (noisy-neighbour controls) are named by CloudFormation after their tenant stack, <prefix>-<slug>-<isolation>-…',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${prefix}-*]`,
            reason:
              'Tenant worker functions (noisy-neighbour controls) are named by CloudFormation after their tenant stack.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/*]',
            reason:
              'Only the ELB and RDS service-linked roles (iam:AWSServiceName condition), which AWS names itself.',
          },
        ],
        others,
      ),
    );
    Validations.of(this.boundary).acknowledge(
      ...inEachRegion(
        [
          ...TENANT_STORE_ISOLATIONS.flatMap((i) => [
            {
              id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${prefix}-*-${i}-*]`,
              reason: `A ceiling: a ${i} tenant's own table is named by CloudFormation after its stack (<prefix>-<slug>-${i}); the tenant role's own policy names its table.`,
            },
            {
              id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${prefix}-*-${i}-*]`,
              reason: `A ceiling: a ${i} tenant's own bucket is named by CloudFormation after its stack; the tenant role's own policy names its bucket.`,
            },
            {
              id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${prefix}-*-${i}-*/*]`,
              reason: `A ceiling for the objects of a ${i} tenant's own bucket; the tenant role's own policy names its bucket.`,
            },
          ]),
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/${prefix}-platform-*]`,
            reason:
              "A permissions boundary is a ceiling, not a grant: the pooled table's name is generated from the platform stack's name; each tenant role's own policy narrows it to the tenant's leading keys.",
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${prefix}-platform-*]`,
            reason:
              "A permissions boundary is a ceiling: the artifact bucket's name is generated from the platform stack's name.",
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${prefix}-platform-*/tenants/*]`,
            reason:
              "A ceiling for tenant objects (tenants/<TenantId>/…); each tenant role's own policy names its TenantId.",
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*]',
            reason:
              "A ceiling: database secrets have generated names; each tenant role's policy names its own secret.",
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
            reason:
              'A ceiling: decryption through Secrets Manager only (kms:ViaService), for tenant keys with generated ids.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds-db:<AWS::Region>:<AWS::AccountId>:dbuser:*/*]',
            reason:
              'A ceiling for IAM database authentication to tenant databases, whose resource ids are generated.',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${prefix}-*]`,
            reason:
              'A ceiling for the silo flow-log role and the tenant worker: log groups of tenant stacks only.',
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:${prefix}-*]`,
            reason:
              "A ceiling for tenant queues, named after their stacks; each tenant role's own policy names its own queues, and each queue's policy refuses principals of another TenantId.",
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:${prefix}-*]`,
            reason:
              "A ceiling for invoking tenant workers; each tenant role's own policy names its own function.",
          },
          {
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${prefix}-*:log-stream:*]`,
            reason: 'Flow-log streams are named by the VPC flow-log service.',
          },
        ],
        others,
      ),
    );
  }
}

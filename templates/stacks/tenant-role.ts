import { Aws, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ITEM_ACTIONS, TENANT_OBJECT_PREFIX } from '../constants.js';

export interface PooledData {
  /** ARN of the pooled DynamoDB table; items are keyed `pk = "<TenantId>#…"`. */
  readonly tableArn: string;
  /** The artifact bucket; the tenant's objects live under `tenants/<TenantId>/`. */
  readonly bucketName: string;
}

export interface TenantRoleProps {
  /** The tenant id (a Ref to the TenantId parameter); every pooled-data statement is scoped by it. */
  readonly tenantId: string;
  readonly description: string;
  /** Pooled data the role may reach, only the tenant's own part of it. @default none (silo) */
  readonly pooled?: PooledData;
}

const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];

/**
 * The role a tenant's workloads assume (granted to principals of this account through their own
 * sts:AssumeRole permission). In pooled resources it reaches only the tenant's own items and objects.
 */
export class TenantRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TenantRoleProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      // Token vending passes session tags (TenantId, Tier), which needs sts:TagSession in the trust.
      assumedBy: new iam.AccountRootPrincipal().withSessionTags(),
      description: props.description,
    });
    if (props.pooled) this.grantPooledData(props.tenantId, props.pooled);
  }

  get roleArn(): string {
    return this.role.roleArn;
  }

  private grantPooledData(tenantId: string, pooled: PooledData): void {
    const tenantPrefix = `${TENANT_OBJECT_PREFIX}/${tenantId}/`;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PooledTableOwnItems',
        actions: [...ITEM_ACTIONS],
        resources: [pooled.tableArn],
        conditions: {
          // Every key in the request must start with "<TenantId>#"; Null=false rejects requests
          // without keys (ForAllValues alone is true for an empty key set).
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${tenantId}#*`] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ArtifactBucketListOwnPrefix',
        actions: ['s3:ListBucket'],
        resources: [`arn:${Aws.PARTITION}:s3:::${pooled.bucketName}`],
        conditions: { StringLike: { 's3:prefix': [`${tenantPrefix}*`] } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ArtifactBucketOwnObjects',
        actions: OBJECT_ACTIONS,
        resources: [`arn:${Aws.PARTITION}:s3:::${pooled.bucketName}/${tenantPrefix}*`],
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<ArtifactBucketName>/tenants/<TenantId>/*]',
      reason:
        "Object keys are per object; the wildcard sits after the tenant's own prefix tenants/<TenantId>/, so it never reaches another tenant's objects.",
    });
  }
}

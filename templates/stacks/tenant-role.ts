import { Aws, CfnCondition, Fn, Stack, Validations } from 'aws-cdk-lib';
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
  /**
   * Silo: the control plane's account id (a Ref to ControlPlaneAccountId), empty unless the stack
   * runs in a dedicated account. When set, the role also trusts that account, for token vending,
   * with a TenantId session tag of this tenant only. @default none
   */
  readonly controlPlaneAccountId?: string;
}

/** Logical id of the condition "the stack runs in a dedicated account" (ControlPlaneAccountId set). */
export const HAS_CONTROL_PLANE_TRUST = 'HasControlPlaneTrust';

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
    if (props.controlPlaneAccountId !== undefined)
      this.trustControlPlane(props.tenantId, props.controlPlaneAccountId);
  }

  /**
   * A dedicated account's tenant role lives outside the control plane's account, so its own-account
   * trust does not admit the vending principal there. This statement trusts that account (whose IAM
   * policies decide which of its principals may assume tenant roles: the API role) and requires the
   * session to carry this tenant's TenantId tag, as vending always sets it.
   */
  private trustControlPlane(tenantId: string, accountId: string): void {
    const stack = Stack.of(this);
    const condition = new CfnCondition(stack, HAS_CONTROL_PLANE_TRUST, {
      expression: Fn.conditionNot(Fn.conditionEquals(accountId, '')),
    });
    // What `assumedBy` above renders: this account, with session tags.
    const ownAccount = new iam.PolicyStatement({
      principals: [new iam.AccountRootPrincipal()],
      actions: ['sts:AssumeRole', 'sts:TagSession'],
    });
    const document = (statements: iam.PolicyStatement[]) =>
      new iam.PolicyDocument({ statements: [ownAccount, ...statements] });
    const vending = new iam.PolicyStatement({
      sid: 'ControlPlaneVending',
      principals: [new iam.AccountPrincipal(accountId)],
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      conditions: { StringEquals: { 'aws:RequestTag/TenantId': tenantId } },
    });
    // The whole document under Fn::If, not one statement: moto keeps an AWS::NoValue list entry
    // as null, where CloudFormation drops it.
    (this.role.node.defaultChild as iam.CfnRole).addPropertyOverride(
      'AssumeRolePolicyDocument',
      Fn.conditionIf(condition.logicalId, document([vending]), document([])),
    );
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

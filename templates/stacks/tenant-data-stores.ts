import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ITEM_ACTIONS } from '../constants.js';
import { addOutputs } from './common.js';

export interface TenantDataStoresProps {
  /** The tenant's own key: both stores are encrypted with it. */
  readonly key: kms.IKey;
}

/**
 * A bridge or silo tenant's own table and bucket: where a move out of the pool copies its pooled
 * items (same key schema as the pooled table: pk, sk) and objects (keys without `tenants/<id>/`).
 * Retained when the stack is deleted, like the pooled stores: tenant data is never dropped by a
 * stack deletion (docs/workflows.md, data lifecycle).
 */
export class TenantDataStores extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: TenantDataStoresProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "A tenant's own data bucket; server access logs would need a per-tenant log bucket, and CloudTrail data events cover access auditing where required.",
    });
  }

  /**
   * Lets the tenant role read and write its own stores and use the key for them: explicit actions,
   * no service-wide wildcards (the grant helpers add s3:List*, kms:ReEncrypt* and the like).
   */
  grantReadWrite(role: iam.Role, key: kms.IKey): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnTableItems',
        actions: [...ITEM_ACTIONS],
        resources: [this.table.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnBucketList',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnBucketObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'OwnDataKey',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [key.keyArn],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      reason: "Object keys are per object; the wildcard is inside the tenant's own bucket.",
    });
  }

  /** Outputs DataTableName and DataBucketName: a contract with workflows/tasks/tenant-data.ts. */
  addOutputs(stack: Stack): void {
    addOutputs(stack, {
      DataTableName: [this.table.tableName, "The tenant's own table (same key schema as the pooled table)"],
      DataBucketName: [this.bucket.bucketName, "The tenant's own bucket"],
    });
  }
}

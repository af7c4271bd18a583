import { CfnOutput, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

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

  /** Lets the tenant role read and write its own stores (and use the key for them). */
  grantReadWrite(role: iam.IRole): void {
    this.table.grantReadWriteData(role);
    this.bucket.grantReadWrite(role);
  }

  /** Outputs DataTableName and DataBucketName: a contract with workflows/tasks/tenant-data.ts. */
  addOutputs(stack: Stack): void {
    new CfnOutput(stack, 'DataTableName', {
      value: this.table.tableName,
      description: "The tenant's own table (same key schema as the pooled table)",
    });
    new CfnOutput(stack, 'DataBucketName', {
      value: this.bucket.bucketName,
      description: "The tenant's own bucket",
    });
  }
}

import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { EXPORT_OBJECT_PREFIX, EXPORT_RETENTION_DAYS_DEFAULT } from '../../core/tenant-data/layout.js';
import { PLATFORM_TAG_VALUE } from '../constants.js';
import { applyCostTags, declareParameters, outputTemplateVersion } from './common.js';
import { IsolatedVpc } from './isolated-vpc.js';
import { templateStackProps } from './stack-props.js';

/**
 * Once per environment: the shared VPC (bridge databases), the pooled table and the artifact
 * bucket (pool tenants' data, published templates), and the lifecycle event bus. Data stores are
 * retained when the stack is deleted.
 */
export class PlatformStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(
      scope,
      id,
      templateStackProps(
        'Tenant control plane: platform (shared VPC, pooled table, artifact bucket, lifecycle bus)',
      ),
    );
    const p = declareParameters(this, 'platform');
    applyCostTags(this, {
      tenantId: PLATFORM_TAG_VALUE,
      tier: PLATFORM_TAG_VALUE,
      isolation: PLATFORM_TAG_VALUE,
      templateVersion: p('TemplateVersion').valueAsString,
    });

    const network = new IsolatedVpc(this, 'Network', { cidr: '10.16.0.0/16' });

    // Pool tenants' items: pk = "<TenantId>#…", so IAM dynamodb:LeadingKeys can fence each tenant.
    const pooledTable = new dynamodb.Table(this, 'PooledTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const bus = new events.CfnEventBus(this, 'LifecycleBus', {
      name: Fn.join('-', [Aws.STACK_NAME, 'lifecycle']),
    });

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "This bucket receives the artifact bucket's server access logs; logging it would log into itself.",
    });
    const artifacts = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30) },
        // Offboarded tenants' data exports (exports/<tenantId>/<operationId>/) expire after the
        // retention their manifests record (TENANT_EXPORT_RETENTION_DAYS, at most this).
        {
          id: 'TenantExportsExpire',
          prefix: `${EXPORT_OBJECT_PREFIX}/`,
          expiration: Duration.days(EXPORT_RETENTION_DAYS_DEFAULT),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    outputTemplateVersion(this, p);
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description, exportName: Fn.join('-', [Aws.STACK_NAME, name]) });
    output('VpcId', network.vpc.vpcId, 'Shared VPC (isolated subnets only)');
    output(
      'IsolatedSubnetIds',
      Fn.join(',', network.isolatedSubnetIds),
      'Isolated subnets of the shared VPC, comma-separated',
    );
    output('PooledTableName', pooledTable.tableName, 'Pooled table of pool tenants');
    output('PooledTableArn', pooledTable.tableArn, 'Pooled table ARN');
    output('EventBusName', bus.attrName, 'Lifecycle event bus');
    output('EventBusArn', bus.attrArn, 'Lifecycle event bus ARN');
    output(
      'ArtifactBucketName',
      artifacts.bucketName,
      'Templates and pool tenants objects (tenants/<TenantId>/)',
    );
  }
}

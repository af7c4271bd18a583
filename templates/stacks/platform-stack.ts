import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { EXPORT_OBJECT_PREFIX, EXPORT_RETENTION_DAYS_DEFAULT } from '../../core/tenant-data/layout.js';
import { ITEM_ACTIONS, PLATFORM_TAG_VALUE, TENANT_OBJECT_PREFIX } from '../constants.js';
import { platformAcknowledgements, TENANT_API_STAGE } from '../platform-spec.js';
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

    const pooledRole = this.pooledTenantRole(pooledTable.tableArn, artifacts);
    const tenantApi = this.tenantApi();

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
    output(
      'TenantApiId',
      tenantApi.ref,
      `Tenant REST API; stage ${TENANT_API_STAGE} carries every tier's usage plan`,
    );
    output(
      'PooledRoleArn',
      pooledRole.roleArn,
      'Role pool tenants assume with session tags TenantId and Tier',
    );
  }

  /**
   * The tenant REST API: its stage is what every tier's usage plan is attached to, so API keys are
   * throttled and metered per tier (API Gateway enforces it on AWS). Applications put their routes
   * on it; the platform's own is one mock `ANY /` that requires an API key. L1 resources: moto
   * models the RestApi (so its id can be an Output), not the deployment and stage, which
   * ensurePlatform makes through the SDK locally.
   */
  private tenantApi(): apigateway.CfnRestApi {
    const api = new apigateway.CfnRestApi(this, 'TenantApi', {
      name: Fn.join('-', [Aws.STACK_NAME, 'tenants']),
      description: 'Tenant API: every tier usage plan is attached to its stage',
      endpointConfiguration: { types: ['REGIONAL'] },
      apiKeySourceType: 'HEADER',
    });
    const method = new apigateway.CfnMethod(this, 'TenantApiRoot', {
      restApiId: api.ref,
      resourceId: api.attrRootResourceId,
      httpMethod: 'ANY',
      authorizationType: 'NONE',
      apiKeyRequired: true,
      integration: {
        type: 'MOCK',
        // Ignored for MOCK on AWS; moto's CloudFormation needs it (KeyError otherwise).
        integrationHttpMethod: 'POST',
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [{ statusCode: '200' }],
      },
      methodResponses: [{ statusCode: '200' }],
    });
    const deployment = new apigateway.CfnDeployment(this, 'TenantApiDeployment', { restApiId: api.ref });
    deployment.addDependency(method);
    new apigateway.CfnStage(this, 'TenantApiStage', {
      restApiId: api.ref,
      deploymentId: deployment.ref,
      stageName: TENANT_API_STAGE,
      tracingEnabled: true,
    });
    return api;
  }

  /**
   * The pooled tenant role (token vending's dynamic IAM): one role for every pool tenant, assumed
   * with session tags TenantId and Tier; its policies fence each session to its own tenant's items
   * and objects through `aws:PrincipalTag/TenantId`, so no per-tenant policy is needed. The trust
   * policy requires the TenantId tag, so a session without one cannot exist.
   */
  private pooledTenantRole(tableArn: string, bucket: s3.Bucket): iam.Role {
    const { bucketName } = bucket;
    // An IAM policy variable, resolved per request from the session's TenantId tag.
    const tenant = ['$', '{aws:PrincipalTag/TenantId}'].join('');
    const role = new iam.Role(this, 'PooledTenantRole', {
      assumedBy: new iam.AccountRootPrincipal()
        .withConditions({ StringLike: { 'aws:RequestTag/TenantId': 't_*' } })
        .withSessionTags(),
      description: 'Pool tenants, through token vending: session tags TenantId and Tier scope every call',
      maxSessionDuration: Duration.hours(1),
    });
    const prefix = `${TENANT_OBJECT_PREFIX}/${tenant}/`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PooledTableOwnItems',
        actions: [...ITEM_ACTIONS],
        resources: [tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${tenant}#*`] },
          Null: { 'dynamodb:LeadingKeys': 'false', 'aws:PrincipalTag/TenantId': 'false' },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ArtifactBucketListOwnPrefix',
        actions: ['s3:ListBucket'],
        resources: [`arn:${Aws.PARTITION}:s3:::${bucketName}`],
        conditions: {
          StringLike: { 's3:prefix': [`${prefix}*`] },
          Null: { 'aws:PrincipalTag/TenantId': 'false' },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ArtifactBucketOwnObjects',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [`arn:${Aws.PARTITION}:s3:::${bucketName}/${prefix}*`],
        conditions: { Null: { 'aws:PrincipalTag/TenantId': 'false' } },
      }),
    );
    Validations.of(this).acknowledge(
      ...platformAcknowledgements(this.resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId)),
    );
    return role;
  }
}

import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { RESUME_OPEN_EVENT, SECRET_ARN_VARIABLES } from '../contract.js';
import { controlPlaneFunction, copyInto, esmBanner, REPO_ROOT } from '../functions.js';
import { inEachRegion } from '../iam.js';
import { QUOTA_CLOUDFORMATION_READS } from '../policy-walk.js';
import type { InfraSettings } from '../settings.js';
import { BUNDLED_TIER_CATALOG, stageCdkVersion } from '../templates.js';
import type { LifecycleWorkflows } from './lifecycle-workflows.js';
import type { Operators } from './operators.js';
import type { RegistryTable } from './registry-table.js';
import { ResourceGroup } from './resource-group.js';

export interface ApiProps {
  /** Prefix (the HTTP API `<prefix>-control-plane`), bundling, tier catalog. */
  readonly settings: InfraSettings;
  /** Where the API bundle's extra files are staged (esbuild bundling only). */
  readonly stagingDir: string;
  /** Environment the API function shares with the task function (core/config.ts variables). */
  readonly environment: Readonly<Record<string, string>>;
  /** The API reads and writes the registry. */
  readonly registry: RegistryTable;
  /** The API starts executions of these state machines (and the resume schedule restarts lost ones). */
  readonly workflows: LifecycleWorkflows;
  /** The JWT issuer and audience of operator tokens. */
  readonly operators: Operators;
  /** Regions besides the stack's own where tenants live (their certificates are requested there). @default none */
  readonly otherRegions?: readonly string[];
}

/**
 * The API: the Fastify app `npm start` serves, in a function (control-plane/lambda.ts) behind an
 * HTTP API with access logs and throttling; the admin key and signup webhook secret it reads at
 * start; a schedule that restarts operations whose workflow start was lost.
 */
export class Api extends ResourceGroup {
  /** The API function (control-plane/lambda.ts). */
  readonly function: lambda.Function;
  readonly role: iam.Role;
  /** Its default route is the function; `apiEndpoint` is tenantctl's --url. */
  readonly httpApi: apigwv2.HttpApi;
  /** The admin API key (CONTROL_PLANE_ADMIN_KEY_SECRET_ARN). */
  readonly adminKey: secretsmanager.Secret;
  /** The signup webhook's HMAC secret (SIGNUP_WEBHOOK_SECRET_ARN). */
  readonly webhookSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { settings } = props;
    const { prefix } = settings;

    this.adminKey = new secretsmanager.Secret(this, 'AdminKey', {
      description: `${prefix} control plane admin API key (Authorization: Bearer …)`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    this.webhookSecret = new secretsmanager.Secret(this, 'SignupWebhookSecret', {
      description: `${prefix} control plane signup webhook HMAC secret (share it with the signup provider)`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    for (const secret of [this.adminKey, this.webhookSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A shared credential held by a party outside AWS (the signup provider, the operators holding the admin key): rotation is a coordinated manual step (docs/deploy.md), which automatic rotation would break.',
      });
    }

    const apiLogs = new logs.LogGroup(this, 'ApiLogs', { retention: logs.RetentionDays.SIX_MONTHS });
    this.role = new iam.Role(this, 'ApiRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `API function of the ${prefix} control plane`,
    });
    const apiStaging = join(props.stagingDir, 'api');
    if (settings.bundling === 'esbuild') stageApiFiles(apiStaging, settings.tierCatalogFile);
    // In the stack's scope, where it was before the split: the resume schedule's invoke permission
    // is named after the function's construct path, which resource groups do not hide.
    this.function = controlPlaneFunction(Stack.of(this), 'ApiFunction', {
      entry: 'control-plane/lambda.ts',
      bundling: settings.bundling,
      description: `${prefix} control plane: API`,
      role: this.role,
      logGroup: apiLogs,
      timeout: Duration.seconds(29),
      memorySize: 1024,
      environment: {
        ...props.environment,
        STATE_MACHINE_ARN_PREFIX: props.workflows.stateMachineArnPrefix,
        // Wait between polls of a settling stack, in each execution's input: 10 s keeps
        // DescribeStacks and state transitions low while an RDS instance takes its minutes.
        STACK_POLL_MS: '10000',
        JWT_ISSUER: props.operators.jwtIssuer,
        JWT_AUDIENCE: props.operators.client.userPoolClientId,
        [SECRET_ARN_VARIABLES.adminKey]: this.adminKey.secretArn,
        [SECRET_ARN_VARIABLES.signupWebhookSecret]: this.webhookSecret.secretArn,
      },
      // swagger-ui reads its assets relative to __dirname; the bundle carries a copy of its layout.
      banner: esmBanner("__tcpJoin(__tcpDirname(__filename), 'swagger-ui', 'lib')"),
      afterBundling: (out) => [copyInto(apiStaging, out)],
    });
    props.registry.grantReadWrite(this.role);
    props.workflows.grantStartExecution(this.role);
    props.workflows.grantRolloutControl(this.role);
    this.adminKey.grantRead(this.role);
    this.webhookSecret.grantRead(this.role);
    // Cost per tenant (GET /v1/costs): Cost Explorer has no resource-level permissions.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'CostPerTenant', actions: ['ce:GetCostAndUsage'], resources: ['*'] }),
    );
    // Quota pre-checks before an onboarding is accepted (core/quotas): counts and limits, read only.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QuotaPrecheckReads',
        actions: [
          'servicequotas:GetServiceQuota',
          'ec2:DescribeVpcs',
          'ec2:DescribeAddresses',
          'rds:DescribeDBInstances',
          'organizations:ListAccounts',
          // The account's Lambda concurrency (reserved-concurrency pre-check): no resource-level permissions.
          'lambda:GetAccountSettings',
        ],
        resources: ['*'],
      }),
    );
    // The stack count and limit: account-wide reads, the only CloudFormation calls not on tenant stacks.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QuotaPrecheckStackReads',
        actions: [...QUOTA_CLOUDFORMATION_READS],
        resources: ['*'],
      }),
    );
    // Custom-domain certificates (core/tenant-config): requested with a TenantId tag, and then
    // read and deleted only when they carry one.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TenantCertificateRequests',
        actions: ['acm:RequestCertificate', 'acm:AddTagsToCertificate'],
        resources: ['*'],
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['TenantId'] } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TenantCertificates',
        actions: ['acm:DescribeCertificate', 'acm:DeleteCertificate'],
        // Pseudo parameters, not the stack's env: the acknowledgement below matches either way.
        resources: [Aws.REGION, ...(props.otherRegions ?? [])].map(
          (region) => `arn:${Aws.PARTITION}:acm:${region}:${Aws.ACCOUNT_ID}:certificate/*`,
        ),
        conditions: { StringLike: { 'aws:ResourceTag/TenantId': 't_*' } },
      }),
    );
    Validations.of(this.role).acknowledge(
      ...inEachRegion(
        [
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:<AWS::Region>:<AWS::AccountId>:certificate/*]',
            reason:
              "Tenants' custom-domain certificates get ids from ACM at request time; reads and deletes are limited to certificates tagged with a TenantId.",
          },
        ],
        props.otherRegions ?? [],
      ),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (PutTraceSegments, PutTelemetryRecords), added by the function construct, and the quota pre-check reads (ListStacks, DescribeAccountLimits, GetServiceQuota, EC2/RDS/Organizations list calls, Lambda GetAccountSettings) and Cost Explorer GetCostAndUsage have no resource-level permissions, nor have cognito-idp:ListUserPools and iam:ListPolicies (reading another region’s platform: its user pool and the suspension policy found by name); acm:RequestCertificate names a certificate that does not exist yet, so it is allowed only with a TenantId tag.',
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${prefix}-control-plane`,
      description: `${prefix} tenant control plane API (auth: API keys and operator JWTs, checked by the API itself)`,
      defaultIntegration: new HttpLambdaIntegration('ApiIntegration', this.function, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
      createDefaultStage: false,
    });
    new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Every route authenticates in the API itself (control-plane/auth.ts): scoped API keys, operator JWTs from the operators user pool, HMAC-signed signup webhooks. A gateway authorizer cannot express the three.',
    });

    new events.Rule(this, 'ResumeOpenOperations', {
      description:
        'Restarts operations and RUNNING rollouts whose workflow start was lost (idempotent: execution names from their ids)',
      schedule: events.Schedule.rate(Duration.minutes(10)),
      targets: [
        new targets.LambdaFunction(this.function, {
          event: events.RuleTargetInput.fromObject(RESUME_OPEN_EVENT),
        }),
      ],
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the newest runtime the control plane supports and tests (node 20 and 22, package.json engines).',
    });
  }
}

/** The API bundle's extra files: swagger-ui's assets in the layout its code expects, a custom catalog, the aws-cdk-lib version. */
function stageApiFiles(dir: string, tierCatalogFile?: string): void {
  rmSync(dir, { recursive: true, force: true });
  const swagger = join(REPO_ROOT, 'node_modules', '@fastify', 'swagger-ui', 'static');
  mkdirSync(join(dir, 'swagger-ui', 'lib', 'static'), { recursive: true });
  cpSync(swagger, join(dir, 'swagger-ui', 'static'), { recursive: true });
  cpSync(join(swagger, 'logo.svg'), join(dir, 'swagger-ui', 'lib', 'static', 'logo.svg'));
  if (tierCatalogFile) cpSync(tierCatalogFile, join(dir, BUNDLED_TIER_CATALOG));
  stageCdkVersion(dir);
}

import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  Aws,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { OPERATION_TYPES, type OperationType } from '../../core/lifecycle.js';
import { registryTableDefinition } from '../../core/registry/table.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { definitionText } from '../../workflows/definitions/index.js';
import {
  CLOUDFORMATION_ROLE_ARN_VARIABLE,
  FUNCTION_DATA_DIR,
  RESUME_OPEN_EVENT,
  SECRET_ARN_VARIABLES,
  TASK_TEMPLATE_CACHE_DIR,
  TENANT_ROLE_BOUNDARY_ARN_VARIABLE,
} from './contract.js';
import { controlPlaneFunction, copyInto, esmBanner, REPO_ROOT } from './functions.js';
import { TenantStackRole, tenantStacksArn } from './iam.js';
import type { PlatformDeploymentStack } from './platform-stack.js';
import type { InfraSettings } from './settings.js';
import {
  BUNDLED_TIER_CATALOG,
  type PreparedTemplates,
  stageCdkVersion,
  stageTaskFiles,
} from './templates.js';

export interface ControlPlaneStackProps extends StackProps {
  readonly settings: InfraSettings;
  readonly templates: PreparedTemplates;
  /** The platform stack this one reads (event bus) and names (its stack is protected from the task role). */
  readonly platform: PlatformDeploymentStack;
  /** A directory for files staged into the bundles (esbuild bundling only). */
  readonly stagingDir: string;
}

/** Construct id of each operation's state machine (ids are a contract: renaming one replaces it). */
export const WORKFLOW_IDS: Readonly<Record<OperationType, string>> = {
  onboard: 'OnboardWorkflow',
  'change-tier': 'ChangeTierWorkflow',
  suspend: 'SuspendWorkflow',
  resume: 'ResumeWorkflow',
  offboard: 'OffboardWorkflow',
};

/** Operator groups: a member's JWT carries `cognito:groups`, which the API maps to scopes. */
export const OPERATOR_GROUPS = ['admin', 'tenants:read', 'tenants:write'] as const;

/** Settings-derived environment both functions share (see core/config.ts ENV_VARS). */
function commonEnvironment(settings: InfraSettings, registryTable: string): Record<string, string> {
  return {
    CONTROL_PLANE_TARGET: 'aws',
    WORKFLOW_ENGINE: 'stepfunctions',
    RESOURCE_PREFIX: settings.prefix,
    REGISTRY_TABLE: registryTable,
    CONTROL_PLANE_DATA_DIR: FUNCTION_DATA_DIR,
    RESUME_ON_START: 'false',
    LOG_LEVEL: settings.logLevel,
    ...(settings.tierCatalogFile ? { TIER_CATALOG_FILE: `/var/task/${BUNDLED_TIER_CATALOG}` } : {}),
  };
}

/**
 * The control plane on AWS: registry table, one Standard state machine per operation (the same ASL
 * text the local engine runs), the task function they invoke, the API (Lambda behind an HTTP API),
 * the operators' user pool (the API's JWT issuer), the tenants' user pool and usage plans, the
 * CloudFormation role tenant stacks are created with, and alarms. See docs/deploy.md.
 */
export class ControlPlaneStack extends Stack {
  readonly registryTable: dynamodb.Table;
  readonly taskFunction: lambda.Function;
  readonly apiFunction: lambda.Function;
  readonly stateMachines: Readonly<Record<OperationType, sfn.StateMachine>>;
  readonly failureAlarms: Readonly<Record<OperationType, cloudwatch.Alarm>>;
  readonly tenantStackRole: TenantStackRole;
  readonly operators: cognito.UserPool;
  readonly operatorsClient: cognito.UserPoolClient;
  readonly tenantUserPool: cognito.CfnUserPool;
  readonly usagePlans: Readonly<Record<string, apigateway.CfnUsagePlan>>;
  readonly api: apigwv2.HttpApi;
  readonly alarmTopic: sns.Topic;
  /** `arn:…:states:<region>:<account>:stateMachine:<prefix>-`; + operation type = state machine ARN. */
  readonly stateMachineArnPrefix: string;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, {
      description: `Tenant control plane (${props.settings.prefix}): registry, workflows, API, operators`,
      terminationProtection: true,
      ...props,
    });
    const { settings, platform } = props;
    const { prefix } = settings;
    this.addStackDependency(platform);

    // ── Registry ────────────────────────────────────────────────────────────────────────────
    this.registryTable = registryTable(this, settings.registryTable);
    const registryResources = [
      this.registryTable.tableArn,
      ...(registryTableDefinition(settings.registryTable).GlobalSecondaryIndexes ?? []).map(
        (i) => `${this.registryTable.tableArn}/index/${i.IndexName}`,
      ),
    ];
    const registryStatement = new iam.PolicyStatement({
      sid: 'Registry',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DescribeTable',
      ],
      resources: registryResources,
    });

    // ── Tenants' identity and API access (readPlatform finds both by name) ───────────────────
    this.tenantUserPool = tenantUserPool(this, prefix);
    const catalog = TierCatalog.load(settings.tierCatalogFile);
    this.usagePlans = Object.fromEntries(
      catalog.tiers.map((tier) => [
        tier.name,
        new apigateway.CfnUsagePlan(this, `UsagePlan-${tier.name}`, {
          usagePlanName: `${prefix}-${tier.name}`,
          description: `Tier ${tier.name} (${tier.isolation})`,
          throttle: { rateLimit: tier.throttle.rateLimit, burstLimit: tier.throttle.burstLimit },
          quota: { limit: tier.throttle.dailyQuota, period: 'DAY' },
          tags: platformTags(prefix, { Tier: tier.name }),
        }),
      ]),
    );

    // ── Tenant stacks' CloudFormation role ──────────────────────────────────────────────────
    this.tenantStackRole = new TenantStackRole(this, 'TenantStacks', { prefix });

    // ── Alarms go here ──────────────────────────────────────────────────────────────────────
    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: `${prefix} control plane alarms`,
      enforceSSL: true,
    });
    if (settings.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry alarm names and states only. CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key for alarm names is cost without protection; the topic policy enforces TLS.',
    });

    // ── Task function: every Task state of every state machine ──────────────────────────────
    const taskLogs = new logs.LogGroup(this, 'TaskLogs', { retention: logs.RetentionDays.SIX_MONTHS });
    const taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Task function of the ${prefix} control plane workflows`,
    });
    const taskStaging = join(props.stagingDir, 'task');
    if (settings.bundling === 'esbuild')
      stageTaskFiles(taskStaging, props.templates, settings.tierCatalogFile);
    this.taskFunction = controlPlaneFunction(this, 'TaskFunction', {
      entry: 'control-plane/task-lambda.ts',
      bundling: settings.bundling,
      description: `${prefix} control plane: workflow task handlers (templates ${Object.entries(
        props.templates.templates,
      )
        .map(([kind, t]) => `${kind} ${t.versionId}`)
        .join(', ')})`,
      role: taskRole,
      logGroup: taskLogs,
      timeout: Duration.seconds(110),
      memorySize: 1024,
      environment: {
        ...commonEnvironment(settings, this.registryTable.tableName),
        TEMPLATE_CACHE_DIR: TASK_TEMPLATE_CACHE_DIR,
        [CLOUDFORMATION_ROLE_ARN_VARIABLE]: this.tenantStackRole.role.roleArn,
        [TENANT_ROLE_BOUNDARY_ARN_VARIABLE]: this.tenantStackRole.boundary.managedPolicyArn,
        ACCOUNT_ROLE_NAME: settings.accountRoleName,
        ...(settings.accountEmailPattern ? { ACCOUNT_EMAIL_PATTERN: settings.accountEmailPattern } : {}),
        ...(settings.accountOuPath ? { ACCOUNT_OU_PATH: settings.accountOuPath } : {}),
      },
      afterBundling: (out) => [copyInto(taskStaging, out)],
    });
    this.grantTaskPermissions(taskRole, registryStatement, settings, platform);

    // ── State machines: the same ASL text as the local engine, TaskFunctionArn substituted ──
    const workflowRole = new iam.Role(this, 'WorkflowRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `State machines of the ${prefix} control plane`,
    });
    workflowRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeTaskFunction',
        actions: ['lambda:InvokeFunction'],
        resources: [this.taskFunction.functionArn],
      }),
    );
    const machines = {} as Record<OperationType, sfn.StateMachine>;
    const alarms = {} as Record<OperationType, cloudwatch.Alarm>;
    for (const type of OPERATION_TYPES) {
      const workflowId = WORKFLOW_IDS[type];
      const logGroup = new logs.LogGroup(this, `${workflowId}Logs`, {
        retention: logs.RetentionDays.ONE_YEAR,
      });
      const machine = new sfn.StateMachine(this, workflowId, {
        stateMachineName: `${prefix}-${type}`,
        stateMachineType: sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromString(definitionText(type)),
        definitionSubstitutions: { TaskFunctionArn: this.taskFunction.functionArn },
        role: workflowRole,
        logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
        tracingEnabled: true,
      });
      machines[type] = machine;
      const alarm = new cloudwatch.Alarm(this, `${workflowId}Failed`, {
        alarmName: `${prefix}-${type}-executions-failed`,
        alarmDescription: `A ${type} execution failed: the operation record names the failing step and the AWS reason (GET /v1/operations/{id}).`,
        metric: machine.metricFailed({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
      alarms[type] = alarm;
    }
    this.stateMachines = machines;
    this.failureAlarms = alarms;
    this.stateMachineArnPrefix = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${prefix}-`;
    Validations.of(workflowRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Added by the StateMachine construct for execution logging (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray tracing: these actions have no resource-level permissions.',
    });

    new cloudwatch.Alarm(this, 'TaskFunctionErrors', {
      alarmName: `${prefix}-task-function-errors`,
      alarmDescription:
        'The task function failed invocations (beyond the errors handlers report as task errors).',
      metric: this.taskFunction.metricErrors({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.SUM,
      }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new cwActions.SnsAction(this.alarmTopic));

    // ── Operators: the API's JWT issuer ─────────────────────────────────────────────────────
    this.operators = new cognito.UserPool(this, 'Operators', {
      userPoolName: `${prefix}-operators`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const group of OPERATOR_GROUPS) {
      new cognito.CfnUserPoolGroup(this, `OperatorGroup-${group.replace(':', '-')}`, {
        userPoolId: this.operators.userPoolId,
        groupName: group,
        description: `Operators with the ${group} scope`,
      });
    }
    this.operatorsClient = this.operators.addClient('Cli', {
      userPoolClientName: `${prefix}-tenantctl`,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
    const jwtIssuer = `https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.operators.userPoolId}`;

    // ── Secrets the API reads at start ──────────────────────────────────────────────────────
    const adminKey = new secretsmanager.Secret(this, 'AdminKey', {
      description: `${prefix} control plane admin API key (Authorization: Bearer …)`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const webhookSecret = new secretsmanager.Secret(this, 'SignupWebhookSecret', {
      description: `${prefix} control plane signup webhook HMAC secret (share it with the signup provider)`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    for (const secret of [adminKey, webhookSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A shared credential held by a party outside AWS (the signup provider, the operators holding the admin key): rotation is a coordinated manual step (docs/deploy.md), which automatic rotation would break.',
      });
    }

    // ── API: Lambda behind an HTTP API ──────────────────────────────────────────────────────
    const apiLogs = new logs.LogGroup(this, 'ApiLogs', { retention: logs.RetentionDays.SIX_MONTHS });
    const apiRole = new iam.Role(this, 'ApiRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `API function of the ${prefix} control plane`,
    });
    const apiStaging = join(props.stagingDir, 'api');
    if (settings.bundling === 'esbuild') stageApiFiles(apiStaging, settings.tierCatalogFile);
    this.apiFunction = controlPlaneFunction(this, 'ApiFunction', {
      entry: 'control-plane/lambda.ts',
      bundling: settings.bundling,
      description: `${prefix} control plane: API`,
      role: apiRole,
      logGroup: apiLogs,
      timeout: Duration.seconds(29),
      memorySize: 1024,
      environment: {
        ...commonEnvironment(settings, this.registryTable.tableName),
        STATE_MACHINE_ARN_PREFIX: this.stateMachineArnPrefix,
        // Wait between polls of a settling stack, in each execution's input: 10 s keeps
        // DescribeStacks and state transitions low while an RDS instance takes its minutes.
        STACK_POLL_MS: '10000',
        JWT_ISSUER: jwtIssuer,
        JWT_AUDIENCE: this.operatorsClient.userPoolClientId,
        [SECRET_ARN_VARIABLES.adminKey]: adminKey.secretArn,
        [SECRET_ARN_VARIABLES.signupWebhookSecret]: webhookSecret.secretArn,
      },
      // swagger-ui reads its assets relative to __dirname; the bundle carries a copy of its layout.
      banner: esmBanner("__tcpJoin(__tcpDirname(__filename), 'swagger-ui', 'lib')"),
      afterBundling: (out) => [copyInto(apiStaging, out)],
    });
    apiRole.addToPolicy(registryStatement);
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StartWorkflows',
        actions: ['states:StartExecution'],
        resources: OPERATION_TYPES.map((t) => machines[t].stateMachineArn),
      }),
    );
    adminKey.grantRead(apiRole);
    webhookSecret.grantRead(apiRole);
    Validations.of(apiRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (PutTraceSegments, PutTelemetryRecords), added by the function construct: no resource-level permissions.',
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${prefix}-control-plane`,
      description: `${prefix} tenant control plane API (auth: API keys and operator JWTs, checked by the API itself)`,
      defaultIntegration: new HttpLambdaIntegration('ApiIntegration', this.apiFunction, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
      createDefaultStage: false,
    });
    new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Every route authenticates in the API itself (control-plane/auth.ts): scoped API keys, operator JWTs from the operators user pool, HMAC-signed signup webhooks. A gateway authorizer cannot express the three.',
    });

    new events.Rule(this, 'ResumeOpenOperations', {
      description:
        'Restarts operations whose workflow start was lost (idempotent: execution name = operation id)',
      schedule: events.Schedule.rate(Duration.minutes(10)),
      targets: [
        new targets.LambdaFunction(this.apiFunction, {
          event: events.RuleTargetInput.fromObject(RESUME_OPEN_EVENT),
        }),
      ],
    });

    for (const fn of [this.taskFunction, this.apiFunction]) {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the newest runtime the control plane supports and tests (node 20 and 22, package.json engines).',
      });
    }

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output('ApiUrl', this.api.apiEndpoint, 'The control plane API (tenantctl --url)');
    output('RegistryTableName', this.registryTable.tableName, 'REGISTRY_TABLE');
    output('StateMachineArnPrefix', this.stateMachineArnPrefix, 'STATE_MACHINE_ARN_PREFIX');
    output('TaskFunctionArn', this.taskFunction.functionArn, 'The task function every Task state invokes');
    output('TenantStackRoleArn', this.tenantStackRole.role.roleArn, 'RoleARN of tenant stacks');
    output('OperatorsUserPoolId', this.operators.userPoolId, 'Operators sign in here (JWT issuer)');
    output('OperatorsClientId', this.operatorsClient.userPoolClientId, 'JWT_AUDIENCE');
    output('JwtIssuer', jwtIssuer, 'JWT_ISSUER');
    output('AdminKeySecretArn', adminKey.secretArn, 'The admin API key');
    output('SignupWebhookSecretArn', webhookSecret.secretArn, 'The signup webhook secret');
  }

  private grantTaskPermissions(
    role: iam.Role,
    registry: iam.PolicyStatement,
    settings: InfraSettings,
    platform: PlatformDeploymentStack,
  ): void {
    const { prefix } = settings;
    const execRoleArn = this.tenantStackRole.role.roleArn;
    const stacks = tenantStacksArn(prefix);
    const ownStacks = [platform.stackName, this.stackName].map(
      (name) => `arn:${Aws.PARTITION}:cloudformation:${Aws.REGION}:${Aws.ACCOUNT_ID}:stack/${name}/*`,
    );
    const apigw = (path: string) => `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::${path}`;
    const rds = (resource: string) => `arn:${Aws.PARTITION}:rds:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    const plans = Object.values(this.usagePlans).map((p) => p.ref);
    const statements = [
      registry,
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
        resources: [stacks],
      }),
      new iam.PolicyStatement({
        sid: 'TenantStacksWithExecutionRole',
        actions: ['cloudformation:CreateStack', 'cloudformation:UpdateStack'],
        resources: [stacks],
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
        ],
        resources: [this.tenantUserPool.attrArn],
      }),
      new iam.PolicyStatement({
        sid: 'FindTenantUserPool',
        actions: ['cognito-idp:ListUserPools'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'TenantApiKeys',
        actions: ['apigateway:GET', 'apigateway:POST'],
        resources: [apigw('/apikeys')],
      }),
      new iam.PolicyStatement({
        sid: 'TenantApiKey',
        actions: ['apigateway:PATCH', 'apigateway:DELETE'],
        resources: [apigw('/apikeys/*')],
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['apigateway:POST'],
        resources: [apigw('/tags/*')],
      }),
      new iam.PolicyStatement({
        sid: 'FindUsagePlans',
        actions: ['apigateway:GET'],
        resources: [apigw('/usageplans')],
      }),
      new iam.PolicyStatement({
        sid: 'UsagePlanKeys',
        actions: ['apigateway:GET', 'apigateway:POST'],
        resources: plans.map((id) => apigw(`/usageplans/${id}/keys`)),
      }),
      new iam.PolicyStatement({
        sid: 'UsagePlanKey',
        actions: ['apigateway:DELETE'],
        resources: plans.map((id) => apigw(`/usageplans/${id}/keys/*`)),
      }),
      new iam.PolicyStatement({
        sid: 'LifecycleEvents',
        actions: ['events:PutEvents'],
        resources: [Fn.importValue(platform.exportName('EventBusArn'))],
      }),
      new iam.PolicyStatement({
        sid: 'TenantDatabasesRead',
        actions: ['rds:DescribeDBInstances'],
        resources: [rds('db:*')],
      }),
      new iam.PolicyStatement({
        sid: 'TenantDatabases',
        actions: ['rds:StartDBInstance', 'rds:StopDBInstance', 'rds:CreateDBSnapshot'],
        resources: [rds('db:*')],
        conditions: { Null: { 'aws:ResourceTag/TenantId': 'false' } },
      }),
      new iam.PolicyStatement({
        sid: 'TenantDatabaseSnapshots',
        actions: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
        resources: [rds(`snapshot:${prefix}-*`)],
      }),
      new iam.PolicyStatement({
        sid: 'DedicatedAccounts',
        actions: [
          'organizations:CreateAccount',
          'organizations:DescribeCreateAccountStatus',
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
        resources: [`arn:${Aws.PARTITION}:iam::*:role/${settings.accountRoleName}`],
      }),
    ];
    for (const s of statements) role.addToPolicy(s);

    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Organizations account vending (CreateAccount, DescribeCreateAccountStatus, MoveAccount, CloseAccount, CreateOrganizationalUnit, the List calls, TagResource) acts on accounts and OUs that do not exist before the call and whose ids are not known at deploy time; cognito-idp:ListUserPools and X-Ray tracing have no resource-level permissions. Dedicated-account tenants need the former; nothing here reaches tenant data.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${prefix}-*/*]`,
        reason:
          "Tenant stacks are named <prefix>-<slug>-<isolation>; creating or updating one requires RoleARN = the tenant-stack execution role, and the control plane's own stacks are denied explicitly.",
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
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/<${this.resolve(plan.logicalId)}>/keys/*]`,
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
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${settings.accountRoleName}]`,
        reason:
          'Dedicated-account tenants: the vended accounts are created at run time, so their ids are unknown at deploy time; only the role Organizations creates in each (accountRoleName) may be assumed.',
      },
    );
  }
}

function registryTable(scope: Construct, tableName: string): dynamodb.Table {
  const definition = registryTableDefinition(tableName);
  const attribute = (name: string | undefined): dynamodb.Attribute => {
    const found = definition.AttributeDefinitions?.find((a) => a.AttributeName === name);
    if (!found?.AttributeName) throw new Error(`registry table: no attribute definition for ${name}`);
    const type = {
      S: dynamodb.AttributeType.STRING,
      N: dynamodb.AttributeType.NUMBER,
      B: dynamodb.AttributeType.BINARY,
    }[found.AttributeType as 'S' | 'N' | 'B'];
    return { name: found.AttributeName, type };
  };
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => {
    const sort = schema?.find((k) => k.KeyType === 'RANGE');
    return {
      partitionKey: attribute(schema?.find((k) => k.KeyType === 'HASH')?.AttributeName),
      ...(sort ? { sortKey: attribute(sort.AttributeName) } : {}),
    };
  };
  const table = new dynamodb.Table(scope, 'Registry', {
    tableName: definition.TableName,
    ...keys(definition.KeySchema),
    billingMode:
      definition.BillingMode === 'PAY_PER_REQUEST'
        ? dynamodb.BillingMode.PAY_PER_REQUEST
        : dynamodb.BillingMode.PROVISIONED,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const index of definition.GlobalSecondaryIndexes ?? []) {
    table.addGlobalSecondaryIndex({
      indexName: index.IndexName!,
      ...keys(index.KeySchema),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}

/** Tags ensurePlatform gives the tenant user pool and usage plans (templates/platform-access.ts). */
function platformTags(prefix: string, extra: Record<string, string> = {}): { key: string; value: string }[] {
  const tags: Record<string, string> = {
    TenantId: 'platform',
    Tier: 'platform',
    Isolation: 'platform',
    ManagedBy: 'tenant-control-plane',
    ResourcePrefix: prefix,
    ...extra,
  };
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/**
 * `<prefix>-tenants`, exactly as ensureUserPool makes it locally (templates/platform-access.ts):
 * admin-created users only, the same password policy, an immutable `tenantId` attribute, TOTP MFA
 * optional. The workflows find it by name.
 */
function tenantUserPool(scope: Construct, prefix: string): cognito.CfnUserPool {
  const pool = new cognito.CfnUserPool(scope, 'TenantUserPool', {
    userPoolName: `${prefix}-tenants`,
    userPoolTags: Object.fromEntries(platformTags(prefix).map((t) => [t.key, t.value])),
    deletionProtection: 'ACTIVE',
    adminCreateUserConfig: { allowAdminCreateUserOnly: true },
    policies: {
      passwordPolicy: {
        minimumLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireNumbers: true,
        requireSymbols: true,
        temporaryPasswordValidityDays: 7,
      },
    },
    schema: [
      {
        name: 'tenantId',
        attributeDataType: 'String',
        mutable: false,
        stringAttributeConstraints: { maxLength: '64' },
      },
    ],
    mfaConfiguration: 'OPTIONAL',
    enabledMfas: ['SOFTWARE_TOKEN_MFA'],
  });
  pool.applyRemovalPolicy(RemovalPolicy.RETAIN);
  Validations.of(pool).acknowledge(
    {
      id: 'AwsSolutions-COG2',
      reason:
        "Tenants' end users: MFA is optional (TOTP) as in local mode, because requiring it is each tenant's product decision; operators, who administer tenants, have MFA required.",
    },
    ...['AwsSolutions-COG3', 'AwsSolutions-COG8'].map((id) => ({
      id,
      reason:
        "Tenants' end users are created by the onboarding workflow only (no self sign-up); threat protection (Plus plan) is priced per active user and is the application's choice, as in local mode.",
    })),
  );
  return pool;
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

import { type CfnElement, CfnOutput, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ISOLATIONS } from '../../core/rollouts/records.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { Api } from './constructs/api.js';
import { LifecycleWorkflows } from './constructs/lifecycle-workflows.js';
import { Operators } from './constructs/operators.js';
import { RegistryTable } from './constructs/registry-table.js';
import { logicalIdScopes } from './constructs/resource-group.js';
import { TenantAccess } from './constructs/tenant-access.js';
import { FUNCTION_DATA_DIR, SECRET_ARN_VARIABLES } from './contract.js';
import type { PlatformDeploymentStack } from './platform-stack.js';
import type { InfraSettings } from './settings.js';
import { BUNDLED_TIER_CATALOG, type PreparedTemplates } from './templates.js';

export { WORKFLOW_IDS } from './constructs/lifecycle-workflows.js';
export { OPERATOR_GROUPS } from './constructs/operators.js';

export interface ControlPlaneStackProps extends StackProps {
  readonly settings: InfraSettings;
  readonly templates: PreparedTemplates;
  /** The platform stack this one reads (event bus) and names (its stack is protected from the task role). */
  readonly platform: PlatformDeploymentStack;
  /** Allowed regions besides this stack's, each with a platform stack of its own (infra.ts). @default none */
  readonly otherRegions?: readonly string[];
  /** A directory for files staged into the bundles (esbuild bundling only). */
  readonly stagingDir: string;
}

/** Settings-derived environment both functions share (see core/config.ts ENV_VARS). */
export function commonEnvironment(
  settings: InfraSettings,
  registryTable: string,
  otherRegions: readonly string[],
  templates: Pick<PreparedTemplates, 'templates'>,
): Record<string, string> {
  const bundled = ISOLATIONS.flatMap((isolation) => {
    const t = templates.templates[isolation];
    return t ? [`${isolation}=${t.versionId}`] : [];
  });
  return {
    CONTROL_PLANE_TARGET: 'aws',
    WORKFLOW_ENGINE: 'stepfunctions',
    RESOURCE_PREFIX: settings.prefix,
    REGISTRY_TABLE: registryTable,
    CONTROL_PLANE_DATA_DIR: FUNCTION_DATA_DIR,
    RESUME_ON_START: 'false',
    LOG_LEVEL: settings.logLevel,
    ...(settings.tierCatalogFile ? { TIER_CATALOG_FILE: `/var/task/${BUNDLED_TIER_CATALOG}` } : {}),
    ...(settings.allowedRegions.length > 0 ? { ALLOWED_REGIONS: settings.allowedRegions.join(',') } : {}),
    // The regions with a platform: where the functions are granted to build tenants.
    ...(otherRegions.length > 0 ? { PLATFORM_REGIONS: otherRegions.join(',') } : {}),
    // The versions the task bundle carries: `latest` before its first start registered them.
    ...(bundled.length > 0 ? { BUNDLED_TEMPLATE_VERSIONS: bundled.join(',') } : {}),
  };
}

/**
 * The control plane on AWS (docs/deploy.md), five constructs in dependency order:
 * - RegistryTable: the registry table (registryTableDefinition);
 * - TenantAccess: the tenants' user pool and usage plans (the definitions ensurePlatform sends
 *   locally) and the CloudFormation role tenant stacks are created with;
 * - LifecycleWorkflows: one Standard state machine per operation (the local engine's ASL text),
 *   the task function they invoke, and failure alarms;
 * - Operators: the operators' user pool, the API's JWT issuer;
 * - Api: the API function behind an HTTP API, its secrets and the resume schedule.
 * The constructs are resource groups: every logical id is the one it had before the split.
 */
export class ControlPlaneStack extends Stack {
  readonly registry: RegistryTable;
  readonly tenantAccess: TenantAccess;
  readonly alarmTopic: sns.Topic;
  readonly workflows: LifecycleWorkflows;
  readonly operators: Operators;
  readonly api: Api;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, {
      description: `Tenant control plane (${props.settings.prefix}): registry, workflows, API, operators`,
      terminationProtection: true,
      ...props,
    });
    const { settings, platform } = props;
    const otherRegions = props.otherRegions ?? [];
    const { prefix } = settings;
    this.addStackDependency(platform);

    this.registry = new RegistryTable(this, 'RegistryTable', { tableName: settings.registryTable });
    this.tenantAccess = new TenantAccess(this, 'TenantAccess', {
      prefix,
      catalog: TierCatalog.load(settings.tierCatalogFile),
      protectedStackNames: [platform.stackName, this.stackName],
      eventBusArn: Fn.importValue(platform.exportName('EventBusArn')),
      accountRoleName: settings.accountRoleName,
      tenantApiId: Fn.importValue(platform.exportName('TenantApiId')),
      otherRegions,
    });

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

    const environment = commonEnvironment(
      settings,
      this.registry.table.tableName,
      otherRegions,
      props.templates,
    );
    this.workflows = new LifecycleWorkflows(this, 'LifecycleWorkflows', {
      settings,
      templates: props.templates,
      stagingDir: props.stagingDir,
      environment,
      tenantStackRole: this.tenantAccess.stackRole,
      alarmTopic: this.alarmTopic,
    });
    this.registry.grantReadWrite(this.workflows.taskRole);
    this.tenantAccess.grantTenantLifecycle(this.workflows.taskRole);
    this.workflows.grantRolloutControl(this.workflows.taskRole, { startsUpdates: true });

    this.tenantAccess.addPreTokenTrigger(settings.bundling, TierCatalog.load(settings.tierCatalogFile));

    this.operators = new Operators(this, 'Operators', { prefix });
    this.api = new Api(this, 'Api', {
      settings,
      stagingDir: props.stagingDir,
      environment,
      registry: this.registry,
      workflows: this.workflows,
      operators: this.operators,
      otherRegions,
    });
    this.tenantAccess.grantTenantAccessApi(this.api.role);
    this.wireStripeSecrets(settings);

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output('ApiUrl', this.api.httpApi.apiEndpoint, 'The control plane API (tenantctl --url)');
    output('RegistryTableName', this.registry.table.tableName, 'REGISTRY_TABLE');
    output('StateMachineArnPrefix', this.workflows.stateMachineArnPrefix, 'STATE_MACHINE_ARN_PREFIX');
    output(
      'TaskFunctionArn',
      this.workflows.taskFunction.functionArn,
      'The task function every Task state invokes',
    );
    output('TenantStackRoleArn', this.tenantAccess.stackRole.role.roleArn, 'RoleARN of tenant stacks');
    output('OperatorsUserPoolId', this.operators.userPool.userPoolId, 'Operators sign in here (JWT issuer)');
    output('OperatorsClientId', this.operators.client.userPoolClientId, 'JWT_AUDIENCE');
    output('JwtIssuer', this.operators.jwtIssuer, 'JWT_ISSUER');
    output('AdminKeySecretArn', this.api.adminKey.secretArn, 'The admin API key');
    output('SignupWebhookSecretArn', this.api.webhookSecret.secretArn, 'The signup webhook secret');
  }

  /** Resource groups take no part in logical ids (constructs/resource-group.ts). */
  protected override allocateLogicalId(element: CfnElement): string {
    // Stack.allocateLogicalId reads the element's stack and scopes only (stack.test.ts
    // fails if a CDK upgrade changes that).
    return super.allocateLogicalId({
      stack: element.stack,
      node: { scopes: logicalIdScopes(element) },
    } as unknown as CfnElement);
  }

  /**
   * Billing on Stripe: the operator's own secrets (Stripe issues the key; nothing here can generate
   * it), named to the functions that read them at start-up, each granted read on exactly its ARN.
   * The task function runs the billing steps (key); the API serves the webhook (key and secret).
   */
  private wireStripeSecrets(settings: InfraSettings): void {
    const task = { fn: this.workflows.taskFunction, role: this.workflows.taskRole };
    const api = { fn: this.api.function, role: this.api.role };
    const wire = (
      id: string,
      arn: string | undefined,
      variable: string,
      readers: { fn: lambda.Function; role: iam.Role }[],
    ) => {
      if (!arn) return;
      const secret = secretsmanager.Secret.fromSecretCompleteArn(this, id, arn);
      for (const { fn, role } of readers) {
        fn.addEnvironment(variable, arn);
        secret.grantRead(role);
      }
    };
    wire('StripeSecretKey', settings.stripeSecretKeyArn, SECRET_ARN_VARIABLES.stripeSecretKey, [task, api]);
    wire('StripeWebhookSecret', settings.stripeWebhookSecretArn, SECRET_ARN_VARIABLES.stripeWebhookSecret, [
      api,
    ]);
  }
}

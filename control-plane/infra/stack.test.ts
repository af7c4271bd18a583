import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { OPERATION_TYPES } from '../../core/lifecycle.js';
import { registryTableDefinition } from '../../core/registry/table.js';
import {
  type CfnTemplate,
  PLATFORM_OUTPUTS,
  type SynthesizedTemplate,
  tenantUserPoolDefinition,
  usagePlanDefinition,
} from '../../templates/index.js';
import {
  policyStatements as hardeningStatements,
  render,
  resourcesOf as renderedResources,
} from '../../test/hardening/support/policies.js';
import { testSynth } from '../../test/support/control-plane.js';
import { evaluate, type Statement } from '../../test/support/iam-eval.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { TASK_FUNCTION_PLACEHOLDER } from '../../workflows/definitions/builder.js';
import { definitionText } from '../../workflows/definitions/index.js';
import { rolloutDefinitionText } from '../../workflows/rollouts/definition.js';
import {
  CLOUDFORMATION_ROLE_ARN_VARIABLE,
  SECRET_ARN_VARIABLES,
  TASK_TEMPLATE_CACHE_DIR,
} from './contract.js';
import { commonEnvironment, OPERATOR_GROUPS } from './control-plane-stack.js';
import { STUB_CODE } from './functions.js';
import { buildInfra, type ControlPlaneInfra, synthesizeInfra } from './infra.js';
import {
  actionCovers,
  actionsOf,
  boundaryViolations,
  type FoundStatement,
  policyStatements,
  renderValue,
  resourcesOf,
} from './policy-walk.js';
import { settingsFromValues } from './settings.js';
import { BUNDLED_TEMPLATE_CACHE, prepareTemplates } from './templates.js';

/**
 * The synthesized control-plane and platform stacks (stub function code: no bundling), asserted
 * resource by resource, then every IAM statement against the boundaries of docs/deploy.md, then
 * cdk-nag AwsSolutions.
 */

const PREFIX = 'acme';
const outdir = mkdtempSync(join(tmpdir(), 'tcp-infra-stack-'));
let infra: ControlPlaneInfra;
let cp: Template;
let cpJson: CfnTemplate;
let platformJson: CfnTemplate;
let platform: Template;

beforeAll(async () => {
  const settings = settingsFromValues({
    prefix: PREFIX,
    bundling: 'prebuilt-stub',
    templateCacheDir: inject('templateCacheDir'),
    // Every optional resource present (the alarm topic's e-mail subscription): logical-ids.json.
    alarmEmail: 'ops@example.com',
  });
  const templates = await prepareTemplates(settings.templateCacheDir, ['platform']);
  infra = buildInfra({
    app: new App({ outdir, builtinCloudFormationValidation: false }),
    settings,
    templates,
  });
  const synthesized = synthesizeInfra(infra);
  cpJson = synthesized.controlPlane;
  platformJson = synthesized.platform;
  cp = Template.fromJSON(cpJson);
  platform = Template.fromJSON(platformJson);
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ofType = (json: CfnTemplate, type: string) =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type);
const logicalId = (json: CfnTemplate, type: string, match: (props: Record<string, unknown>) => boolean) => {
  const hits = ofType(json, type).filter(([, r]) => match(r.Properties ?? {}));
  expect(hits, `exactly one ${type}`).toHaveLength(1);
  return hits[0]![0];
};
const fnEnv = (json: CfnTemplate, id: string) =>
  (json.Resources[id]?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)
    ?.Variables ?? {};
const taskFunctionId = () =>
  logicalId(cpJson, 'AWS::Lambda::Function', (p) => String(p.Description).includes('task handlers'));
const apiFunctionId = () =>
  logicalId(cpJson, 'AWS::Lambda::Function', (p) => String(p.Description).endsWith('control plane: API'));
const execRoleId = () =>
  logicalId(cpJson, 'AWS::IAM::Role', (p) =>
    JSON.stringify(p.AssumeRolePolicyDocument).includes('cloudformation.amazonaws.com'),
  );

describe('registry table', () => {
  it('has the keys and indexes of registryTableDefinition, PITR, deletion protection, and is retained', () => {
    const definition = registryTableDefinition(`${PREFIX}-registry`);
    const tables = ofType(cpJson, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const table = tables[0]![1] as { Properties: Record<string, unknown> };
    expect(table.Properties.TableName).toBe(definition.TableName);
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
    const sortByName = <T extends { AttributeName?: string; IndexName?: string }>(xs: T[]) =>
      [...xs].sort((a, b) =>
        String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)),
      );
    expect(sortByName(table.Properties.AttributeDefinitions as never[])).toEqual(
      sortByName(definition.AttributeDefinitions ?? []),
    );
    expect(sortByName(table.Properties.GlobalSecondaryIndexes as never[])).toEqual(
      sortByName(definition.GlobalSecondaryIndexes ?? []),
    );
    cp.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('workflows', () => {
  it('one Standard state machine per operation, named <prefix>-<type>, running the local engine’s text', () => {
    // One per operation, the reconcile workflow (docs/reconcile.md) and the rollout workflow.
    cp.resourceCountIs('AWS::StepFunctions::StateMachine', OPERATION_TYPES.length + 2);
    const task = taskFunctionId();
    for (const type of OPERATION_TYPES) {
      const id = logicalId(
        cpJson,
        'AWS::StepFunctions::StateMachine',
        (p) => p.StateMachineName === `${PREFIX}-${type}`,
      );
      const props = cpJson.Resources[id]!.Properties!;
      expect(props.StateMachineType).toBe('STANDARD');
      // Byte for byte what the local engine runs before substitution; CloudFormation substitutes.
      expect(props.DefinitionString).toBe(definitionText(type));
      expect(props.DefinitionSubstitutions).toEqual({ TaskFunctionArn: { 'Fn::GetAtt': [task, 'Arn'] } });
      expect(props.TracingConfiguration).toEqual({ Enabled: true });
      expect(props.LoggingConfiguration).toMatchObject({
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } },
        ],
      });
    }
  });

  it('an alarm per state machine on ExecutionsFailed, notifying the alarm topic', () => {
    for (const type of OPERATION_TYPES) {
      const machine = logicalId(
        cpJson,
        'AWS::StepFunctions::StateMachine',
        (p) => p.StateMachineName === `${PREFIX}-${type}`,
      );
      cp.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
      });
    }
  });

  it('the state machines invoke the task function and nothing else', () => {
    // The lifecycle machines share a role; the rollout machine has its own (its Distributed Map).
    const roles = new Set(
      ofType(cpJson, 'AWS::StepFunctions::StateMachine').map(([, r]) => renderValue(r.Properties?.RoleArn)),
    );
    expect(roles.size).toBe(2);
    for (const role of roles) {
      const roleId = role.replace(/^\$\{|\.Arn\}$/g, '');
      const invokes = policyStatements(cpJson).filter(
        (s) => s.roles.includes(roleId) && actionsOf(s.statement).some((a) => a.startsWith('lambda:')),
      );
      expect(invokes.map((s) => [actionsOf(s.statement), resourcesOf(s.statement)])).toEqual([
        [['lambda:InvokeFunction'], [`\${${taskFunctionId()}.Arn}`]],
      ]);
    }
  });
});

const ROLLOUT_MACHINE_ARN = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${PREFIX}-rollout`;
const ROLLOUT_EXECUTIONS = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${PREFIX}-rollout`;
const rolloutMachineId = () =>
  logicalId(cpJson, 'AWS::StepFunctions::StateMachine', (p) => p.StateMachineName === `${PREFIX}-rollout`);
/** Every states:* action a role holds, with its resources. */
const statesGrants = (roleId: string) =>
  policyStatements(cpJson)
    .filter((s) => s.roles.includes(roleId))
    .flatMap((s) =>
      actionsOf(s.statement)
        .filter((a) => a.startsWith('states:'))
        .map((a) => [a, resourcesOf(s.statement).sort()] as const),
    )
    .sort(([a], [b]) => a.localeCompare(b));
const roleOf = (resourceId: string) =>
  renderValue(
    cpJson.Resources[resourceId]!.Properties!.Role ?? cpJson.Resources[resourceId]!.Properties!.RoleArn,
  ).replace(/^\$\{|\.Arn\}$/g, '');

describe('rollout workflow (docs/rollouts.md)', () => {
  it('is <prefix>-rollout, Standard, running the embedded engine’s text, logged, traced and alarmed', () => {
    const props = cpJson.Resources[rolloutMachineId()]!.Properties!;
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.DefinitionString).toBe(rolloutDefinitionText());
    expect(props.DefinitionSubstitutions).toEqual({
      TaskFunctionArn: { 'Fn::GetAtt': [taskFunctionId(), 'Arn'] },
    });
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    cp.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: rolloutMachineId() } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  it('runs each wave as a DISTRIBUTED Map of STANDARD child executions, its concurrency and tolerance from the plan', () => {
    const definition = JSON.parse(String(cpJson.Resources[rolloutMachineId()]!.Properties!.DefinitionString));
    const maps = Object.entries(definition.States as Record<string, Record<string, unknown>>).filter(
      ([, state]) => state.Type === 'Map',
    );
    expect(maps.map(([name]) => name)).toEqual(['RunWave']);
    const [, map] = maps[0]!;
    expect(map).toMatchObject({
      ItemsPath: '$.plan.items',
      MaxConcurrencyPath: '$.plan.maxConcurrency',
      ToleratedFailureCountPath: '$.plan.toleratedFailures',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    // Every Task invokes the task function, dispatched there by `task` (isRolloutTask).
    const tasks = [
      ...Object.values(definition.States as Record<string, Record<string, unknown>>),
      ...Object.values((map.ItemProcessor as { States: Record<string, Record<string, unknown>> }).States),
    ].filter((state) => state.Type === 'Task');
    expect(tasks.length).toBe(3);
    for (const task of tasks) expect(task.Resource).toBe(TASK_FUNCTION_PLACEHOLDER);
  });

  it('its role starts child executions on its own machine and describes and stops only its executions', () => {
    expect(statesGrants(roleOf(rolloutMachineId()))).toEqual([
      ['states:DescribeExecution', [`${ROLLOUT_EXECUTIONS}/*`, `${ROLLOUT_EXECUTIONS}:*`]],
      ['states:StartExecution', [ROLLOUT_MACHINE_ARN]],
      ['states:StopExecution', [`${ROLLOUT_EXECUTIONS}/*`, `${ROLLOUT_EXECUTIONS}:*`]],
    ]);
  });

  it('the task function starts update-template and rollback executions: its prefix and grants', () => {
    const env = fnEnv(cpJson, taskFunctionId());
    const prefix = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${PREFIX}-`;
    expect(renderValue(env.STATE_MACHINE_ARN_PREFIX)).toBe(prefix);
    expect(statesGrants(roleOf(taskFunctionId()))).toEqual([
      ['states:DescribeExecution', [`${ROLLOUT_EXECUTIONS}:*`]],
      ['states:StartExecution', [ROLLOUT_MACHINE_ARN, `${prefix}update-template`].sort()],
      ['states:StopExecution', [`${ROLLOUT_EXECUTIONS}:*`]],
    ]);
  });
});

describe('functions', () => {
  it('both run Node.js 22 with X-Ray tracing, each under its own role', () => {
    for (const id of [taskFunctionId(), apiFunctionId()]) {
      expect(cpJson.Resources[id]?.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        TracingConfig: { Mode: 'Active' },
        Code: { ZipFile: STUB_CODE },
      });
    }
    expect(cpJson.Resources[taskFunctionId()]?.Properties?.Role).not.toEqual(
      cpJson.Resources[apiFunctionId()]?.Properties?.Role,
    );
  });

  it('the task function finds its templates in the bundle and the CloudFormation role in its environment', () => {
    const env = fnEnv(cpJson, taskFunctionId());
    expect(env.TEMPLATE_CACHE_DIR).toBe(TASK_TEMPLATE_CACHE_DIR);
    expect(TASK_TEMPLATE_CACHE_DIR).toBe(`/var/task/${BUNDLED_TEMPLATE_CACHE}`);
    expect(env[CLOUDFORMATION_ROLE_ARN_VARIABLE]).toEqual({ 'Fn::GetAtt': [execRoleId(), 'Arn'] });
    expect(env).toMatchObject({
      RESOURCE_PREFIX: PREFIX,
      WORKFLOW_ENGINE: 'stepfunctions',
      CONTROL_PLANE_TARGET: 'aws',
    });
  });

  it("both functions carry the task bundle's template versions, as the config reads them", () => {
    const t = (versionId: string) => ({ versionId, body: '{}' }) as SynthesizedTemplate;
    const env = commonEnvironment(settingsFromValues({ prefix: PREFIX }), 'registry', [], {
      templates: { platform: t('000000000000'), pool: t('0123456789ab'), silo: t('ba9876543210') },
    });
    expect(env.BUNDLED_TEMPLATE_VERSIONS).toBe('pool=0123456789ab,silo=ba9876543210');
    expect(loadConfig({ env }).bundledTemplateVersions).toEqual({
      pool: '0123456789ab',
      silo: 'ba9876543210',
    });
    // A synth with no tenant templates (as this file's) sets none.
    expect(fnEnv(cpJson, apiFunctionId()).BUNDLED_TEMPLATE_VERSIONS).toBeUndefined();
  });

  it('the API starts workflows on the deployed state machines: prefix + operation type = state machine ARN', () => {
    const env = fnEnv(cpJson, apiFunctionId());
    const prefix = renderValue(env.STATE_MACHINE_ARN_PREFIX);
    expect(prefix).toBe(
      `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${PREFIX}-`,
    );
    // The configuration the API loads from this environment (tokens given sample values).
    const sample = (v: unknown) =>
      renderValue(v)
        .replaceAll(`\${AWS::Partition}`, 'aws')
        .replaceAll(`\${AWS::Region}`, 'eu-west-1')
        .replaceAll(`\${AWS::AccountId}`, '111122223333')
        .replaceAll(`\${AWS::URLSuffix}`, 'amazonaws.com')
        .replace(/\$\{[^}]+\}/g, 'resolved');
    const config = loadConfig({
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, sample(v)])),
    });
    expect(config).toMatchObject({
      target: 'aws',
      engine: 'stepfunctions',
      resourcePrefix: PREFIX,
      jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/resolved',
    });
    for (const type of OPERATION_TYPES) {
      // What StepFunctionsEngine is given by the API (control-plane/lambda.ts) and createWorkflows.
      expect(`${config.stateMachineArnPrefix}${type}`).toBe(
        `arn:aws:states:eu-west-1:111122223333:stateMachine:${PREFIX}-${type}`,
      );
    }
    const table = logicalId(cpJson, 'AWS::DynamoDB::Table', (p) => p.TableName === `${PREFIX}-registry`);
    expect(env.REGISTRY_TABLE).toEqual({ Ref: table });
    const operators = logicalId(
      cpJson,
      'AWS::Cognito::UserPool',
      (p) => p.UserPoolName === `${PREFIX}-operators`,
    );
    expect(renderValue(env.JWT_ISSUER)).toBe(
      `https://cognito-idp.\${AWS::Region}.\${AWS::URLSuffix}/\${${operators}}`,
    );
    expect(renderValue(env.JWT_AUDIENCE)).toMatch(/^\$\{OperatorsCli/);
    // The stack's own secrets; the Stripe ones only when configured (billing on Stripe, below).
    for (const variable of [SECRET_ARN_VARIABLES.adminKey, SECRET_ARN_VARIABLES.signupWebhookSecret])
      expect(renderValue(env[variable])).toMatch(/^\$\{/);
  });

  it('the API role starts executions and reads none of the lifecycle ones; of rollouts it supersedes the last', () => {
    const grants = statesGrants(roleOf(apiFunctionId()));
    // Operation status comes from the registry; a resume stops a rollout's draining execution.
    expect(grants.map(([action]) => action)).toEqual([
      'states:DescribeExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    const machines = OPERATION_TYPES.map((type) => ({
      Ref: logicalId(
        cpJson,
        'AWS::StepFunctions::StateMachine',
        (p) => p.StateMachineName === `${PREFIX}-${type}`,
      ),
    }));
    expect(grants.filter(([a]) => a === 'states:StartExecution').map(([, r]) => r)).toEqual(
      expect.arrayContaining([machines.map((m) => renderValue(m)).sort(), [ROLLOUT_MACHINE_ARN]]),
    );
    for (const [action, resources] of grants)
      if (action !== 'states:StartExecution') expect(resources).toEqual([`${ROLLOUT_EXECUTIONS}:*`]);
  });

  it('the API is an HTTP API whose default route is the API function, with access logs', () => {
    cp.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [apiFunctionId(), 'Arn'] },
    });
    cp.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    cp.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] },
      },
    });
  });
});

describe('identity and access', () => {
  it('operators sign in to a pool with MFA required; their groups are the API scopes', () => {
    cp.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({
        UserPoolName: `${PREFIX}-operators`,
        MfaConfiguration: 'ON',
        DeletionProtection: 'ACTIVE',
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      }),
      DeletionPolicy: 'Retain',
    });
    for (const group of OPERATOR_GROUPS)
      cp.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: group });
  });

  it("the tenants' user pool and one usage plan per catalog tier, named as ensurePlatform names them", () => {
    cp.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({
        UserPoolName: `${PREFIX}-tenants`,
        DeletionProtection: 'ACTIVE',
        Schema: [
          Match.objectLike({ Name: 'tenantId', Mutable: false }),
          Match.objectLike({ Name: 'tier', Mutable: true }),
        ],
      }),
      DeletionPolicy: 'Retain',
    });
    // Declared from the very requests ensurePlatform sends locally (templates/platform-spec.ts).
    const { create, mfa } = tenantUserPoolDefinition(PREFIX);
    const pool = ofType(cpJson, 'AWS::Cognito::UserPool').find(
      ([, r]) => r.Properties?.UserPoolName === create.PoolName,
    )?.[1].Properties;
    expect(pool).toEqual({
      UserPoolName: create.PoolName,
      UserPoolTags: create.UserPoolTags,
      DeletionProtection: create.DeletionProtection,
      AdminCreateUserConfig: create.AdminCreateUserConfig,
      Policies: create.Policies,
      Schema: create.Schema,
      MfaConfiguration: mfa.MfaConfiguration,
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      // AWS only: the pre-token trigger (moto runs no triggers), V2_0 for access tokens (Essentials).
      UserPoolTier: 'ESSENTIALS',
      LambdaConfig: {
        PreTokenGenerationConfig: {
          LambdaArn: { 'Fn::GetAtt': [expect.stringMatching(/^PreTokenFunction/), 'Arn'] },
          LambdaVersion: 'V2_0',
        },
      },
    });
    const tiers = TierCatalog.load().tiers;
    cp.resourceCountIs('AWS::ApiGateway::UsagePlan', tiers.length);
    for (const tier of tiers) {
      cp.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        UsagePlanName: `${PREFIX}-${tier.name}`,
        Throttle: { RateLimit: tier.throttle.rateLimit, BurstLimit: tier.throttle.burstLimit },
        Quota: { Limit: tier.throttle.dailyQuota, Period: 'DAY' },
        // The same tags ensurePlatform gives the plan (CDK sorts them by key).
        Tags: Object.entries(usagePlanDefinition(PREFIX, tier).tags ?? {})
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([Key, Value]) => ({ Key, Value })),
      });
    }
  });
});

describe('platform stack', () => {
  it('is the platform template, named <prefix>-platform, its version fixed', () => {
    expect(infra.platform.stackName).toBe(`${PREFIX}-platform`);
    expect(Object.keys(platformJson.Parameters ?? {})).toEqual(['BootstrapVersion']);
    expect(platformJson.Outputs?.TemplateVersion?.Value).toBe(infra.platform.versionId);
    for (const name of PLATFORM_OUTPUTS.filter((n) => n !== 'TemplateVersion'))
      expect(platformJson.Outputs?.[name]?.Export, name).toBeDefined();
  });

  it('holds the artifact bucket (encrypted, no public access, TLS only) and the lifecycle event bus', () => {
    const bucket = logicalId(platformJson, 'AWS::S3::Bucket', (p) => 'VersioningConfiguration' in p);
    platform.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    platform.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    platform.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it('the control-plane stack depends on it and publishes events only to its bus', () => {
    expect(infra.controlPlane.dependencies.map((s) => s.stackName)).toEqual([`${PREFIX}-platform`]);
    const events = policyStatements(cpJson).filter((s) =>
      actionsOf(s.statement).includes('events:PutEvents'),
    );
    expect(events.map((s) => resourcesOf(s.statement))).toEqual([
      [`\${import:${PREFIX}-platform-EventBusArn}`],
    ]);
  });
});

describe('IAM boundaries (every statement of both stacks)', () => {
  const all = (): FoundStatement[] => [...policyStatements(cpJson), ...policyStatements(platformJson)];
  const allows = () =>
    all().filter((s) => s.statement.Effect === 'Allow' && s.statement.Resource !== undefined);

  it('walks a realistic number of statements', () => {
    expect(allows().length).toBeGreaterThan(40);
  });

  it('no * action, no * on *, PassRole of the execution role only, CloudFormation on tenant stacks only', () => {
    expect(boundaryViolations(all(), { prefix: PREFIX, executionRole: execRoleId() })).toEqual([]);
    // The task role's explicit Deny keeps it off the control plane's own stacks.
    const denied = all().filter(
      (s) =>
        s.statement.Effect === 'Deny' && actionsOf(s.statement).some((a) => a.startsWith('cloudformation:')),
    );
    expect(denied.map((s) => resourcesOf(s.statement).sort())).toEqual([
      [`${PREFIX}-control-plane`, `${PREFIX}-platform`].map(
        (n) => `arn:\${AWS::Partition}:cloudformation:\${AWS::Region}:\${AWS::AccountId}:stack/${n}/*`,
      ),
    ]);
  });

  it('CloudFormation on * only as read-only account-wide calls: the quota reads (API), the reconcile reads (task)', () => {
    const onStar = allows().filter(
      (s) =>
        resourcesOf(s.statement).includes('*') &&
        actionsOf(s.statement).some((a) => a.startsWith('cloudformation:')),
    );
    expect(onStar.map((s) => actionsOf(s.statement).sort()).sort()).toEqual([
      ['cloudformation:DescribeAccountLimits', 'cloudformation:ListStacks'],
      ['cloudformation:DescribeStackDriftDetectionStatus', 'cloudformation:DescribeStacks'],
    ]);
  });

  it.each([
    ['* on *', { Effect: 'Allow', Action: '*', Resource: '*' }, 'allows every action'],
    ['s3:* on *', { Effect: 'Allow', Action: 's3:*', Resource: '*' }, 's3:* on *'],
    ['PassRole of any role', { Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }, 'iam:PassRole of *'],
    [
      'iam:Pass* of a tenant role',
      { Effect: 'Allow', Action: 'iam:Pass*', Resource: `arn:aws:iam::1:role/${PREFIX}-x` },
      'iam:PassRole of',
    ],
    [
      'CloudFormation beyond the prefix',
      {
        Effect: 'Allow',
        Action: 'cloudformation:DeleteStack',
        Resource: 'arn:aws:cloudformation:*:*:stack/*',
      },
      'CloudFormation on',
    ],
    [
      'CreateStack without the role',
      {
        Effect: 'Allow',
        Action: 'cloudformation:CreateStack',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':cloudformation:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              `:stack/${PREFIX}-*/*`,
            ],
          ],
        },
      },
      'without cloudformation:RoleArn',
    ],
    ['NotAction', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }, 'NotAction'],
    [
      'a stack write beside the account-wide reads',
      {
        Effect: 'Allow',
        Action: ['cloudformation:ListStacks', 'cloudformation:DeleteStack'],
        Resource: '*',
      },
      'CloudFormation on *',
    ],
  ])('the boundary check catches %s', (_name, statement, message) => {
    const tampered = structuredClone(cpJson);
    const [id] = ofType(tampered, 'AWS::IAM::Policy')[0]!;
    const doc = tampered.Resources[id]!.Properties!.PolicyDocument as { Statement: unknown[] };
    doc.Statement.push(statement);
    const violations = boundaryViolations(policyStatements(tampered), {
      prefix: PREFIX,
      executionRole: execRoleId(),
    });
    expect(violations).toContainEqual(expect.stringContaining(message));
  });

  it('iam:PassRole is granted, only of the execution role to CloudFormation (and tenant flow-log and worker roles by that role)', () => {
    const exec = execRoleId();
    const passing = allows().filter((s) =>
      actionsOf(s.statement).some((a) => actionCovers(a, 'iam:PassRole')),
    );
    expect(passing.map((s) => [s.roles.includes(exec), resourcesOf(s.statement)]).sort()).toEqual([
      [false, [`\${${exec}.Arn}`]],
      [true, [`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${PREFIX}-*`]],
    ]);
    const tenantRoles = passing.find((s) => s.roles.includes(exec));
    expect(tenantRoles?.statement.Condition?.StringEquals?.['iam:PassedToService']).toEqual([
      'vpc-flow-logs.amazonaws.com',
      'lambda.amazonaws.com',
    ]);
  });

  it('the boundary check refuses the execution role passing tenant roles to a service besides flow logs and Lambda', () => {
    const tampered = structuredClone(cpJson);
    const role = tampered.Resources[execRoleId()]!.Properties as {
      Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[];
    };
    const pass = role.Policies.flatMap((p) => p.PolicyDocument.Statement).find(
      (st) => st.Sid === 'PassTenantServiceRoles',
    )!;
    pass.Condition = {
      StringEquals: { 'iam:PassedToService': ['lambda.amazonaws.com', 'ec2.amazonaws.com'] },
    };
    const violations = boundaryViolations(policyStatements(tampered), {
      prefix: PREFIX,
      executionRole: execRoleId(),
    });
    expect(violations).toEqual([expect.stringContaining('PassTenantServiceRoles: iam:PassRole of')]);
  });

  it('the execution role creates roles only under the tenant permissions boundary', () => {
    const exec = execRoleId();
    const boundary = logicalId(
      cpJson,
      'AWS::IAM::ManagedPolicy',
      (p) => p.ManagedPolicyName === `${PREFIX}-tenant-role-boundary`,
    );
    const creating = allows().filter((s) =>
      actionsOf(s.statement).some((a) =>
        ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy'].some((x) => actionCovers(a, x)),
      ),
    );
    // The task role may attach one policy only: the platform's deny-all suspension policy.
    const suspension = logicalId(
      cpJson,
      'AWS::IAM::ManagedPolicy',
      (p) => p.ManagedPolicyName === `${PREFIX}-tenant-suspended`,
    );
    const suspending = creating.filter((s) => s.holder !== exec);
    expect(suspending.length).toBe(1);
    for (const { statement } of suspending) {
      expect(actionsOf(statement).sort()).toEqual(['iam:AttachRolePolicy', 'iam:DetachRolePolicy']);
      expect(statement.Condition?.ArnEquals?.['iam:PolicyARN']).toEqual({ Ref: suspension });
    }
    expect(creating.filter((s) => s.holder === exec).length).toBeGreaterThan(0);
    for (const { statement } of creating.filter((s) => s.holder === exec)) {
      expect(actionsOf(statement)).not.toContain('iam:AttachRolePolicy');
      expect(statement.Condition?.StringEquals?.['iam:PermissionsBoundary']).toEqual({ Ref: boundary });
    }
  });

  it('the workflow roles reach only the registry (and its indexes), the tenant user pool and their own scope', () => {
    const table = logicalId(cpJson, 'AWS::DynamoDB::Table', () => true);
    const dynamo = allows().filter(
      (s) =>
        actionsOf(s.statement).some((a) => a.startsWith('dynamodb:')) &&
        s.holderType !== 'AWS::IAM::ManagedPolicy' &&
        // The pooled tenant role (platform stack) is a tenant's, fenced by its session tag: isolation.test.ts.
        !s.holder.startsWith('PooledTenantRole'),
    );
    expect(dynamo.length).toBe(2);
    for (const { statement } of dynamo) {
      for (const r of resourcesOf(statement))
        expect(r).toMatch(new RegExp(`^\\$\\{${table}\\.Arn\\}(/index/[A-Za-z0-9]+)?$`));
    }
    const pool = logicalId(cpJson, 'AWS::Cognito::UserPool', (p) => p.UserPoolName === `${PREFIX}-tenants`);
    const cognito = allows().filter((s) => actionsOf(s.statement).some((a) => a.startsWith('cognito-idp:')));
    for (const { statement } of cognito) {
      const list = actionsOf(statement).every((a) => a === 'cognito-idp:ListUserPools');
      expect(resourcesOf(statement)).toEqual(list ? ['*'] : [`\${${pool}.Arn}`]);
    }
    const assume = allows().filter(
      (s) => actionsOf(s.statement).includes('sts:AssumeRole') && s.statement.Resource,
    );
    expect(assume.map((s) => resourcesOf(s.statement))).toEqual([
      [`arn:\${AWS::Partition}:iam::*:role/OrganizationAccountAccessRole`],
      // Credential vending (the API role): tenant roles of this account, and of dedicated accounts
      // only with a TenantId session tag (their trust requires the tenant's own).
      [`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${PREFIX}-*`],
      [`arn:\${AWS::Partition}:iam::*:role/${PREFIX}-*`],
    ]);
    const dedicated = assume.find((s) => s.statement.Sid === 'VendDedicatedTenantCredentials');
    expect(dedicated?.statement.Condition).toEqual({ StringLike: { 'aws:RequestTag/TenantId': 't_*' } });
  });
});

describe('cdk-nag', () => {
  const check = (stack: Stack) => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    return report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
    );
  };

  it('AwsSolutions passes on both stacks; each acknowledged rule says why', () => {
    expect(check(infra.controlPlane)).toEqual([]);
    expect(check(infra.platform)).toEqual([]);
    const acknowledgments = infra.controlPlane.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgments.length).toBeGreaterThan(10);
    for (const [rule, reason] of acknowledgments)
      expect(reason.length, `reason for ${rule}`).toBeGreaterThan(40);
    const rules = acknowledgments.map(([rule]) => rule.replace(/^Annotation::/, ''));
    expect(rules.filter((r) => !r.startsWith('AwsSolutions-'))).toEqual([]);
  });
});

/**
 * CloudFormation replaces a resource whose logical id changes: a renamed registry table or user
 * pool would be a new, empty one. logical-ids.json pins every logical id (and type) the two stacks
 * had when ControlPlaneStack was split into constructs; an id may only change there on purpose,
 * with the migration it needs. The control-plane stack's set is exact (a new resource is added to
 * the file); the platform stack's ids come from the platform template and may grow.
 */
describe('logical ids', () => {
  const pinned: Record<'Platform' | 'ControlPlane', Record<string, string>> &
    Record<'PlatformOutputs' | 'ControlPlaneOutputs', string[]> = JSON.parse(
    readFileSync(new URL('./logical-ids.json', import.meta.url), 'utf8'),
  );
  const types = (template: CfnTemplate) =>
    Object.fromEntries(Object.entries(template.Resources).map(([id, r]) => [id, r.Type]));

  it('the control-plane stack has exactly the pinned resources and outputs', () => {
    expect(types(cpJson)).toEqual(pinned.ControlPlane);
    expect(Object.keys(cpJson.Outputs ?? {}).sort()).toEqual(pinned.ControlPlaneOutputs);
  });

  it('the platform stack keeps every pinned resource and output', () => {
    expect(types(platformJson)).toMatchObject(pinned.Platform);
    expect(Object.keys(platformJson.Outputs ?? {})).toEqual(expect.arrayContaining(pinned.PlatformOutputs));
  });
});

describe('billing on Stripe', () => {
  const key = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/stripe-key-AbC123';
  const webhook = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/stripe-webhook-XyZ789';
  const secretReads = (json: CfnTemplate, role: string) =>
    policyStatements(json)
      .filter(
        (s) => s.roles.includes(role) && actionsOf(s.statement).includes('secretsmanager:GetSecretValue'),
      )
      .flatMap((s) => resourcesOf(s.statement));
  const roleOf = (json: CfnTemplate, fn: string) =>
    (json.Resources[fn]!.Properties!.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]!;

  it('without the settings, neither function names a Stripe secret', () => {
    for (const fn of [taskFunctionId(), apiFunctionId()]) {
      expect(fnEnv(cpJson, fn)).not.toHaveProperty('STRIPE_SECRET_KEY_SECRET_ARN');
      expect(fnEnv(cpJson, fn)).not.toHaveProperty('STRIPE_WEBHOOK_SECRET_SECRET_ARN');
    }
  });

  it('with them, the task function reads the key and the API both, each granted exactly its ARNs', async () => {
    const settings = settingsFromValues({
      prefix: PREFIX,
      bundling: 'prebuilt-stub',
      templateCacheDir: inject('templateCacheDir'),
      alarmEmail: 'ops@example.com',
      stripeSecretKeyArn: key,
      stripeWebhookSecretArn: webhook,
    });
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'tcp-infra-stripe-')) });
    const json = synthesizeInfra(
      buildInfra({
        app,
        settings,
        templates: await prepareTemplates(settings.templateCacheDir, ['platform']),
      }),
    ).controlPlane;
    const task = logicalId(json, 'AWS::Lambda::Function', (p) =>
      String(p.Description).includes('task handlers'),
    );
    const api = logicalId(json, 'AWS::Lambda::Function', (p) =>
      String(p.Description).endsWith('control plane: API'),
    );
    expect(fnEnv(json, task)).toMatchObject({ STRIPE_SECRET_KEY_SECRET_ARN: key });
    expect(fnEnv(json, task)).not.toHaveProperty('STRIPE_WEBHOOK_SECRET_SECRET_ARN');
    expect(fnEnv(json, api)).toMatchObject({
      STRIPE_SECRET_KEY_SECRET_ARN: key,
      STRIPE_WEBHOOK_SECRET_SECRET_ARN: webhook,
    });
    expect(secretReads(json, roleOf(json, task))).toContain(key);
    expect(secretReads(json, roleOf(json, task))).not.toContain(webhook);
    expect(secretReads(json, roleOf(json, api))).toEqual(expect.arrayContaining([key, webhook]));
    // No resource is added: the secrets are the operator's (logical ids unchanged).
    expect(Object.keys(json.Resources).sort()).toEqual(Object.keys(cpJson.Resources).sort());
  });
});

describe('cfn-lint', () => {
  const installed = spawnSync('cfn-lint', ['--version']).status === 0;
  it.skipIf(!installed)(
    'finds no error in either stack (skipped only when cfn-lint is not installed)',
    () => {
      const files = Object.entries({ controlPlane: cpJson, platform: platformJson }).map(([name, json]) => {
        writeFileSync(join(outdir, `${name}.lint.json`), JSON.stringify(json));
        return join(outdir, `${name}.lint.json`);
      });
      // Warnings (W3005, a DependsOn CDK adds beside a GetAtt) are not errors.
      const { stdout } = spawnSync('cfn-lint', ['--format', 'json', ...files], { encoding: 'utf8' });
      const findings = JSON.parse(stdout || '[]') as { Level: string; Rule: { Id: string } }[];
      expect(findings.filter((f) => f.Level === 'Error').map((f) => f.Rule.Id)).toEqual([]);
    },
  );
});

/** What each store of a tenant key needs of it on a caller's behalf (reads and writes). */
const KEY_USES: Record<string, { store: string; actions: readonly string[] }> = {
  dynamodb: {
    store: 'AWS::DynamoDB::Table',
    actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
  },
  s3: { store: 'AWS::S3::Bucket', actions: ['kms:Decrypt', 'kms:GenerateDataKey'] },
  secretsmanager: { store: 'AWS::SecretsManager::Secret', actions: ['kms:Decrypt'] },
  sqs: { store: 'AWS::SQS::Queue', actions: ['kms:Decrypt'] },
};

/**
 * Every grant of every tenant-stack role, rendered in `region` (the tenant's), evaluated against the
 * boundary of `controlPlane()` (rendered at home, us-east-1).
 */
function boundaryFit(controlPlane: () => CfnTemplate, region: string): void {
  // On AWS every role a tenant stack creates carries the boundary: a grant outside it is dead
  // (moto enforces neither, so only an evaluation shows it). Names as CloudFormation generates them.
  const account = '111122223333';
  const home: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': account,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  // The tenant stack's own pseudo parameters: its region.
  const pseudo: Record<string, string> = { ...home, 'AWS::Region': region };
  const tenantId = 't_01J0000000000000000000ACME';
  const physical = (stack: string, id: string, type: string): string => {
    const name = `${stack}-${id}-1A2B3C4D5E6F`;
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name.toLowerCase()}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${region}:${account}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${region}:${account}:${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${region}:${account}:function:${name}`;
      case 'AWS::Logs::LogGroup':
        return name;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${region}:${account}:secret:${id}-AbCdEf`;
      default:
        throw new Error(`no physical name for ${type} ${id}`);
    }
  };
  const concrete = (s: Record<string, unknown>, lookup: (n: string) => string): Statement => ({
    Effect: s.Effect as 'Allow' | 'Deny',
    Action: actionsOf(s),
    ...(s.Resource !== undefined ? { Resource: renderedResources(s, lookup) } : {}),
    ...(s.Condition
      ? {
          Condition: Object.fromEntries(
            Object.entries(s.Condition as Record<string, Record<string, unknown>>).map(([op, block]) => [
              op,
              Object.fromEntries(
                Object.entries(block).map(([k, v]) => [
                  k,
                  (Array.isArray(v) ? v : [v]).map((x) => render(x, lookup)),
                ]),
              ),
            ]),
          ),
        }
      : {}),
  });
  const boundary = (): Statement[] => {
    const json = controlPlane();
    const id = logicalId(
      json,
      'AWS::IAM::ManagedPolicy',
      (p) => p.ManagedPolicyName === `${PREFIX}-tenant-role-boundary`,
    );
    const doc = json.Resources[id]!.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] };
    return doc.Statement.map((s) => concrete(s, (n) => home[n] ?? `\${${n}}`));
  };

  for (const kind of ['pool', 'bridge', 'silo'] as const) {
    it(`${kind} in ${region}: every grant of every tenant-stack role, on its own resources, is inside the boundary`, async () => {
      const template = JSON.parse((await testSynth().resolve(kind, 'aws')).body) as CfnTemplate;
      const stack = `${PREFIX}-acme-co-${kind}`;
      const params: Record<string, string> = {
        TenantId: tenantId,
        TenantSlug: 'acme-co',
        PooledTableArn: `arn:aws:dynamodb:${region}:${account}:table/${PREFIX}-platform-PooledTable-1A2B3C`,
        ArtifactBucketName: `${PREFIX}-platform-artifactbucket-1a2b3c`,
      };
      const lookup = (n: string): string => {
        if (pseudo[n]) return pseudo[n];
        if (n === 'AWS::StackName') return stack;
        if (params[n]) return params[n];
        const [id, attr] = n.split('.');
        const resource = template.Resources[id!];
        if (!resource) return `\${${n}}`;
        const name = physical(stack, id!, resource.Type);
        if (attr === undefined && resource.Type === 'AWS::KMS::Key') return name.split('/')[1]!;
        if (attr === 'Arn' && resource.Type === 'AWS::Logs::LogGroup')
          return `arn:aws:logs:${region}:${account}:log-group:${name}:*`;
        return name;
      };
      // A key grant is used through the services whose stores the key encrypts: the boundary must
      // admit it through one of them, and each store's own use (KEY_USES) through that store's.
      const stores = Object.values(template.Resources).map((r) => r.Type);
      const via = Object.keys(KEY_USES)
        .filter((svc) => stores.includes(KEY_USES[svc]!.store))
        .map((svc) => `${svc}.${region}.amazonaws.com`);
      const keyUses = new Map<string, Set<string>>();
      const limits = boundary();
      const outside: string[] = [];
      let checked = 0;
      for (const found of hardeningStatements(template)) {
        if (found.kind !== 'identity' || found.statement.Effect !== 'Allow') continue;
        const granted = concrete(found.statement, lookup);
        const conditionValue = (v: string) => v.replace(/\*$/, 'x');
        const base: Record<string, string | string[]> = {
          'aws:PrincipalTag/TenantId': tenantId,
          'aws:ResourceTag/TenantId': tenantId,
        };
        // The statement's own conditions, met (a set operator's key is multi-valued).
        for (const [op, block] of Object.entries(granted.Condition ?? {}))
          for (const [k, v] of Object.entries(block)) {
            const values = [v].flat().map((x) => conditionValue(String(x)));
            if (op === 'Null') continue;
            base[k] = op.includes(':') ? values : values[0]!;
          }
        for (const action of [granted.Action].flat() as string[])
          for (const resource of [granted.Resource ?? []].flat() as string[]) {
            const concreteResource = resource.replace(/\*/g, 'x');
            const decide = (context: Record<string, string | string[]>) => {
              checked += 1;
              return evaluate(
                { identity: [granted], boundary: limits },
                { action, resource: concreteResource, context },
              );
            };
            if (!action.startsWith('kms:')) {
              const decision = decide(base);
              if (decision !== 'allow')
                outside.push(
                  `${found.where} ${String(found.statement.Sid ?? '')}: ${action} on ${concreteResource} (${decision})`,
                );
              continue;
            }
            const through = via.filter((v) => decide({ ...base, 'kms:ViaService': v }) === 'allow');
            if (through.length === 0)
              outside.push(
                `${found.where} ${String(found.statement.Sid ?? '')}: ${action} on ${concreteResource} through no store's service`,
              );
            for (const v of through) keyUses.set(v, (keyUses.get(v) ?? new Set()).add(action));
          }
      }
      expect(checked).toBeGreaterThan(kind === 'pool' ? 5 : 20);
      expect(outside).toEqual([]);
      for (const svc of via) {
        const needed = KEY_USES[svc.split('.')[0]!]!.actions;
        expect([...(keyUses.get(svc) ?? [])].sort(), `the key through ${svc}`).toEqual(
          expect.arrayContaining([...needed]),
        );
      }
      expect(via.length > 0).toBe(kind !== 'pool');
    });
  }
}

describe('tenant permissions boundary admits what the tenant templates grant', () => {
  boundaryFit(() => cpJson, 'us-east-1');
});

/**
 * A deployment that places tenants in two regions (ALLOWED_REGIONS=us-east-1,eu-west-1, home
 * us-east-1): a platform stack in each, the functions and the tenant-stack role granted each by
 * name, the same boundaries as one region.
 */
describe('two allowed regions', () => {
  const EU = 'eu-west-1';
  // How a home-region ARN renders: the stack's own region, as the pseudo parameter.
  const HOME = `\${AWS::Region}`;
  const multiOut = mkdtempSync(join(tmpdir(), 'tcp-infra-regions-'));
  let multi: ControlPlaneInfra;
  let mcp: CfnTemplate;
  let eu: CfnTemplate;
  let templates: Awaited<ReturnType<typeof prepareTemplates>>;
  beforeAll(async () => {
    const settings = settingsFromValues({
      prefix: PREFIX,
      bundling: 'prebuilt-stub',
      templateCacheDir: inject('templateCacheDir'),
      allowedRegions: `us-east-1,${EU}`,
    });
    templates = await prepareTemplates(settings.templateCacheDir, ['platform']);
    multi = buildInfra({
      app: new App({ outdir: multiOut, builtinCloudFormationValidation: false }),
      settings,
      templates,
      env: { account: '111122223333', region: 'us-east-1' },
    });
    const synthesized = synthesizeInfra(multi);
    mcp = synthesized.controlPlane;
    eu = synthesized.regionalPlatforms[EU]!;
  });
  afterAll(() => rmSync(multiOut, { recursive: true, force: true }));

  const all = (): FoundStatement[] => [
    ...policyStatements(mcp),
    ...policyStatements(platformJson),
    ...policyStatements(eu),
  ];
  const rendered = () => JSON.stringify(all().map((s) => s.statement));

  it('synthesizes <prefix>-platform in each region, the other one with its user pool and usage plans', () => {
    expect(Object.keys(multi.regionalPlatforms)).toEqual([EU]);
    const stack = multi.regionalPlatforms[EU]!;
    expect([stack.stackName, stack.region, multi.platform.region]).toEqual([
      `${PREFIX}-platform`,
      EU,
      'us-east-1',
    ]);
    expect(multi.controlPlane.dependencies.map((d) => `${d.stackName}@${d.region}`).sort()).toEqual([
      `${PREFIX}-platform@${EU}`,
      `${PREFIX}-platform@us-east-1`,
    ]);
    // The platform template as at home: readPlatform finds the same outputs there.
    expect(Object.keys(eu.Outputs ?? {})).toEqual(expect.arrayContaining([...PLATFORM_OUTPUTS]));
    const regional = Template.fromJSON(eu);
    regional.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({
        UserPoolName: `${PREFIX}-tenants`,
        LambdaConfig: {
          PreTokenGenerationConfig: {
            LambdaArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PreTokenFunction'), 'Arn'] },
            LambdaVersion: 'V2_0',
          },
        },
      }),
      DeletionPolicy: 'Retain',
    });
    const tenantApi = eu.Outputs?.TenantApiId?.Value;
    const tiers = TierCatalog.load().tiers;
    regional.resourceCountIs('AWS::ApiGateway::UsagePlan', tiers.length);
    for (const tier of tiers)
      regional.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        UsagePlanName: `${PREFIX}-${tier.name}`,
        ApiStages: [{ ApiId: tenantApi, Stage: Match.anyValue() }],
      });
    // Home keeps its user pool and plans in the control-plane stack: the same resources as one region.
    expect(ofType(mcp, 'AWS::Cognito::UserPool')).toHaveLength(2);
    expect(ofType(platformJson, 'AWS::Cognito::UserPool')).toHaveLength(0);
  });

  it('both functions know the regions: ALLOWED_REGIONS, and PLATFORM_REGIONS for where a platform is', () => {
    for (const fn of ofType(mcp, 'AWS::Lambda::Function').filter(([, r]) =>
      /task handlers|control plane: API$/.test(String(r.Properties?.Description)),
    )) {
      const env = fnEnv(mcp, fn[0]);
      expect([env.ALLOWED_REGIONS, env.PLATFORM_REGIONS]).toEqual([`us-east-1,${EU}`, EU]);
    }
    expect(fnEnv(cpJson, taskFunctionId()).PLATFORM_REGIONS).toBeUndefined();
  });

  it('the task role works on tenant stacks, user pools, API keys and databases of both regions', () => {
    const task = all().filter((s) => s.statement.Sid === 'TenantStacksWithExecutionRole');
    expect(task.map((s) => resourcesOf(s.statement))).toEqual([
      [HOME, EU].map(
        (r) => `arn:\${AWS::Partition}:cloudformation:${r}:\${AWS::AccountId}:stack/${PREFIX}-*/*`,
      ),
    ]);
    const sids = (sid: string) =>
      all()
        .filter((s) => s.statement.Sid === sid)
        .flatMap((s) => resourcesOf(s.statement));
    for (const sid of ['TenantApiKeys', 'TenantDatabases', 'FindUsagePlans', 'UsagePlanKeys'])
      expect(
        sids(sid).some((r) => r.includes(`:${EU}:`)),
        sid,
      ).toBe(true);
    expect(sids('TenantUserPool')).toEqual([
      expect.stringMatching(/^\$\{TenantUserPool[0-9A-F]*\.Arn\}$/),
      `arn:\${AWS::Partition}:cognito-idp:${EU}:\${AWS::AccountId}:userpool/*`,
    ]);
    // The platform and control-plane stacks stay off limits in every region.
    const denied = all().find((s) => s.statement.Sid === 'NotTheControlPlaneStacks')!;
    expect(resourcesOf(denied.statement)).toEqual(
      expect.arrayContaining([
        `arn:\${AWS::Partition}:cloudformation:${EU}:\${AWS::AccountId}:stack/${PREFIX}-platform/*`,
        `arn:\${AWS::Partition}:cloudformation:\${AWS::Region}:\${AWS::AccountId}:stack/${PREFIX}-platform/*`,
      ]),
    );
  });

  it('the tenant-stack role and the boundary name each region: RequestedRegion, ARNs, kms:ViaService', () => {
    const network = all().find((s) => s.statement.Sid === 'Network')!;
    expect(network.statement.Condition).toEqual({
      StringEquals: { 'aws:RequestedRegion': [{ Ref: 'AWS::Region' }, EU] },
    });
    const via = (sid: string) =>
      [all().find((s) => s.statement.Sid === sid)!.statement.Condition?.StringEquals?.['kms:ViaService']]
        .flat()
        .map((v) => renderValue(v));
    expect(via('TenantStoreKey')).toEqual([
      `dynamodb.${HOME}.amazonaws.com`,
      `dynamodb.${EU}.amazonaws.com`,
      `s3.${HOME}.amazonaws.com`,
      `s3.${EU}.amazonaws.com`,
    ]);
    expect(via('DatabaseCredentialsKey')).toEqual([
      `secretsmanager.${HOME}.amazonaws.com`,
      `secretsmanager.${EU}.amazonaws.com`,
    ]);
    expect(via('TenantQueueKey')).toEqual([`sqs.${HOME}.amazonaws.com`, `sqs.${EU}.amazonaws.com`]);
    const database = all().find((s) => s.statement.Sid === 'Database')!;
    expect(resourcesOf(database.statement)).toContain(
      `arn:\${AWS::Partition}:rds:${EU}:\${AWS::AccountId}:db:*`,
    );
  });

  it('the boundaries of one region hold: no region wildcard, no * on *, CloudFormation on tenant stacks', () => {
    const exec = logicalId(mcp, 'AWS::IAM::Role', (p) =>
      JSON.stringify(p.AssumeRolePolicyDocument).includes('cloudformation.amazonaws.com'),
    );
    expect(boundaryViolations(all(), { prefix: PREFIX, executionRole: exec, otherRegions: [EU] })).toEqual(
      [],
    );
    // Without the other region named, its tenant stacks are out of bounds: the check is not vacuous.
    expect(boundaryViolations(all(), { prefix: PREFIX, executionRole: exec })).toContainEqual(
      expect.stringContaining(`cloudformation:${EU}`),
    );
    // A regional ARN always names its region (the home one as AWS::Region): never `*`.
    expect(rendered()).not.toMatch(/arn:\$\{AWS::Partition\}:[a-z0-9-]+:\*:/);
    expect(rendered()).toContain(`:${EU}:`);
  });

  it('cdk-nag AwsSolutions passes on the three stacks', () => {
    const check = (stack: Stack) =>
      new AwsSolutionsChecks()
        .validateScope(stack)
        .violations.map(
          (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
        );
    expect(check(multi.controlPlane)).toEqual([]);
    expect(check(multi.platform)).toEqual([]);
    expect(check(multi.regionalPlatforms[EU]!)).toEqual([]);
  });

  const installed = spawnSync('cfn-lint', ['--version']).status === 0;
  it.skipIf(!installed)('cfn-lint finds no error in any of the three (skipped only without cfn-lint)', () => {
    const files = Object.entries({ controlPlane: mcp, eu }).map(([name, json]) => {
      writeFileSync(join(multiOut, `${name}.lint.json`), JSON.stringify(json));
      return join(multiOut, `${name}.lint.json`);
    });
    const { stdout } = spawnSync(
      'cfn-lint',
      ['--format', 'json', '--regions', 'us-east-1', EU, '--', ...files],
      {
        encoding: 'utf8',
      },
    );
    const findings = JSON.parse(stdout || '[]') as { Level: string; Rule: { Id: string } }[];
    expect(findings.filter((f) => f.Level === 'Error').map((f) => f.Rule.Id)).toEqual([]);
  });

  it('an app without a region by name cannot tell which regions need a platform: CONFIG_INVALID', () => {
    const settings = settingsFromValues({
      prefix: PREFIX,
      bundling: 'prebuilt-stub',
      templateCacheDir: inject('templateCacheDir'),
      allowedRegions: `us-east-1,${EU}`,
    });
    expect(() => buildInfra({ app: new App({ outdir: multiOut }), settings, templates })).toThrow(
      /allowedRegions: us-east-1,eu-west-1 needs the home region by name/,
    );
  });

  describe('tenant permissions boundary admits what the tenant templates grant, in the other region', () => {
    boundaryFit(() => mcp, EU);
  });
});

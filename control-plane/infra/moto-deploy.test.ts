import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DeleteTableCommand, DescribeTableCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AwsClients } from '../../core/aws/clients.js';
import { OPERATION_TYPES } from '../../core/lifecycle.js';
import { registryTableDefinition } from '../../core/registry/table.js';
import type { CfnTemplate } from '../../templates/types.js';
import { testClients, uniqueName } from '../../test/support/aws.js';
import { definitionText, substitute } from '../../workflows/definitions/index.js';
import { rolloutDefinitionText } from '../../workflows/rollouts/definition.js';
import {
  adaptControlPlaneForEmulator,
  adaptPlatformForEmulator,
  type ControlPlaneEmulatorAdaptation,
} from './emulator.js';
import { buildInfra, synthesizeInfra } from './infra.js';
import { settingsFromValues } from './settings.js';
import { prepareTemplates } from './templates.js';

/**
 * Both stacks, synthesized with stub function code and adapted for moto (control-plane/infra/
 * emulator.ts), deployed to the test moto with CreateStack, read back, and deleted; then another
 * allowed region's platform stack, in that region. moto models the
 * table, the functions, the state machines and the roles; the rest (user pools, HTTP API, alarms,
 * secrets) are placeholders there and are asserted on the template in stack.test.ts.
 */

type Validate = (definition: unknown) => { isValid: boolean; errorsText(separator?: string): string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as Validate;

const prefix = uniqueName('cp');
const outdir = mkdtempSync(join(tmpdir(), 'tcp-infra-moto-'));
let aws: AwsClients;
let platformBody: string;
let controlPlaneBody: string;
let adaptation: ControlPlaneEmulatorAdaptation;
const stackIds: Record<string, string> = {};
const tables: string[] = [];

beforeAll(async () => {
  aws = testClients();
  const settings = settingsFromValues({
    prefix,
    bundling: 'prebuilt-stub',
    templateCacheDir: inject('templateCacheDir'),
  });
  const infra = buildInfra({
    app: new App({ outdir, builtinCloudFormationValidation: false }),
    settings,
    templates: await prepareTemplates(settings.templateCacheDir, ['platform']),
  });
  const synthesized = synthesizeInfra(infra);
  platformBody = JSON.stringify(adaptPlatformForEmulator(synthesized.platform));
  const adapted = adaptControlPlaneForEmulator(synthesized.controlPlane);
  controlPlaneBody = JSON.stringify(adapted.template);
  adaptation = adapted.adaptation;
});

afterAll(async () => {
  // Whatever a failed run left behind: stacks first, then the tables they retain.
  for (const id of Object.values(stackIds).reverse())
    await aws.cloudformation.send(new DeleteStackCommand({ StackName: id })).catch(() => undefined);
  for (const table of tables) {
    await aws.dynamodb
      .send(new UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: false }))
      .catch(() => undefined);
    await aws.dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  }
  aws.destroy();
  rmSync(outdir, { recursive: true, force: true });
});

async function settle(stackId: string): Promise<Stack> {
  for (let i = 0; i < 100; i++) {
    const stack = (await aws.cloudformation.send(new DescribeStacksCommand({ StackName: stackId })))
      .Stacks?.[0];
    if (stack && !stack.StackStatus?.endsWith('_IN_PROGRESS')) return stack;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${stackId} did not settle`);
}

async function create(name: string, body: string): Promise<Stack> {
  const out = await aws.cloudformation.send(
    new CreateStackCommand({
      StackName: name,
      TemplateBody: body,
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
    }),
  );
  stackIds[name] = out.StackId!;
  return settle(out.StackId!);
}

const outputsOf = (stack: Stack) =>
  Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));

describe('the control plane deploys to moto', () => {
  let outputs: Record<string, string>;

  it('the emulator adaptation changes only what moto cannot take', () => {
    const body = JSON.parse(controlPlaneBody) as CfnTemplate;
    expect(body.Parameters?.BootstrapVersion).toBeUndefined();
    // One machine per operation type, the scheduled reconcile machine and the rollout machine.
    expect(adaptation.substitutedDefinitions).toHaveLength(OPERATION_TYPES.length + 2);
    expect(Object.values(adaptation.placeholders)).toEqual(
      expect.arrayContaining(['AWS::Cognito::UserPool', 'AWS::ApiGatewayV2::Api', 'AWS::CloudWatch::Alarm']),
    );
    expect(Object.values(adaptation.placeholders)).not.toContain('AWS::StepFunctions::StateMachine');
    expect(adaptation.removedOutputs).toEqual(expect.arrayContaining(['ApiUrl', 'JwtIssuer']));
  });

  it('the platform stack reaches CREATE_COMPLETE', async () => {
    const stack = await create(`${prefix}-platform`, platformBody);
    expect(stack.StackStatus, stack.StackStatusReason).toBe('CREATE_COMPLETE');
    const platform = outputsOf(stack);
    expect(platform.EventBusName).toBe(`${prefix}-platform-lifecycle`);
    tables.push(platform.PooledTableName!);
  });

  it('the control-plane stack reaches CREATE_COMPLETE, importing the platform’s bus', async () => {
    const stack = await create(`${prefix}-control-plane`, controlPlaneBody);
    expect(stack.StackStatus, stack.StackStatusReason).toBe('CREATE_COMPLETE');
    outputs = outputsOf(stack);
    tables.push(outputs.RegistryTableName!);
    expect(outputs).toMatchObject({
      RegistryTableName: `${prefix}-registry`,
      StateMachineArnPrefix: `arn:aws:states:us-east-1:123456789012:stateMachine:${prefix}-`,
      TaskFunctionArn: expect.stringMatching(/^arn:aws:lambda:us-east-1:123456789012:function:/),
      TenantStackRoleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\//),
    });
    const resources =
      (await aws.cloudformation.send(new DescribeStackResourcesCommand({ StackName: stack.StackId })))
        .StackResources ?? [];
    const created = (type: string) =>
      resources.filter((r) => r.ResourceType === type && r.ResourceStatus === 'CREATE_COMPLETE').length;
    expect(created('AWS::StepFunctions::StateMachine')).toBe(OPERATION_TYPES.length + 2);
    // The API, the task function and the tenant user pool's pre-token trigger.
    expect(created('AWS::Lambda::Function')).toBe(3);
    expect(created('AWS::DynamoDB::Table')).toBe(1);
    // API, task, lifecycle state machines, the rollout machine, CloudFormation execution, the
    // reconcile schedule, the pre-token trigger.
    expect(created('AWS::IAM::Role')).toBe(7);
  });

  it('the registry table is the registry layout, with deletion protection', async () => {
    const { Table } = await aws.dynamodb.send(
      new DescribeTableCommand({ TableName: outputs.RegistryTableName }),
    );
    const definition = registryTableDefinition(outputs.RegistryTableName!);
    expect(Table?.KeySchema).toEqual(definition.KeySchema);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema]).sort()).toEqual(
      definition.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema]).sort(),
    );
    expect(Table?.DeletionProtectionEnabled).toBe(true);
  });

  it('each state machine holds the local engine’s definition, byte for byte after substitution, and it is valid ASL', async () => {
    for (const type of OPERATION_TYPES) {
      const machine = await aws.sfn.send(
        new DescribeStateMachineCommand({ stateMachineArn: `${outputs.StateMachineArnPrefix}${type}` }),
      );
      expect(machine.name).toBe(`${prefix}-${type}`);
      expect(machine.type).toBe('STANDARD');
      expect(machine.definition).toBe(substitute(definitionText(type), outputs.TaskFunctionArn!));
      const validation = aslValidator(JSON.parse(machine.definition!));
      expect(validation.isValid, validation.errorsText()).toBe(true);
    }
    const rollout = await aws.sfn.send(
      new DescribeStateMachineCommand({ stateMachineArn: `${outputs.StateMachineArnPrefix}rollout` }),
    );
    expect(rollout.name).toBe(`${prefix}-rollout`);
    expect(rollout.definition).toBe(substitute(rolloutDefinitionText(), outputs.TaskFunctionArn!));
    const validation = aslValidator(JSON.parse(rollout.definition!));
    expect(validation.isValid, validation.errorsText()).toBe(true);
  });

  it('both stacks delete (DELETE_COMPLETE); the registry table outlives its stack', async () => {
    for (const name of [`${prefix}-control-plane`, `${prefix}-platform`]) {
      await aws.cloudformation.send(new DeleteStackCommand({ StackName: stackIds[name] }));
      const stack = await settle(stackIds[name]!);
      expect(stack.StackStatus, stack.StackStatusReason).toBe('DELETE_COMPLETE');
      delete stackIds[name];
    }
    const { Table } = await aws.dynamodb.send(
      new DescribeTableCommand({ TableName: outputs.RegistryTableName }),
    );
    expect(Table?.TableStatus).toBe('ACTIVE');
  });
});

describe('another allowed region’s platform deploys to moto there', () => {
  const EU = 'eu-west-1';
  it('the eu-west-1 <prefix>-platform (with its user pool and usage plans) reaches CREATE_COMPLETE', async () => {
    const regionalPrefix = uniqueName('cpr');
    const settings = settingsFromValues({
      prefix: regionalPrefix,
      bundling: 'prebuilt-stub',
      templateCacheDir: inject('templateCacheDir'),
      allowedRegions: `us-east-1,${EU}`,
    });
    const infra = buildInfra({
      app: new App({ outdir: join(outdir, 'regions'), builtinCloudFormationValidation: false }),
      settings,
      templates: await prepareTemplates(settings.templateCacheDir, ['platform']),
      env: { account: '123456789012', region: 'us-east-1' },
    });
    const eu = synthesizeInfra(infra).regionalPlatforms[EU]!;
    const adapted = adaptControlPlaneForEmulator(adaptPlatformForEmulator(eu));
    const cloudformation = aws.forRegion(EU).cloudformation;
    const out = await cloudformation.send(
      new CreateStackCommand({
        StackName: `${regionalPrefix}-platform`,
        TemplateBody: JSON.stringify(adapted.template),
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      }),
    );
    let stack: Stack | undefined;
    for (let i = 0; i < 100; i++) {
      stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: out.StackId }))).Stacks?.[0];
      if (stack && !stack.StackStatus?.endsWith('_IN_PROGRESS')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(stack?.StackStatus, stack?.StackStatusReason).toBe('CREATE_COMPLETE');
    // Created in eu-west-1 (moto keeps a region's stacks apart), nothing of it at home.
    expect(stack?.StackId).toMatch(/^arn:aws:cloudformation:eu-west-1:/);
    await expect(
      aws.cloudformation.send(new DescribeStacksCommand({ StackName: `${regionalPrefix}-platform` })),
    ).rejects.toThrow();
    const outputs = outputsOf(stack!);
    expect(outputs.EventBusName).toBe(`${regionalPrefix}-platform-lifecycle`);
    // moto's CloudFormation models no user pool or usage plan: placeholders here, asserted on the
    // template in stack.test.ts; the pre-token trigger and its role are created.
    expect(Object.values(adapted.adaptation.placeholders)).toEqual(
      expect.arrayContaining(['AWS::Cognito::UserPool', 'AWS::ApiGateway::UsagePlan']),
    );
    const resources =
      (await cloudformation.send(new DescribeStackResourcesCommand({ StackName: out.StackId })))
        .StackResources ?? [];
    expect(
      resources.filter(
        (r) => r.ResourceType === 'AWS::Lambda::Function' && r.ResourceStatus === 'CREATE_COMPLETE',
      ),
    ).toHaveLength(1);
    await cloudformation.send(new DeleteStackCommand({ StackName: out.StackId }));
    const deleted = (await cloudformation.send(new DescribeStacksCommand({ StackName: out.StackId })))
      .Stacks?.[0];
    expect(deleted?.StackStatus).toMatch(/^DELETE_/);
    // The pooled table is retained with its stack, as at home.
    const dynamodb = aws.forRegion(EU).dynamodb;
    await dynamodb
      .send(new UpdateTableCommand({ TableName: outputs.PooledTableName, DeletionProtectionEnabled: false }))
      .catch(() => undefined);
    await dynamodb
      .send(new DeleteTableCommand({ TableName: outputs.PooledTableName }))
      .catch(() => undefined);
  });
});

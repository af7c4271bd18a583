import { DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import type { AwsClients } from '../core/aws/clients.js';
import { ControlPlaneError, describeError } from '../core/errors.js';
import type { TierCatalog } from '../tiers/catalog.js';
import type { StackDeployer } from './deployer.js';
import { platformStackName, platformStackTags } from './parameters.js';
import {
  ensureSuspensionPolicy,
  ensureTenantApiStage,
  ensureUsagePlans,
  ensureUserPool,
  findSuspensionPolicy,
  findUsagePlans,
  findUserPool,
} from './platform-access.js';
import {
  suspensionPolicyDefinition,
  TENANT_API_STAGE,
  tenantUserPoolDefinition,
  tenantUserPoolName,
} from './platform-spec.js';
import type { SynthesisService } from './synthesis.js';
import type { PlatformOutputs, StackResult, TemplateTarget } from './types.js';

export interface EnsurePlatformOptions {
  readonly clients: AwsClients;
  readonly synth: Pick<SynthesisService, 'resolve'>;
  readonly target: TemplateTarget;
  /** The resource prefix: the stack is `<prefix>-platform`, the user pool `<prefix>-tenants`, usage plans `<prefix>-<tier>`. */
  readonly prefix: string;
  readonly catalog: TierCatalog;
  readonly deployer: Pick<StackDeployer, 'create' | 'update' | 'delete' | 'describe'>;
}

/** Platform stack outputs ensurePlatform needs (the stack also exports them as `<stack>-<name>`). */
export const REQUIRED_OUTPUTS = [
  'VpcId',
  'IsolatedSubnetIds',
  'PooledTableName',
  'PooledTableArn',
  'EventBusName',
  'EventBusArn',
  'ArtifactBucketName',
  'PooledRoleArn',
  'TenantApiId',
  'TemplateVersion',
] as const;

/**
 * Brings the environment's platform up to date, idempotently (the control plane calls it at every
 * start-up): creates the platform stack, or updates it when its template version changed (a stack
 * left ROLLBACK_COMPLETE by a failed first create is replaced), then ensures the tenant user pool
 * and one usage plan per catalog tier through the SDKs. With nothing changed it makes no stack call
 * beyond DescribeStacks.
 */
export async function ensurePlatform(options: EnsurePlatformOptions): Promise<PlatformOutputs> {
  const { deployer, prefix } = options;
  const template = await options.synth.resolve('platform', options.target);
  const stackName = platformStackName(prefix);
  const args = {
    stackName,
    template,
    parameters: [{ ParameterKey: 'TemplateVersion', ParameterValue: template.versionId }],
    tags: platformStackTags(template.versionId),
  };

  let stack = await deployer.describe(stackName);
  if (stack?.status === 'ROLLBACK_COMPLETE') {
    await deployer.delete({ stackName, token: `platform-${template.versionId}-reset` });
    stack = undefined;
  }
  if (!stack) {
    stack = await deployer.create({ ...args, token: `platform-${template.versionId}-create` });
  } else if (stack.outputs.TemplateVersion !== template.versionId || stack.status.endsWith('_IN_PROGRESS')) {
    stack = await deployer.update({ ...args, token: `platform-${template.versionId}-update` });
  }

  const [userPoolId, usagePlanIds, suspensionPolicyArn] = await Promise.all([
    ensureUserPool(options.clients.cognito, tenantUserPoolDefinition(prefix)),
    ensureUsagePlans(options.clients.apigateway, options.catalog, prefix),
    ensureSuspensionPolicy(options.clients.iam, suspensionPolicyDefinition(prefix)),
  ]);
  const platform = toPlatformOutputs(stack, userPoolId, usagePlanIds, suspensionPolicyArn);
  await ensureTenantApiStage(options.clients.apigateway, platform.tenantApiId, Object.values(usagePlanIds));
  return platform;
}

export interface ReadPlatformOptions {
  readonly clients: AwsClients;
  readonly prefix: string;
  readonly catalog: TierCatalog;
}

/**
 * The platform as it is, changing nothing: for processes that run where the platform was ensured
 * by someone else (the task Lambda). Throws when any part is missing.
 */
export async function readPlatform(options: ReadPlatformOptions): Promise<PlatformOutputs> {
  const stackName = platformStackName(options.prefix);
  let stack: Stack | undefined;
  try {
    stack = (await options.clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })))
      .Stacks?.[0];
  } catch (e) {
    throw new ControlPlaneError(
      'STACK_FAILED',
      `platform stack ${stackName} cannot be read (${describeError(e)}); ensurePlatform creates it`,
      { cause: e },
    );
  }
  if (!stack?.StackId)
    throw new ControlPlaneError(
      'STACK_FAILED',
      `platform stack ${stackName} does not exist; ensurePlatform creates it`,
    );
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  const result: StackResult = {
    stackId: stack.StackId,
    stackName,
    status: stack.StackStatus ?? 'UNKNOWN',
    outputs,
  };
  const [userPoolId, usagePlanIds, suspensionPolicyArn] = await Promise.all([
    findUserPool(options.clients.cognito, tenantUserPoolName(options.prefix)),
    findUsagePlans(options.clients.apigateway, options.catalog, options.prefix),
    findSuspensionPolicy(options.clients.iam, suspensionPolicyDefinition(options.prefix).PolicyName),
  ]);
  if (!userPoolId)
    throw new ControlPlaneError(
      'AWS_ERROR',
      `user pool ${tenantUserPoolName(options.prefix)} does not exist; ensurePlatform creates it`,
    );
  if (!suspensionPolicyArn)
    throw new ControlPlaneError(
      'AWS_ERROR',
      `policy ${suspensionPolicyDefinition(options.prefix).PolicyName} does not exist; ensurePlatform creates it`,
    );
  return toPlatformOutputs(result, userPoolId, usagePlanIds, suspensionPolicyArn);
}

function toPlatformOutputs(
  stack: StackResult,
  userPoolId: string,
  usagePlanIds: Record<string, string>,
  suspensionPolicyArn: string,
): PlatformOutputs {
  const outputs = requireOutputs(stack);
  return {
    stackName: stack.stackName,
    stackId: stack.stackId,
    templateVersion: outputs.TemplateVersion,
    vpcId: outputs.VpcId,
    isolatedSubnetIds: outputs.IsolatedSubnetIds.split(',').filter(Boolean),
    pooledTableName: outputs.PooledTableName,
    pooledTableArn: outputs.PooledTableArn,
    eventBusName: outputs.EventBusName,
    eventBusArn: outputs.EventBusArn,
    artifactBucketName: outputs.ArtifactBucketName,
    suspensionPolicyArn,
    pooledRoleArn: outputs.PooledRoleArn,
    tenantApiId: outputs.TenantApiId,
    tenantApiStage: TENANT_API_STAGE,
    userPoolId,
    usagePlanIds,
  };
}

function requireOutputs(stack: StackResult): Record<(typeof REQUIRED_OUTPUTS)[number], string> {
  const missing = REQUIRED_OUTPUTS.filter((name) => !stack.outputs[name]);
  if (missing.length > 0) {
    throw new ControlPlaneError(
      'STACK_FAILED',
      `platform stack ${stack.stackName} (${stack.status}) lacks outputs ${missing.join(', ')}`,
    );
  }
  return stack.outputs as Record<(typeof REQUIRED_OUTPUTS)[number], string>;
}

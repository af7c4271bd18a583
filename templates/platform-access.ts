import {
  type APIGatewayClient,
  CreateDeploymentCommand,
  CreateUsagePlanCommand,
  GetResourcesCommand,
  GetStageCommand,
  GetUsagePlanCommand,
  GetUsagePlansCommand,
  type PatchOperation,
  PutIntegrationCommand,
  PutMethodCommand,
  UpdateUsagePlanCommand,
  type UsagePlan,
} from '@aws-sdk/client-api-gateway';
import {
  AddCustomAttributesCommand,
  type CognitoIdentityProviderClient,
  CreateUserPoolCommand,
  DescribeUserPoolCommand,
  ListUserPoolsCommand,
  SetUserPoolMfaConfigCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { CreatePolicyCommand, type IAMClient, ListPoliciesCommand } from '@aws-sdk/client-iam';
import { ControlPlaneError, describeError } from '../core/errors.js';
import type { Tier, TierCatalog } from '../tiers/catalog.js';
import {
  type suspensionPolicyDefinition,
  TENANT_API_STAGE,
  type UserPoolDefinition,
  usagePlanDefinition,
  usagePlanName,
} from './platform-spec.js';

/**
 * The platform's identity and API-access resources, made through the SDKs (moto cannot model them
 * in CloudFormation): the tenant user pool and one API Gateway usage plan per tier. Both are found
 * by name on every run, so start-up is idempotent. Tenants' groups, users and API keys are the
 * workflows' business.
 */

function awsError(what: string, e: unknown): ControlPlaneError {
  const throttled = /Throttl|TooManyRequests/.test((e as { name?: string })?.name ?? '');
  return new ControlPlaneError(throttled ? 'AWS_THROTTLED' : 'AWS_ERROR', `${what}: ${describeError(e)}`, {
    cause: e,
  });
}

/** The id of the user pool called `name`, or undefined. */
export async function findUserPool(
  cognito: CognitoIdentityProviderClient,
  name: string,
): Promise<string | undefined> {
  try {
    let nextToken: string | undefined;
    do {
      const page = await cognito.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken: nextToken }));
      const found = page.UserPools?.find((p) => p.Name === name);
      if (found?.Id) return found.Id;
      nextToken = page.NextToken;
    } while (nextToken);
    return undefined;
  } catch (e) {
    throw awsError(`looking up user pool ${name}`, e);
  }
}

/** The id of the pool the definition names, created from it when missing (templates/platform-spec.ts). */
export async function ensureUserPool(
  cognito: CognitoIdentityProviderClient,
  definition: UserPoolDefinition,
): Promise<string> {
  const name = definition.create.PoolName;
  const existing = await findUserPool(cognito, name);
  if (existing) {
    await addMissingAttributes(cognito, existing, definition);
    return existing;
  }
  try {
    const created = await cognito.send(new CreateUserPoolCommand(definition.create));
    const id = created.UserPool?.Id;
    if (!id) throw new Error('CreateUserPool returned no id');
    // TOTP needs no SMS role; it can only be switched on once the pool exists.
    await cognito.send(new SetUserPoolMfaConfigCommand({ UserPoolId: id, ...definition.mfa }));
    return id;
  } catch (e) {
    throw awsError(`creating user pool ${name}`, e);
  }
}

/** A pool made before an attribute joined the definition gets it (custom attributes can be added, never removed). */
async function addMissingAttributes(
  cognito: CognitoIdentityProviderClient,
  userPoolId: string,
  definition: UserPoolDefinition,
): Promise<void> {
  try {
    const pool = await cognito.send(new DescribeUserPoolCommand({ UserPoolId: userPoolId }));
    const have = new Set((pool.UserPool?.SchemaAttributes ?? []).map((a) => a.Name));
    const missing = (definition.create.Schema ?? []).filter(
      (a) => a.Name && !have.has(a.Name) && !have.has(`custom:${a.Name}`),
    );
    if (missing.length > 0)
      await cognito.send(
        new AddCustomAttributesCommand({ UserPoolId: userPoolId, CustomAttributes: missing }),
      );
  } catch (e) {
    throw awsError(`adding attributes to user pool ${definition.create.PoolName}`, e);
  }
}

/** Patch operations that bring a plan's throttle and quota to the tier's; empty when they match. */
export function usagePlanDrift(plan: UsagePlan, tier: Tier): PatchOperation[] {
  const want = [
    ['/throttle/rateLimit', plan.throttle?.rateLimit, tier.throttle.rateLimit],
    ['/throttle/burstLimit', plan.throttle?.burstLimit, tier.throttle.burstLimit],
    ['/quota/limit', plan.quota?.limit, tier.throttle.dailyQuota],
  ] as const;
  // moto returns quota.limit as a string after an update, hence Number().
  const ops: PatchOperation[] = want
    .filter(([, have, wanted]) => Number(have) !== wanted)
    .map(([path, , wanted]) => ({ op: 'replace', path, value: String(wanted) }));
  if (plan.quota?.period !== 'DAY') ops.push({ op: 'replace', path: '/quota/period', value: 'DAY' });
  return ops;
}

/** Usage plans by name (the first of each name). */
async function listUsagePlans(apigateway: APIGatewayClient): Promise<Map<string, UsagePlan>> {
  try {
    const plans = new Map<string, UsagePlan>();
    let position: string | undefined;
    do {
      const page = await apigateway.send(new GetUsagePlansCommand({ limit: 500, position }));
      for (const plan of page.items ?? [])
        if (plan.name && plan.id && !plans.has(plan.name)) plans.set(plan.name, plan);
      position = page.position;
    } while (position);
    return plans;
  } catch (e) {
    throw awsError('listing usage plans', e);
  }
}

/** The usage plan id of each catalog tier; throws when a tier has none (the platform is not ensured). */
export async function findUsagePlans(
  apigateway: APIGatewayClient,
  catalog: TierCatalog,
  prefix: string,
): Promise<Record<string, string>> {
  const plans = await listUsagePlans(apigateway);
  const ids: Record<string, string> = {};
  for (const tier of catalog.tiers) {
    const id = plans.get(usagePlanName(prefix, tier))?.id;
    if (!id)
      throw new ControlPlaneError(
        'AWS_ERROR',
        `no usage plan ${usagePlanName(prefix, tier)} for tier ${tier.name}; ensurePlatform makes it`,
      );
    ids[tier.name] = id;
  }
  return ids;
}

/** One usage plan per tier, named `<prefix>-<tier>`, with the tier's throttle and daily quota. */
export async function ensureUsagePlans(
  apigateway: APIGatewayClient,
  catalog: TierCatalog,
  prefix: string,
): Promise<Record<string, string>> {
  const existing = await listUsagePlans(apigateway);
  const ids: Record<string, string> = {};
  for (const tier of catalog.tiers) {
    const name = usagePlanName(prefix, tier);
    const plan = existing.get(name);
    try {
      if (!plan?.id) {
        const created = await apigateway.send(new CreateUsagePlanCommand(usagePlanDefinition(prefix, tier)));
        if (!created.id) throw new Error('CreateUsagePlan returned no id');
        ids[tier.name] = created.id;
        continue;
      }
      // A catalog change reaches existing plans here.
      const drift = usagePlanDrift(plan, tier);
      if (drift.length > 0)
        await apigateway.send(new UpdateUsagePlanCommand({ usagePlanId: plan.id, patchOperations: drift }));
      ids[tier.name] = plan.id;
    } catch (e) {
      throw awsError(`ensuring usage plan ${name}`, e);
    }
  }
  return ids;
}

/** The ARN of the account's own (Local) managed policy called `name`, or undefined. */
export async function findSuspensionPolicy(iam: IAMClient, name: string): Promise<string | undefined> {
  try {
    let Marker: string | undefined;
    do {
      const page = await iam.send(new ListPoliciesCommand({ Scope: 'Local', MaxItems: 1000, Marker }));
      const found = page.Policies?.find((p) => p.PolicyName === name);
      if (found?.Arn) return found.Arn;
      Marker = page.IsTruncated ? page.Marker : undefined;
    } while (Marker);
    return undefined;
  } catch (e) {
    throw awsError(`looking up policy ${name}`, e);
  }
}

/** The suspension policy's ARN, created from its definition when missing (templates/platform-spec.ts). */
export async function ensureSuspensionPolicy(
  iam: IAMClient,
  definition: ReturnType<typeof suspensionPolicyDefinition>,
): Promise<string> {
  const existing = await findSuspensionPolicy(iam, definition.PolicyName);
  if (existing) return existing;
  try {
    const created = await iam.send(new CreatePolicyCommand(definition));
    if (!created.Policy?.Arn) throw new Error('CreatePolicy returned no ARN');
    return created.Policy.Arn;
  } catch (e) {
    // Two processes ensuring at once: the other one made it.
    if ((e as Error).name === 'EntityAlreadyExistsException') {
      const arn = await findSuspensionPolicy(iam, definition.PolicyName);
      if (arn) return arn;
    }
    throw awsError(`creating policy ${definition.PolicyName}`, e);
  }
}

/**
 * The tenant API's stage, and every usage plan attached to it (`<apiId>:<stage>` in apiStages):
 * what makes API Gateway throttle and meter each key by its tier on AWS. The platform template
 * declares the stage; moto's CloudFormation does not model it, so a missing one is deployed here.
 */
export async function ensureTenantApiStage(
  apigateway: APIGatewayClient,
  restApiId: string,
  usagePlanIds: readonly string[],
): Promise<void> {
  const stageName = TENANT_API_STAGE;
  try {
    const stage = await apigateway.send(new GetStageCommand({ restApiId, stageName })).catch((e: unknown) => {
      if (/NotFound/.test((e as Error).name)) return undefined;
      throw e;
    });
    if (!stage) {
      // The template's one route (ANY / with an API key, MOCK), then the stage.
      const root = (await apigateway.send(new GetResourcesCommand({ restApiId }))).items?.find(
        (r) => r.path === '/',
      );
      if (!root?.id) throw new Error(`tenant API ${restApiId} has no root resource`);
      const route = { restApiId, resourceId: root.id, httpMethod: 'ANY' };
      await apigateway.send(
        new PutMethodCommand({ ...route, authorizationType: 'NONE', apiKeyRequired: true }),
      );
      await apigateway.send(
        new PutIntegrationCommand({
          ...route,
          type: 'MOCK',
          requestTemplates: { 'application/json': '{"statusCode": 200}' },
        }),
      );
      await apigateway.send(new CreateDeploymentCommand({ restApiId, stageName }));
    }
    for (const usagePlanId of usagePlanIds) {
      const plan = await apigateway.send(new GetUsagePlanCommand({ usagePlanId }));
      if (plan.apiStages?.some((s) => s.apiId === restApiId && s.stage === stageName)) continue;
      await apigateway.send(
        new UpdateUsagePlanCommand({
          usagePlanId,
          patchOperations: [{ op: 'add', path: '/apiStages', value: `${restApiId}:${stageName}` }],
        }),
      );
    }
  } catch (e) {
    throw awsError(`ensuring stage ${stageName} of tenant API ${restApiId}`, e);
  }
}

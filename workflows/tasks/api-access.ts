import {
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetUsagePlanKeysCommand,
  UpdateApiKeyCommand,
} from '@aws-sdk/client-api-gateway';
import { ControlPlaneError } from '../../core/errors.js';
import type { Tenant } from '../../core/registry/records.js';
import { type HandlerOf, ignoreNotFound, loadScope, names, type TaskDeps, tierFor } from './context.js';
import { setTierClaims, suspensionWith } from './identity.js';

/** The tenant's API key and its membership in its tier's usage plan, managed through API Gateway. */

export async function findApiKey(deps: TaskDeps, tenant: Tenant): Promise<string | undefined> {
  if (tenant.access.apiKeyId) return tenant.access.apiKeyId;
  const name = names.apiKey(deps.prefix, tenant);
  const out = await deps.clients.apigateway.send(
    new GetApiKeysCommand({ nameQuery: name, includeValues: false, limit: 500 }),
  );
  return out.items?.find((k) => k.name === name)?.id;
}

async function planHasKey(deps: TaskDeps, usagePlanId: string, keyId: string): Promise<boolean> {
  let position: string | undefined;
  do {
    const out = await deps.clients.apigateway.send(
      new GetUsagePlanKeysCommand({ usagePlanId, position, limit: 500 }),
    );
    if (out.items?.some((k) => k.id === keyId)) return true;
    position = out.position;
  } while (position);
  return false;
}

function usagePlanOf(deps: TaskDeps, tierName: string): string {
  const plan = deps.platform().usagePlanIds[tierName];
  if (!plan)
    throw new ControlPlaneError(
      'WORKFLOW_FAILED',
      `the platform has no usage plan for tier ${tierName}; restart the control plane to ensure the platform`,
    );
  return plan;
}

/** The tenant's key as API Gateway has it: a recorded id is checked (a repair finds it deleted), else by name. */
async function existingApiKey(deps: TaskDeps, tenant: Tenant): Promise<string | undefined> {
  if (tenant.access.apiKeyId) {
    const found = await deps.clients.apigateway
      .send(new GetApiKeyCommand({ apiKey: tenant.access.apiKeyId }))
      .catch(ignoreNotFound);
    if (found) return tenant.access.apiKeyId;
  }
  return findApiKey(deps, { ...tenant, access: { ...tenant.access, apiKeyId: undefined } });
}

/** CreateApiKey: the tenant's key (found by name on a re-run, made again if deleted) in its tier's usage plan. */
export const createApiKey: HandlerOf<'CreateApiKey'> = async (input, deps, step) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  const tier = tierFor(deps, scope, input.args.tier);
  let keyId = await existingApiKey(deps, tenant);
  if (!keyId) {
    const out = await deps.clients.apigateway.send(
      new CreateApiKeyCommand({
        name: names.apiKey(deps.prefix, tenant),
        enabled: true,
        description: `Tenant ${tenant.slug}`,
        tags: { TenantId: tenant.tenantId, Tier: tier.name },
      }),
    );
    keyId = out.id!;
    // CreateApiKey is not idempotent: an SDK retry after a lost answer makes a second key with the
    // same name. Keep ours, delete the rest.
    const same = await deps.clients.apigateway.send(
      new GetApiKeysCommand({
        nameQuery: names.apiKey(deps.prefix, tenant),
        includeValues: false,
        limit: 500,
      }),
    );
    for (const extra of same.items ?? []) {
      if (extra.id && extra.id !== keyId && extra.name === names.apiKey(deps.prefix, tenant)) {
        await deps.clients.apigateway
          .send(new DeleteApiKeyCommand({ apiKey: extra.id }))
          .catch(ignoreNotFound);
      }
    }
  }
  const usagePlanId = usagePlanOf(deps, tier.name);
  await deps.clients.apigateway
    .send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId, keyType: 'API_KEY' }))
    .catch((e) => {
      if ((e as Error).name !== 'ConflictException') throw e;
    });
  // Compensation also finds the key by its name, so one record at the end is enough.
  await deps.registry.patchTenant(
    tenant,
    operation.operationId,
    { access: { ...tenant.access, apiKeyId: keyId, usagePlanId } },
    { endsStep: step?.end() },
  );
  return { apiKeyId: keyId, usagePlanId };
};

/** MoveApiKey: put the key in the usage plan of a tier (target, or the tenant's own to undo) and take it out of the others. */
export const moveApiKey: HandlerOf<'MoveApiKey'> = async (input, deps) => {
  const scope = await loadScope(deps, input);
  const { tenant, operation } = scope;
  const tier = tierFor(deps, scope, input.args.tier);
  const keyId = await findApiKey(deps, tenant);
  if (!keyId)
    throw new ControlPlaneError('WORKFLOW_FAILED', `tenant ${tenant.tenantId} has no API key to move`);
  const usagePlanId = usagePlanOf(deps, tier.name);
  await deps.clients.apigateway
    .send(new CreateUsagePlanKeyCommand({ usagePlanId, keyId, keyType: 'API_KEY' }))
    .catch((e) => {
      if ((e as Error).name !== 'ConflictException') throw e;
    });
  for (const plan of Object.values(deps.platform().usagePlanIds)) {
    if (plan === usagePlanId || !(await planHasKey(deps, plan, keyId))) continue;
    await deps.clients.apigateway
      .send(new DeleteUsagePlanKeyCommand({ usagePlanId: plan, keyId }))
      .catch(ignoreNotFound);
  }
  // The tier claim moves with the key: new tokens of the tenant's users carry the tier it now is on.
  const users = await setTierClaims(deps, tenant, tier.name);
  await deps.registry.patchTenant(tenant, operation.operationId, {
    access: { ...tenant.access, apiKeyId: keyId, usagePlanId },
  });
  return { usagePlanId, tierClaims: users };
};

/**
 * SetApiKeyEnabled false (suspend): records that the key was enabled, then disables it. true
 * (resume, undoing a suspend): enables it only when the suspension disabled it, or when no
 * suspension was recorded (older records).
 */
export const setApiKeyEnabled: HandlerOf<'SetApiKeyEnabled'> = async (input, deps) => {
  const { tenant, operation } = await loadScope(deps, input);
  const keyId = await findApiKey(deps, tenant);
  if (!keyId) return { apiKey: 'none' };
  const enable = input.args.enabled === true;
  const suspension = tenant.access.suspension;
  if (enable && suspension && !suspension.apiKeyDisabled) return { apiKeyId: keyId, enabled: false };
  if (!enable) {
    const key = await deps.clients.apigateway.send(new GetApiKeyCommand({ apiKey: keyId }));
    if (key.enabled === false && suspension && !suspension.apiKeyDisabled)
      return { apiKeyId: keyId, enabled: false };
    if (!suspension?.apiKeyDisabled)
      await deps.registry.patchTenant(tenant, operation.operationId, {
        access: suspensionWith(tenant, { apiKeyDisabled: key.enabled !== false }),
      });
  }
  await deps.clients.apigateway.send(
    new UpdateApiKeyCommand({
      apiKey: keyId,
      patchOperations: [{ op: 'replace', path: '/enabled', value: String(enable) }],
    }),
  );
  if (enable && suspension?.apiKeyDisabled)
    await deps.registry.patchTenant(tenant, operation.operationId, {
      access: suspensionWith(tenant, { apiKeyDisabled: false }),
    });
  return { apiKeyId: keyId, enabled: enable };
};

export async function deleteApiKeyOf(deps: TaskDeps, tenant: Tenant): Promise<boolean> {
  const keyId = await findApiKey(deps, tenant);
  if (!keyId) return false;
  await deps.clients.apigateway.send(new DeleteApiKeyCommand({ apiKey: keyId })).catch(ignoreNotFound);
  return true;
}

/** DeleteApiKey: offboarding's removal of the key (and so its usage plan membership). */
export const deleteApiKey: HandlerOf<'DeleteApiKey'> = async (input, deps) => {
  const { tenant } = await loadScope(deps, input);
  return { deleted: await deleteApiKeyOf(deps, tenant) };
};

import { GetApiKeyCommand, GetApiKeysCommand, GetUsagePlanKeysCommand } from '@aws-sdk/client-api-gateway';
import { ListUsersInGroupCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeAccountCommand } from '@aws-sdk/client-organizations';
import { isNotFound } from '../../core/aws/errors.js';
import type { Observed, ObservedStack } from '../../core/reconcile/classify.js';
import type { Tenant } from '../../core/registry/records.js';
import { buildTenantParameters, observe } from '../../templates/index.js';
import { clientsFor } from '../tasks/accounts.js';
import { depsInRegion, names, type TaskDeps } from '../tasks/context.js';
import type { DriftDetector } from './drift.js';

/**
 * Reads what AWS has of a tenant into an `Observed` (core/reconcile/classify.ts decides what
 * differs). Read-only: Describe/List/Get calls only. What many tenants share, each usage plan's
 * keys, is read once per run (`RunCache`), so a run costs a fixed number of calls per tenant.
 */

/** Per-run reads shared by every tenant. */
export class RunCache {
  private readonly planKeys = new Map<string, Promise<Set<string>>>();

  constructor(private readonly deps: TaskDeps) {}

  /** The key ids in a usage plan (GetUsagePlanKeys, paged) of a region, read once per run. */
  keysOf(usagePlanId: string, deps: TaskDeps = this.deps): Promise<Set<string>> {
    const cacheKey = `${deps.clients.target.region}/${usagePlanId}`;
    let hit = this.planKeys.get(cacheKey);
    if (!hit) {
      hit = (async () => {
        const ids = new Set<string>();
        let position: string | undefined;
        do {
          const out = await deps.clients.apigateway.send(
            new GetUsagePlanKeysCommand({ usagePlanId, position, limit: 500 }),
          );
          for (const k of out.items ?? []) if (k.id) ids.add(k.id);
          position = out.position;
        } while (position);
        return ids;
      })();
      this.planKeys.set(cacheKey, hit);
    }
    return hit;
  }
}

async function observeStacks(deps: TaskDeps, tenant: Tenant, drift: DriftDetector): Promise<ObservedStack[]> {
  const out: ObservedStack[] = [];
  for (const ref of tenant.stacks) {
    const cf = (await clientsFor(deps, { tenantId: tenant.tenantId, accountId: ref.accountId }))
      .cloudformation;
    const view = await observe(cf, ref.stackName);
    let expectedParameters: Record<string, string> | undefined;
    if (view && ref.role === 'current') {
      const params = buildTenantParameters(
        {
          tenantId: tenant.tenantId,
          slug: tenant.slug,
          tier: deps.catalog.get(tenant.tier),
          allowedPrincipals: tenant.allowedPrincipals,
          templateVersion: ref.templateVersion,
          ...(deps.tenantRoleBoundaryArn && !ref.accountId
            ? { permissionsBoundaryArn: deps.tenantRoleBoundaryArn }
            : {}),
        },
        deps.platform(),
      );
      expectedParameters = Object.fromEntries(params.map((p) => [p.ParameterKey, p.ParameterValue]));
    }
    out.push({
      ref,
      live: view
        ? {
            stackId: view.stackId,
            status: view.status,
            templateVersion: view.tags.TemplateVersion,
            parameters: view.parameters,
          }
        : undefined,
      expectedParameters,
      ...(view ? { drift: await drift.detect(cf, ref.stackName) } : {}),
    });
  }
  return out;
}

async function observeUsers(deps: TaskDeps, tenant: Tenant): Promise<Pick<Observed, 'group' | 'users'>> {
  const users: { username: string; enabled: boolean }[] = [];
  let token: string | undefined;
  try {
    do {
      const out = await deps.clients.cognito.send(
        new ListUsersInGroupCommand({
          UserPoolId: deps.platform().userPoolId,
          GroupName: tenant.access.groupName ?? names.group(tenant),
          NextToken: token,
        }),
      );
      for (const u of out.Users ?? [])
        if (u.Username) users.push({ username: u.Username, enabled: u.Enabled !== false });
      token = out.NextToken;
    } while (token);
  } catch (e) {
    if (isNotFound(e)) return { group: false, users: [] };
    throw e;
  }
  return { group: true, users };
}

async function observeApiKey(deps: TaskDeps, tenant: Tenant, cache: RunCache): Promise<Observed['apiKey']> {
  let key: { id: string; enabled: boolean } | undefined;
  if (tenant.access.apiKeyId) {
    try {
      const out = await deps.clients.apigateway.send(
        new GetApiKeyCommand({ apiKey: tenant.access.apiKeyId }),
      );
      key = { id: out.id ?? tenant.access.apiKeyId, enabled: out.enabled !== false };
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  } else {
    const name = names.apiKey(deps.prefix, tenant);
    const out = await deps.clients.apigateway.send(new GetApiKeysCommand({ nameQuery: name, limit: 500 }));
    const found = out.items?.find((k) => k.name === name);
    if (found?.id) key = { id: found.id, enabled: found.enabled !== false };
  }
  if (!key) return null;
  const usagePlanIds: string[] = [];
  for (const plan of new Set(Object.values(deps.platform().usagePlanIds)))
    if ((await cache.keysOf(plan, deps)).has(key.id)) usagePlanIds.push(plan);
  return { ...key, usagePlanIds };
}

async function observeAccount(deps: TaskDeps, tenant: Tenant): Promise<Observed['account']> {
  if (!tenant.accountId || tenant.accountClosedAt) return undefined;
  try {
    const out = await deps.clients.organizations.send(
      new DescribeAccountCommand({ AccountId: tenant.accountId }),
    );
    return { status: out.Account?.Status ?? 'UNKNOWN' };
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export async function observeTenant(
  home: TaskDeps,
  tenant: Tenant,
  cache: RunCache,
  drift: DriftDetector,
): Promise<Observed> {
  // Where the tenant lives: its region's clients and platform, read as deployed.
  const deps = await depsInRegion(home, tenant.region);
  const [stacks, identity, apiKey, account] = await Promise.all([
    observeStacks(deps, tenant, drift),
    observeUsers(deps, tenant),
    observeApiKey(deps, tenant, cache),
    observeAccount(deps, tenant),
  ]);
  return {
    stacks,
    ...identity,
    apiKey,
    expectedUsagePlanId: deps.platform().usagePlanIds[tenant.tier],
    ...(account !== undefined ? { account } : {}),
  };
}

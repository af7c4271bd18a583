import { GetApiKeysCommand, paginateGetApiKeys } from '@aws-sdk/client-api-gateway';
import { paginateListGroups, paginateListUsers } from '@aws-sdk/client-cognito-identity-provider';
import type { AwsClients } from '../../../core/aws/clients.js';
import type { Tenant } from '../../../core/registry/records.js';
import { groupUsers, liveStacks } from '../../support/moto-state.js';

/** What exists in moto under a resource prefix, read through the SDKs (never from the registry). */

export async function apiKeysNamed(
  clients: AwsClients,
  name: string,
): Promise<{ id: string; enabled: boolean }[]> {
  const out = await clients.apigateway.send(new GetApiKeysCommand({ nameQuery: name, limit: 500 }));
  return (out.items ?? [])
    .filter((k) => k.name === name)
    .map((k) => ({ id: k.id!, enabled: k.enabled !== false }));
}

export async function apiKeysWithPrefix(clients: AwsClients, prefix: string): Promise<string[]> {
  const names: string[] = [];
  const pages = paginateGetApiKeys({ client: clients.apigateway, pageSize: 500 }, { nameQuery: prefix });
  for await (const page of pages)
    for (const k of page.items ?? []) if (k.name?.startsWith(prefix)) names.push(k.name);
  return names;
}

export async function poolUsers(clients: AwsClients, userPoolId: string): Promise<string[]> {
  const users: string[] = [];
  for await (const page of paginateListUsers({ client: clients.cognito }, { UserPoolId: userPoolId }))
    for (const u of page.Users ?? []) users.push(u.Username ?? '');
  return users;
}

export async function poolGroups(clients: AwsClients, userPoolId: string): Promise<string[]> {
  const groups: string[] = [];
  for await (const page of paginateListGroups({ client: clients.cognito }, { UserPoolId: userPoolId }))
    for (const g of page.Groups ?? []) groups.push(g.GroupName ?? '');
  return groups;
}

/** Tenant stacks (not the platform's) that are not DELETE_COMPLETE. */
export async function tenantStacks(clients: AwsClients, prefix: string): Promise<string[]> {
  return (await liveStacks(clients, `${prefix}-`))
    .map((s) => `${s.StackName} ${s.StackStatus}`)
    .filter((s) => !s.startsWith(`${prefix}-platform `));
}

/**
 * One tenant's footprint in moto: its stacks, the users of its group, its API keys. An ACTIVE pool
 * tenant has exactly one of each; an OFFBOARDED or rolled-back one has none.
 */
export async function footprint(
  clients: AwsClients,
  prefix: string,
  userPoolId: string,
  tenant: Tenant,
): Promise<{ stacks: string[]; users: string[] | undefined; apiKeys: number }> {
  const [stacks, users, keys] = await Promise.all([
    liveStacks(clients, `${prefix}-${tenant.slug}-`),
    groupUsers(clients, userPoolId, tenant),
    apiKeysNamed(clients, `${prefix}-${tenant.tenantId}`),
  ]);
  // Exactly this tenant's stacks: another slug may start with this one (race, race-read).
  const own = stacks.filter((s) =>
    /^(pool|bridge|silo)$/.test(s.StackName?.slice(`${prefix}-${tenant.slug}-`.length) ?? ''),
  );
  return {
    stacks: own.map((s) => `${s.StackStatus}`),
    users: users?.map((u) => `${u.username}${u.enabled ? '' : ' (disabled)'}`),
    apiKeys: keys.length,
  };
}

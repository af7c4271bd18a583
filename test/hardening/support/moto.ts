import { GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import { ListGroupsCommand, ListUsersCommand } from '@aws-sdk/client-cognito-identity-provider';
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
  let position: string | undefined;
  do {
    const out = await clients.apigateway.send(
      new GetApiKeysCommand({ nameQuery: prefix, limit: 500, position }),
    );
    for (const k of out.items ?? []) if (k.name?.startsWith(prefix)) names.push(k.name);
    position = out.position;
  } while (position);
  return names;
}

export async function poolUsers(clients: AwsClients, userPoolId: string): Promise<string[]> {
  const users: string[] = [];
  let token: string | undefined;
  do {
    const out = await clients.cognito.send(
      new ListUsersCommand({ UserPoolId: userPoolId, PaginationToken: token }),
    );
    for (const u of out.Users ?? []) users.push(u.Username ?? '');
    token = out.PaginationToken;
  } while (token);
  return users;
}

export async function poolGroups(clients: AwsClients, userPoolId: string): Promise<string[]> {
  const groups: string[] = [];
  let token: string | undefined;
  do {
    const out = await clients.cognito.send(
      new ListGroupsCommand({ UserPoolId: userPoolId, NextToken: token }),
    );
    for (const g of out.Groups ?? []) groups.push(g.GroupName ?? '');
    token = out.NextToken;
  } while (token);
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

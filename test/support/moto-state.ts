import { GetApiKeysCommand, GetUsagePlanKeysCommand } from '@aws-sdk/client-api-gateway';
import { ListStacksCommand, type StackSummary } from '@aws-sdk/client-cloudformation';
import { ListUsersInGroupCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import type { AwsClients } from '../../core/aws/clients.js';
import type { Tenant } from '../../core/registry/records.js';

/** What actually exists in moto for a tenant, read through the SDKs (not from the registry). */

export async function liveStacks(clients: AwsClients, namePrefix: string): Promise<StackSummary[]> {
  const out: StackSummary[] = [];
  let token: string | undefined;
  do {
    const page = await clients.cloudformation.send(new ListStacksCommand({ NextToken: token }));
    out.push(
      ...(page.StackSummaries ?? []).filter(
        (s) => s.StackName?.startsWith(namePrefix) && s.StackStatus !== 'DELETE_COMPLETE',
      ),
    );
    token = page.NextToken;
  } while (token);
  return out;
}

export async function groupUsers(
  clients: AwsClients,
  userPoolId: string,
  tenant: Tenant,
): Promise<{ username: string; enabled: boolean }[] | undefined> {
  try {
    const out = await clients.cognito.send(
      new ListUsersInGroupCommand({ UserPoolId: userPoolId, GroupName: `tenant-${tenant.tenantId}` }),
    );
    return (out.Users ?? []).map((u) => ({ username: u.Username ?? '', enabled: u.Enabled !== false }));
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

export async function apiKeyOf(
  clients: AwsClients,
  name: string,
): Promise<{ id: string; enabled: boolean } | undefined> {
  const out = await clients.apigateway.send(new GetApiKeysCommand({ nameQuery: name }));
  const key = out.items?.find((k) => k.name === name);
  return key ? { id: key.id!, enabled: key.enabled !== false } : undefined;
}

export async function usagePlanHasKey(
  clients: AwsClients,
  usagePlanId: string,
  keyId: string,
): Promise<boolean> {
  const out = await clients.apigateway.send(new GetUsagePlanKeysCommand({ usagePlanId }));
  return (out.items ?? []).some((k) => k.id === keyId);
}

export async function dbStatus(clients: AwsClients, id: string): Promise<string | undefined> {
  try {
    const out = await clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0]?.DBInstanceStatus;
  } catch {
    return undefined;
  }
}

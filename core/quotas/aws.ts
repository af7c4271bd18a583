import {
  DescribeAccountLimitsCommand,
  paginateListStacks,
  StackStatus,
} from '@aws-sdk/client-cloudformation';
import { DescribeAddressesCommand, paginateDescribeVpcs } from '@aws-sdk/client-ec2';
import { GetAccountSettingsCommand, type GetAccountSettingsCommandOutput } from '@aws-sdk/client-lambda';
import { paginateListAccounts } from '@aws-sdk/client-organizations';
import { paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import type { AwsClients } from '../aws/clients.js';
import { errorName, isNotImplemented } from '../aws/errors.js';
import { describeError } from '../errors.js';
import { LAMBDA_UNRESERVED, QUOTAS, type QuotaName, type Reading } from './rules.js';

/**
 * The AWS side of the quota pre-checks: one usage count and one limit per quota, each a Reading.
 * A call the endpoint does not implement (moto's DescribeAccountLimits) reads as `not-available`,
 * never as a number.
 */

export type QuotaClients = Pick<
  AwsClients,
  'cloudformation' | 'organizations' | 'serviceQuotas' | 'ec2' | 'rds' | 'lambda'
>;

export interface QuotaSourceOptions {
  /**
   * The Lambda concurrency this region's tenants hold reserved in our account, from the registry
   * (rules.ts `reservedConcurrencyHeld`). Absent: that usage is not available.
   */
  readonly reservedConcurrency?: () => Promise<number>;
}

export interface QuotaSource {
  usage(quota: QuotaName): Promise<Reading>;
  limit(quota: QuotaName): Promise<Reading>;
}

const NOT_AVAILABLE = 'not available on this endpoint';

async function read(call: string, f: () => Promise<number>): Promise<Reading> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    if (isNotImplemented(e))
      return { ok: false, status: 'not-available', reason: `${call} is ${NOT_AVAILABLE}` };
    // Service Quotas without that service or quota here (moto has few): no limit to read.
    if (errorName(e) === 'NoSuchResourceException')
      return { ok: false, status: 'not-available', reason: `${call}: ${describeError(e)}` };
    return { ok: false, status: 'error', reason: `${call}: ${describeError(e)}` };
  }
}

const LIVE_STACKS = Object.values(StackStatus).filter((s) => s !== StackStatus.DELETE_COMPLETE);

async function count<T>(
  pages: AsyncIterable<T>,
  items: (page: T) => readonly unknown[] | undefined,
): Promise<number> {
  let n = 0;
  for await (const page of pages) n += items(page)?.length ?? 0;
  return n;
}

export function awsQuotaSource(clients: QuotaClients, options: QuotaSourceOptions = {}): QuotaSource {
  const accountSettings = (): Promise<GetAccountSettingsCommandOutput> =>
    clients.lambda.send(new GetAccountSettingsCommand({}));
  const usage: Record<QuotaName, () => Promise<Reading>> = {
    'cloudformation.stacks': () =>
      read('CloudFormation ListStacks', () =>
        count(
          paginateListStacks({ client: clients.cloudformation }, { StackStatusFilter: LIVE_STACKS }),
          (p) => p.StackSummaries,
        ),
      ),
    'organizations.accounts': () =>
      read('Organizations ListAccounts', async () => {
        try {
          return await count(paginateListAccounts({ client: clients.organizations }, {}), (p) => p.Accounts);
        } catch (e) {
          // No organization yet: the first dedicated tenant makes it; no member accounts so far.
          if (errorName(e) === 'AWSOrganizationsNotInUseException') return 0;
          throw e;
        }
      }),
    'vpc.vpcs': () =>
      read('EC2 DescribeVpcs', () => count(paginateDescribeVpcs({ client: clients.ec2 }, {}), (p) => p.Vpcs)),
    'ec2.elastic-ips': () =>
      read(
        'EC2 DescribeAddresses',
        async () => (await clients.ec2.send(new DescribeAddressesCommand({}))).Addresses?.length ?? 0,
      ),
    'rds.instances': () =>
      read('RDS DescribeDBInstances', () =>
        count(paginateDescribeDBInstances({ client: clients.rds }, {}), (p) => p.DBInstances),
      ),
    'lambda.reserved-concurrency': async () => {
      const held = options.reservedConcurrency;
      if (!held)
        return {
          ok: false,
          status: 'not-available',
          reason: 'the registry is not wired to this quota check',
        };
      const fromRegistry = await read('the registry (tenants of tiers with reservedConcurrency)', held);
      if (!fromRegistry.ok) return fromRegistry;
      // What AWS reports reserved also counts functions that are not tenants'; where the endpoint
      // does not tell (moto has no GetAccountSettings), the registry's count stands alone.
      const fromAws = await read('Lambda GetAccountSettings', async () => {
        const limit = (await accountSettings()).AccountLimit;
        if (limit?.ConcurrentExecutions === undefined || limit.UnreservedConcurrentExecutions === undefined)
          throw new Error('no ConcurrentExecutions / UnreservedConcurrentExecutions in the answer');
        return limit.ConcurrentExecutions - limit.UnreservedConcurrentExecutions;
      });
      return fromAws.ok ? { ok: true, value: Math.max(fromRegistry.value, fromAws.value) } : fromRegistry;
    },
  };
  return {
    usage: (quota) => usage[quota](),
    limit: (quota) => {
      const from = QUOTAS[quota].limitFrom;
      if (from.kind === 'cloudformation-account-limit') {
        return read('CloudFormation DescribeAccountLimits', async () => {
          const out = await clients.cloudformation.send(new DescribeAccountLimitsCommand({}));
          const limit = out.AccountLimits?.find((l) => l.Name === from.name)?.Value;
          if (limit === undefined) throw new Error(`no ${from.name} in the answer`);
          return limit;
        });
      }
      if (from.kind === 'lambda-account-settings') {
        return read('Lambda GetAccountSettings', async () => {
          const total = (await accountSettings()).AccountLimit?.ConcurrentExecutions;
          if (total === undefined) throw new Error('no AccountLimit.ConcurrentExecutions in the answer');
          return Math.max(0, total - LAMBDA_UNRESERVED);
        });
      }
      return read(`Service Quotas GetServiceQuota ${from.serviceCode}/${from.quotaCode}`, async () => {
        const out = await clients.serviceQuotas.send(
          new GetServiceQuotaCommand({ ServiceCode: from.serviceCode, QuotaCode: from.quotaCode }),
        );
        if (out.Quota?.Value === undefined) throw new Error('no value in the answer');
        return out.Quota.Value;
      });
    },
  };
}

import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isConditionFailed } from '../aws/errors.js';
import { stripKeys } from '../registry/codec.js';
import {
  billingAccountKey,
  billingCustomerKey,
  USAGE_REPORTED_PREFIX,
  usageReportedKey,
} from '../registry/keys.js';

/**
 * A tenant's billing records in the registry table (item kinds in core/registry/keys.ts): its
 * account (the provider's customer and subscription), the reverse index the Stripe webhook reads
 * (customer → tenant), and one item per hour of usage reported, so an hour is reported once.
 * Separate from the tenant record: billing is written by its own steps and by no operation's
 * version lock, and a tenant without billing has none of it.
 */

export const BillingAccountSchema = z.object({
  tenantId: z.string(),
  /** `stripe`. */
  provider: z.string(),
  customerId: z.string(),
  subscriptionId: z.string().optional(),
  /** The subscription's prices and status, as last seen. */
  priceIds: z.array(z.string()).optional(),
  subscriptionStatus: z.string().optional(),
  canceledAt: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type BillingAccount = z.infer<typeof BillingAccountSchema>;

export interface UsageReport {
  readonly meter: string;
  /** The hour's start, ISO (e.g. `2026-12-04T03:00:00.000Z`). */
  readonly hour: string;
  readonly quantity: number;
  readonly identifier: string;
  readonly reportedAt: string;
}

export interface BillingAccountsOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
}

export class BillingAccounts {
  private readonly clock: () => Date;

  constructor(private readonly options: BillingAccountsOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  private get table(): string {
    return this.options.tableName;
  }

  async get(tenantId: string): Promise<BillingAccount | undefined> {
    const out = await this.options.documents.send(
      new GetCommand({ TableName: this.table, Key: billingAccountKey(tenantId), ConsistentRead: true }),
    );
    return out.Item ? BillingAccountSchema.parse(stripKeys(out.Item)) : undefined;
  }

  /** The tenant a provider's customer belongs to, if the control plane made that customer. */
  async tenantOfCustomer(provider: string, customerId: string): Promise<string | undefined> {
    const out = await this.options.documents.send(
      new GetCommand({
        TableName: this.table,
        Key: billingCustomerKey(provider, customerId),
        ConsistentRead: true,
      }),
    );
    return typeof out.Item?.tenantId === 'string' ? out.Item.tenantId : undefined;
  }

  /** Records the tenant's customer and its reverse index in one transaction (a re-run writes the same). */
  async saveCustomer(tenantId: string, provider: string, customerId: string): Promise<BillingAccount> {
    const at = this.clock().toISOString();
    const account: BillingAccount = { tenantId, provider, customerId, createdAt: at, updatedAt: at };
    await this.options.documents.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table,
              Item: { ...billingAccountKey(tenantId), kind: 'billing', ...account },
            },
          },
          {
            Put: {
              TableName: this.table,
              Item: {
                ...billingCustomerKey(provider, customerId),
                kind: 'billing-customer',
                tenantId,
                createdAt: at,
              },
            },
          },
        ],
      }),
    );
    return account;
  }

  /** Records the subscription as the provider last answered it. */
  async saveSubscription(
    tenantId: string,
    sub: { subscriptionId: string; priceIds: readonly string[]; status: string; canceled?: boolean },
  ): Promise<BillingAccount> {
    const at = this.clock().toISOString();
    const out = await this.options.documents.send(
      new UpdateCommand({
        TableName: this.table,
        Key: billingAccountKey(tenantId),
        UpdateExpression: `SET subscriptionId = :s, priceIds = :p, subscriptionStatus = :st, updatedAt = :at${sub.canceled ? ', canceledAt = :at' : ''}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: {
          ':s': sub.subscriptionId,
          ':p': [...sub.priceIds],
          ':st': sub.status,
          ':at': at,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return BillingAccountSchema.parse(stripKeys(out.Attributes ?? {}));
  }

  /** The hours of one meter already reported for a tenant, from `fromHour` on (ISO hours). */
  async reportedHours(tenantId: string, meter: string, fromHour: string): Promise<Map<string, UsageReport>> {
    const reported = new Map<string, UsageReport>();
    const prefix = `${USAGE_REPORTED_PREFIX}${meter}#`;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.options.documents.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': billingAccountKey(tenantId).pk,
            ':from': `${prefix}${fromHour}`,
            ':to': `${prefix}\uffff`,
          },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const report = stripKeys(item) as unknown as UsageReport;
        reported.set(report.hour, report);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return reported;
  }

  /** Marks an hour reported (after the provider accepted it); a second mark of one hour changes nothing. */
  async markReported(tenantId: string, report: UsageReport): Promise<void> {
    await this.options.documents
      .send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...usageReportedKey(tenantId, report.meter, report.hour),
            kind: 'usage-reported',
            ...report,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((e: unknown) => {
        if (!isConditionFailed(e)) throw e;
      });
  }
}

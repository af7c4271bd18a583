import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { newEventId } from '../ids.js';
import { toEventItem, toOperationItem, toTenantItem } from './codec.js';
import { nowIso, type RegistryIo } from './io.js';
import { openOperationKeys, slugKey } from './keys.js';
import type { AuditEvent, Operation, Tenant } from './records.js';

/**
 * The items registry transactions are built from: each says what it writes and on what condition.
 * A change to the registry is a list of these, written at once (`transact`).
 */

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export async function transact(io: RegistryIo, items: TransactItem[]): Promise<void> {
  await io.db.send(
    new TransactWriteCommand({ TableName: io.tableName, TransactItems: items } as TransactWriteCommandInput),
  );
}

/** An audit event (written with the change it records). */
export function eventPut(
  io: RegistryIo,
  e: Omit<AuditEvent, 'eventId' | 'at'> & { at?: string },
): TransactItem {
  const event: AuditEvent = { eventId: newEventId(), at: e.at ?? nowIso(io), ...e };
  return { Put: { TableName: io.tableName, Item: toEventItem(event.tenantId, event) } };
}

/** The slug's claim: of N creates with one slug, one wins. */
export function slugClaimPut(io: RegistryIo, slug: string, tenantId: string, at: string): TransactItem {
  return {
    Put: {
      TableName: io.tableName,
      Item: { ...slugKey(slug), kind: 'slug', tenantId, createdAt: at },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** A new tenant record. */
export function tenantCreatePut(io: RegistryIo, tenant: Tenant): TransactItem {
  return {
    Put: {
      TableName: io.tableName,
      Item: toTenantItem(tenant),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** A tenant record replaced at the version it was read (optimistic lock), plus any extra condition. */
export function tenantReplacePut(
  io: RegistryIo,
  current: Tenant,
  next: Tenant,
  extraCondition?: { expression: string; values?: Record<string, unknown> },
): TransactItem {
  return {
    Put: {
      TableName: io.tableName,
      Item: toTenantItem(next),
      ConditionExpression: `#v = :v${extraCondition ? ` AND ${extraCondition.expression}` : ''}`,
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': current.version, ...(extraCondition?.values ?? {}) },
    },
  };
}

/** A new operation, open (in the open-operations index) at revision 0. */
export function operationCreatePut(io: RegistryIo, operation: Operation): TransactItem {
  return {
    Put: {
      TableName: io.tableName,
      Item: { ...toOperationItem(operation), rev: 0, ...openOperationKeys(operation.operationId) },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/**
 * An ended operation, written whole. Dropping the open-index keys takes it out of the resume list;
 * its revision moves forward to the clock's milliseconds, never back to a value a concurrent writer
 * may hold (revisions count from 0).
 */
export function operationEndPut(io: RegistryIo, ended: Operation): TransactItem {
  return {
    Put: { TableName: io.tableName, Item: { ...toOperationItem(ended), rev: io.clock().getTime() } },
  };
}

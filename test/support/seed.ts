import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newTenantId } from '../../core/ids.js';
import type { TenantState } from '../../core/lifecycle.js';
import { type Tenant, TenantSchema } from '../../core/registry/records.js';
import { toTenantItem } from '../../core/registry/registry.js';

/**
 * Writes tenant records straight into the registry table with BatchWriteItem, in the registry's
 * own item format. For list/pagination tests and the registry-scale benchmark: creating thousands
 * of tenants through transactions is slow on moto, which deep-copies the table per transaction.
 */
export async function seedTenants(
  documents: DynamoDBDocumentClient,
  tableName: string,
  count: number,
  shape: (i: number) => { tier: string; state: TenantState },
  /** Told the number written so far, after every 200 batches (5,000 tenants). */
  onProgress?: (written: number) => void,
): Promise<Tenant[]> {
  const at = new Date().toISOString();
  const tenants = Array.from({ length: count }, (_, i) => {
    const { tier, state } = shape(i);
    return TenantSchema.parse({
      tenantId: newTenantId(),
      slug: `seed-${i}`,
      name: `Seed ${i}`,
      tier,
      isolation: 'pool',
      state,
      adminEmail: `admin+${i}@example.com`,
      region: 'us-east-1',
      version: 1,
      createdAt: at,
      updatedAt: at,
    });
  });
  const chunks: Tenant[][] = [];
  for (let i = 0; i < tenants.length; i += 25) chunks.push(tenants.slice(i, i + 25));
  for (let i = 0; i < chunks.length; i += 8) {
    await Promise.all(
      chunks.slice(i, i + 8).map(async (chunk) => {
        let pending: Record<string, unknown>[] = chunk.map((t) => ({
          PutRequest: { Item: toTenantItem(t) },
        }));
        while (pending.length > 0) {
          const out = await documents.send(
            new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }),
          );
          pending = (out.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined) ?? [];
        }
      }),
    );
    if (onProgress && (i / 8) % 25 === 24) onProgress(Math.min((i + 8) * 25, tenants.length));
  }
  return tenants;
}

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** What every registry module works with: the table, its client and the injected clock. */
export interface RegistryIo {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: () => Date;
}

export const nowIso = (io: RegistryIo): string => io.clock().toISOString();
export const nowSeconds = (io: RegistryIo): number => Math.floor(io.clock().getTime() / 1000);

import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type AwsClients, createAwsClients } from '../../core/aws/clients.js';
import { Registry } from '../../core/registry/registry.js';
import { ensureRegistryTable } from '../../core/registry/table.js';

/** The moto endpoint the global setup started. */
export const testEndpoint = (): string => inject('awsEndpoint');

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

export function testClients(): AwsClients {
  return createAwsClients({ region: 'us-east-1', endpoint: testEndpoint(), maxAttempts: 3 });
}

/** A registry on a table of its own, so test files never see each other's tenants. */
export async function testRegistry(clients = testClients(), clock?: () => Date): Promise<Registry> {
  const tableName = uniqueName('registry');
  await ensureRegistryTable(clients.dynamodb, tableName);
  return new Registry({ documents: clients.documents, tableName, ...(clock ? { clock } : {}) });
}

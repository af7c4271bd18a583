import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { type AwsClients, createAwsClients } from '../../core/aws/clients.js';
import { ControlPlaneError } from '../../core/errors.js';
import { OperationClaims, type OperationClaimsOptions } from '../../core/registry/claims.js';
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

/** The catalogued code a promise rejects with, `resolved` when it does not, `other: …` for a foreign error. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof ControlPlaneError ? e.code : `other: ${(e as Error).message}`;
  }
}

/** A control-plane process as claims.ts sees it: its heartbeat in the registry's table, its pid alive. */
export function testClaims(
  clients: AwsClients,
  registry: Registry,
  clock: () => Date,
  extra: Partial<OperationClaimsOptions> = {},
): OperationClaims {
  return new OperationClaims({
    documents: clients.documents,
    tableName: registry.tableName,
    ttlSeconds: 30,
    clock,
    host: 'host-a',
    pid: 1000,
    isProcessAlive: () => true,
    ...extra,
  });
}

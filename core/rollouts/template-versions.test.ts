import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEndpoint, uniqueName } from '../../test/support/aws.js';
import { aroundCalls } from '../../test/support/sdk-middleware.js';
import { type AwsClients, createAwsClients } from '../aws/clients.js';
import { isControlPlaneError } from '../errors.js';
import { ensureRegistryTable } from '../registry/table.js';
import { TemplateVersionStore } from './template-versions.js';

/** Version bodies are read from the registry once per process (their ids are their hashes). */

const reads: string[] = [];
let clients: AwsClients;
let store: TemplateVersionStore;

beforeAll(async () => {
  clients = createAwsClients({
    region: 'us-east-1',
    endpoint: testEndpoint(),
    instrument: aroundCalls('countReads', async (call, send) => {
      if (call.operation === 'GetItem') reads.push(JSON.stringify(call.input.Key));
      return send();
    }),
  });
  const tableName = uniqueName('registry');
  await ensureRegistryTable(clients.dynamodb, tableName);
  store = new TemplateVersionStore({ db: clients.documents, tableName, clock: () => new Date() });
});
afterAll(() => clients?.destroy());

describe('TemplateVersionStore.body', () => {
  it('reads a registered body once, then from memory; an unknown version is asked every time', async () => {
    await store.register('pool', { versionId: 'aaaaaaaaaaa1', body: '{"Resources":{"A":{}}}' }, 'test');
    reads.length = 0;
    for (let i = 0; i < 3; i += 1)
      expect((await store.body('pool', 'aaaaaaaaaaa1')).body).toBe('{"Resources":{"A":{}}}');
    expect(reads).toHaveLength(1);
    // The same id under another isolation model is another version.
    await expect(store.body('silo', 'aaaaaaaaaaa1')).rejects.toSatisfy((e) =>
      isControlPlaneError(e, 'UNKNOWN_TEMPLATE_VERSION'),
    );
    await expect(store.body('silo', 'aaaaaaaaaaa1')).rejects.toThrow();
    expect(reads).toHaveLength(3);
  });
});

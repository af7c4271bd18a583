import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantConfigStore } from '../core/tenant-config/store.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';

/**
 * A tenant's resolved flags across a real change-tier workflow on moto: the defaults follow the
 * tier the workflow records, the tenant's overrides stay.
 */

let cp: TestControlPlane;
let store: TenantConfigStore;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane();
  store = new TenantConfigStore({
    documents: cp.aws.clients.documents,
    tableName: cp.config.registryTable,
    registry: cp.aws.registry,
    tierDefaults: (tier) => cp.catalog.features(tier),
    flagsCacheMs: 0,
  });
});
afterAll(async () => cp?.close());

describe('tenant config across a tier change', () => {
  it('recomputes the tier defaults when the change-tier workflow moves the tenant, keeping its overrides', async () => {
    const started = await cp.workflows.lifecycle.onboard(
      {
        name: 'Config Move',
        slug: 'config-move',
        tier: 'basic',
        adminEmail: 'admin@config-move.example.com',
      },
      actor,
    );
    expect((await cp.waitForOperation(started.operation.operationId)).status).toBe('SUCCEEDED');
    const patched = await store.patch('config-move', { flags: { theme: 'dark', 'max-projects': 5 } }, actor);
    expect(patched.config.flags).toMatchObject({ 'audit-export': false, 'max-projects': 5, theme: 'dark' });

    const moved = await cp.workflows.lifecycle.changeTier('config-move', 'standard', actor);
    const op = await cp.waitForOperation(moved.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');

    const after = await store.read('config-move');
    expect(after.config.tier).toBe('standard');
    expect(after.config.version).toBe(patched.config.version);
    expect(after.config.flags).toEqual({
      ...cp.catalog.features('standard'),
      'max-projects': 5,
      theme: 'dark',
    });
    expect(after.config.flags['audit-export']).toBe(true);
    expect(after.etag).not.toBe(patched.etag);
    expect(await store.flags(started.tenant.tenantId)).toEqual(after.config.flags);
  });
});

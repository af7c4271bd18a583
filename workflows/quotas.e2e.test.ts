import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';

/**
 * The quota pre-check in the real lifecycle service (workflows/lifecycle.ts), as every onboarding
 * path (API, signup webhook) reaches it: refused before anything is recorded, admitted otherwise.
 */

let cp: TestControlPlane;
const actor = { actor: 'test:ops' };

beforeAll(async () => {
  cp = await startTestControlPlane({
    // RDS instances at a stand-in limit of 0: no bridge or silo tenant fits; pool tenants take none.
    overrides: { quotaPrecheck: true, quotaCacheSeconds: 3600, quotaLimits: { 'rds.instances': 0 } },
  });
});
afterAll(async () => cp?.close());

const items = async () =>
  (
    await cp.aws.clients.documents.send(
      new ScanCommand({ TableName: cp.config.registryTable, Select: 'COUNT', ConsistentRead: true }),
    )
  ).Count ?? 0;

const onboard = (slug: string, tier: string) =>
  cp.workflows.lifecycle.onboard(
    { name: `Tenant ${slug}`, slug, tier, adminEmail: `admin@${slug}.example.com` },
    actor,
  );

describe('quota pre-checks in the onboarding workflow path', () => {
  it('refuses a bridge tenant with QUOTA_EXCEEDED before anything is written or started', async () => {
    const before = await items();
    await expect(onboard('quota-bridge', 'premium')).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'rds.instances', limit: 0, limitSource: 'configured', demand: 1, tier: 'premium' },
    });
    expect(await items()).toBe(before);
    expect(await cp.aws.registry.getTenantBySlug('quota-bridge')).toBeUndefined();
    expect(await cp.aws.registry.listOpenOperations()).toEqual([]);
  });

  it('admits a pool tenant, which onboards to ACTIVE', async () => {
    const started = await onboard('quota-pool', 'basic');
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    expect(await codeOf(onboard('quota-silo', 'enterprise'))).toBe('QUOTA_EXCEEDED');
    const rds = (await cp.workflows.quotas.headroom()).find((q) => q.quota === 'rds.instances')!;
    expect(rds).toMatchObject({
      limit: 0,
      status: 'full',
      perOnboarding: { basic: 0, premium: 1, enterprise: 1 },
    });
  });
});

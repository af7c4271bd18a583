import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../core/errors.js';
import type { Operation } from '../core/registry/records.js';
import { testRegistry } from '../test/support/aws.js';
import { TierCatalog } from '../tiers/catalog.js';
import { allowedRegions, assertRegion } from '../tiers/regions.js';
import type { WorkflowEngine } from './engine/types.js';
import { createLifecycleService } from './lifecycle.js';
import { OperationWatch } from './watch.js';

/** Region policy: the deployment's ALLOWED_REGIONS, a tier's catalog regions, where it can build. */

const codeOf = (f: () => void): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof ControlPlaneError ? e.code : String(e);
  }
};

describe('region policy', () => {
  const home = { home: 'us-east-1', allowed: [] };
  const multi = { home: 'us-east-1', allowed: ['us-east-1', 'eu-west-1'] };
  const basic = { name: 'basic' };
  const euOnly = { name: 'eu-gold', regions: ['eu-west-1'] };

  it('allows the home region by default, ALLOWED_REGIONS when set, narrowed by the tier', () => {
    expect(allowedRegions(home, basic)).toEqual(['us-east-1']);
    expect(allowedRegions(multi, basic)).toEqual(['us-east-1', 'eu-west-1']);
    expect(allowedRegions(multi, euOnly)).toEqual(['eu-west-1']);
    expect(allowedRegions(home, euOnly)).toEqual([]);
  });

  it('refuses a region the deployment or the tier does not allow; places in any allowed one', () => {
    expect(codeOf(() => assertRegion(home, basic, 'us-east-1'))).toBe('ok');
    expect(codeOf(() => assertRegion(home, basic, 'eu-west-1'))).toBe('REGION_NOT_ALLOWED');
    expect(codeOf(() => assertRegion(multi, { name: 'x', regions: ['us-east-1'] }, 'eu-west-1'))).toBe(
      'REGION_NOT_ALLOWED',
    );
    expect(codeOf(() => assertRegion(multi, basic, 'eu-west-1'))).toBe('ok');
    expect(codeOf(() => assertRegion(multi, euOnly, 'eu-west-1'))).toBe('ok');
    // A deployment that builds at home only (Step Functions) refuses the allowed region elsewhere.
    const atHome = { ...multi, placement: 'home' as const };
    expect(codeOf(() => assertRegion(atHome, basic, 'eu-west-1'))).toBe('REGION_NOT_AVAILABLE');
    expect(codeOf(() => assertRegion(atHome, basic, 'us-east-1'))).toBe('ok');
    expect(codeOf(() => assertRegion(atHome, basic, 'ap-south-1'))).toBe('REGION_NOT_ALLOWED');
    // The AWS deployment builds where the CDK app declared a platform (PLATFORM_REGIONS).
    const wider = { ...multi, allowed: ['us-east-1', 'eu-west-1', 'ap-south-1'] };
    const built = { ...wider, placement: ['eu-west-1'] };
    expect(codeOf(() => assertRegion(built, basic, 'eu-west-1'))).toBe('ok');
    expect(codeOf(() => assertRegion(built, basic, 'us-east-1'))).toBe('ok');
    expect(codeOf(() => assertRegion(built, basic, 'ap-south-1'))).toBe('REGION_NOT_AVAILABLE');
    expect(() => assertRegion(built, basic, 'ap-south-1')).toThrow(
      expect.objectContaining({ details: { region: 'ap-south-1', available: ['us-east-1', 'eu-west-1'] } }),
    );
    try {
      assertRegion(multi, euOnly, 'us-east-1');
    } catch (e) {
      expect((e as ControlPlaneError).message).toBe(
        'region us-east-1 is not allowed for tier eu-gold; allowed: eu-west-1',
      );
      expect((e as ControlPlaneError).status).toBe(400);
    }
  });
});

describe('onboarding refuses a region before writing anything', () => {
  it('no tenant, no slug claim, no operation started', async () => {
    const registry = await testRegistry();
    const started: Operation[] = [];
    const engine = {
      kind: 'local',
      start: async (op: Operation) => {
        started.push(op);
        return true;
      },
    } as unknown as WorkflowEngine;
    const lifecycle = createLifecycleService({
      registry,
      catalog: TierCatalog.load(),
      engine,
      defaultRegion: 'us-east-1',
      allowedRegions: ['us-east-1', 'eu-west-1'],
      placement: 'home',
      watch: new OperationWatch({ registry, runsHere: () => false, pollMs: 50 }),
    });
    const request = { name: 'Euro', slug: 'euro-tenant', tier: 'premium', adminEmail: 'a@euro.example.com' };
    for (const [region, code] of [
      ['ap-south-1', 'REGION_NOT_ALLOWED'],
      ['eu-west-1', 'REGION_NOT_AVAILABLE'],
    ] as const) {
      await expect(lifecycle.onboard({ ...request, region }, { actor: 'test' })).rejects.toMatchObject({
        code,
      });
    }
    expect(await registry.getTenantBySlug('euro-tenant')).toBeUndefined();
    expect(started).toEqual([]);
    const ok = await lifecycle.onboard(request, { actor: 'test' });
    expect(ok.tenant.region).toBe('us-east-1');
    expect(started).toHaveLength(1);
  });
});

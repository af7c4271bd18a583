import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../core/errors.js';
import { DEFAULT_CATALOG, TierCatalog } from './catalog.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof ControlPlaneError ? `${e.code}: ${e.message}` : String(e);
  }
};

describe('tier catalog', () => {
  it('ships basic and standard (pool), premium (bridge), enterprise and enterprise-dedicated (silo)', () => {
    const c = TierCatalog.load();
    expect(c.tiers.map((t) => [t.name, t.isolation])).toEqual([
      ['basic', 'pool'],
      ['standard', 'pool'],
      ['premium', 'bridge'],
      ['enterprise', 'silo'],
      ['enterprise-dedicated', 'silo'],
    ]);
    expect(c.get('enterprise-dedicated').dedicatedAccount).toBe(true);
    expect(c.get('premium').database?.instanceClass).toBe('db.t4g.small');
    expect(c.get('basic').database).toBeUndefined();
    expect(c.get('enterprise').dedicatedAccount).toBe(false);
  });

  it('declares feature flag defaults per tier; a tier without any has none', () => {
    const c = TierCatalog.load();
    expect(c.features('basic')).toEqual({
      sso: false,
      'audit-export': false,
      'custom-domain': false,
      'max-projects': 3,
    });
    expect(c.features('premium')).toMatchObject({ sso: true, 'max-projects': 100 });
    for (const tier of c.tiers)
      expect(Object.keys(tier.features).sort()).toEqual(Object.keys(c.features('basic')).sort());
    expect(c.features('gone')).toEqual({});
    const bare = TierCatalog.parse({
      tiers: [
        { name: 'solo', isolation: 'pool', throttle: { rateLimit: 1, burstLimit: 1, dailyQuota: 100 } },
      ],
    });
    expect(bare.features('solo')).toEqual({});
  });

  it('names the tiers there are for an unknown tier', () => {
    expect(codeOf(() => TierCatalog.load().get('gold'))).toBe(
      'UNKNOWN_TIER: unknown tier "gold"; the catalog has basic, standard, premium, enterprise, enterprise-dedicated',
    );
  });

  it('allows only listed transitions', () => {
    const c = TierCatalog.load();
    expect(c.assertTransition('standard', 'premium').to.isolation).toBe('bridge');
    expect(codeOf(() => c.assertTransition('enterprise', 'basic'))).toMatch(
      /^TIER_CHANGE_NOT_ALLOWED: tier enterprise cannot move to basic; allowed: premium, enterprise-dedicated/,
    );
  });

  it('declares meters (sum, max, last) and what each tier includes of them per month', () => {
    const c = TierCatalog.load();
    expect(c.meters.map((m) => [m.name, m.unit, m.aggregation])).toEqual([
      ['api-requests', 'requests', 'sum'],
      ['storage-gb', 'GB', 'max'],
      ['seats', 'seats', 'last'],
    ]);
    expect(c.sharedCostMeter).toBe('api-requests');
    expect(c.tierMeters('basic')).toEqual(['api-requests', 'storage-gb', 'seats']);
    expect(c.included('basic', 'api-requests')).toBe(100_000);
    expect(c.included('enterprise', 'seats')).toBe(1_000);
    expect(c.included('basic', 'gpu-hours')).toBeUndefined();
    // Every tier includes at least as much as the tiers it costs less than, in the shipped order.
    for (const m of c.meters)
      expect(c.tiers.map((t) => c.included(t.name, m.name)!)).toEqual(
        [...c.tiers.map((t) => c.included(t.name, m.name)!)].sort((a, b) => a - b),
      );
  });

  const METERS = DEFAULT_CATALOG.meters!;
  it.each([
    [
      'a tier meter that is not declared',
      { meters: [], tiers: [{ ...DEFAULT_CATALOG.tiers[0], allowedTransitions: [] }] },
      'tiers.0.meters.api-requests',
    ],
    [
      'a duplicate meter',
      { meters: [...METERS, METERS[0]], tiers: [{ ...DEFAULT_CATALOG.tiers[0], allowedTransitions: [] }] },
      'meters.3.name',
    ],
    [
      'an unknown aggregation',
      {
        meters: [{ ...METERS[0], aggregation: 'avg' }],
        tiers: [{ ...DEFAULT_CATALOG.tiers[0], meters: {}, allowedTransitions: [] }],
      },
      'meters.0.aggregation',
    ],
    [
      'a negative included quantity',
      {
        meters: METERS,
        tiers: [{ ...DEFAULT_CATALOG.tiers[0], meters: { seats: { included: -1 } }, allowedTransitions: [] }],
      },
      'tiers.0.meters.seats.included',
    ],
    [
      'a shared-cost meter that is not a sum',
      {
        meters: METERS,
        sharedCostMeter: 'seats',
        tiers: [{ ...DEFAULT_CATALOG.tiers[0], allowedTransitions: [] }],
      },
      'sharedCostMeter',
    ],
  ])('rejects %s, naming the field', (_name, raw, field) => {
    expect(codeOf(() => TierCatalog.parse(raw))).toContain(
      `CATALOG_INVALID: invalid tier catalog:\n  - ${field}`,
    );
  });

  it.each([
    [
      'pool with a database',
      {
        tiers: [
          {
            ...DEFAULT_CATALOG.tiers[0],
            database: DEFAULT_CATALOG.tiers[2]!.database,
            allowedTransitions: [],
          },
        ],
      },
      'tiers.0.database',
    ],
    [
      'bridge without a database',
      { tiers: [{ ...DEFAULT_CATALOG.tiers[2], database: undefined, allowedTransitions: [] }] },
      'tiers.0.database',
    ],
    [
      'dedicated account on pool',
      { tiers: [{ ...DEFAULT_CATALOG.tiers[0], dedicatedAccount: true, allowedTransitions: [] }] },
      'tiers.0.dedicatedAccount',
    ],
    [
      'unknown transition target',
      { tiers: [{ ...DEFAULT_CATALOG.tiers[0], allowedTransitions: ['gold'] }] },
      'tiers.0.allowedTransitions.0',
    ],
    [
      'duplicate names',
      {
        tiers: [
          { ...DEFAULT_CATALOG.tiers[0], allowedTransitions: [] },
          { ...DEFAULT_CATALOG.tiers[0], allowedTransitions: [] },
        ],
      },
      'tiers.1.name',
    ],
    [
      'bad instance class',
      {
        tiers: [
          {
            ...DEFAULT_CATALOG.tiers[2],
            database: { ...DEFAULT_CATALOG.tiers[2]!.database!, instanceClass: 'large' },
            allowedTransitions: [],
          },
        ],
      },
      'tiers.0.database.instanceClass',
    ],
    [
      'burst below rate',
      {
        tiers: [
          {
            ...DEFAULT_CATALOG.tiers[0],
            throttle: { rateLimit: 10, burstLimit: 5, dailyQuota: 1 },
            allowedTransitions: [],
          },
        ],
      },
      'tiers.0.throttle.burstLimit',
    ],
    [
      'a feature flag with a bad name',
      { tiers: [{ ...DEFAULT_CATALOG.tiers[0], features: { 'Has Space': true }, allowedTransitions: [] }] },
      'tiers.0.features.Has Space',
    ],
    [
      'a feature flag with an object value',
      { tiers: [{ ...DEFAULT_CATALOG.tiers[0], features: { sso: { on: true } }, allowedTransitions: [] }] },
      'tiers.0.features.sso',
    ],
    [
      'unknown field',
      { tiers: [{ ...DEFAULT_CATALOG.tiers[0], colour: 'red', allowedTransitions: [] }] },
      'tiers.0',
    ],
  ])('rejects %s, naming the field', (_name, raw, field) => {
    expect(codeOf(() => TierCatalog.parse(raw))).toContain(
      `CATALOG_INVALID: invalid tier catalog:\n  - ${field}`,
    );
  });

  it('loads an override file and reports a missing or broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiers-'));
    const good = join(dir, 'tiers.json');
    writeFileSync(
      good,
      JSON.stringify({
        tiers: [
          { name: 'solo', isolation: 'pool', throttle: { rateLimit: 1, burstLimit: 1, dailyQuota: 100 } },
        ],
      }),
    );
    expect(TierCatalog.load(good).names()).toEqual(['solo']);
    expect(codeOf(() => TierCatalog.load(join(dir, 'missing.json')))).toMatch(
      /^CATALOG_INVALID: tier catalog file .* does not exist/,
    );
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ tiers: ');
    expect(codeOf(() => TierCatalog.load(broken))).toMatch(
      /^CATALOG_INVALID: tier catalog file .* is not valid JSON/,
    );
  });
});

describe('noisy-neighbour controls', () => {
  const silo = DEFAULT_CATALOG.tiers.find((t) => t.name === 'enterprise')!;
  const basic = DEFAULT_CATALOG.tiers.find((t) => t.name === 'basic')!;
  const withTier = (tier: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...DEFAULT_CATALOG,
    ...extra,
    tiers: [...DEFAULT_CATALOG.tiers, { ...tier, allowedTransitions: [] }],
  });

  it('are optional; a queue gets its defaults (visibility 30 s, 5 receives)', () => {
    expect(TierCatalog.load().tiers.every((t) => t.noisyNeighbour === undefined)).toBe(true);
    const c = TierCatalog.parse(
      withTier({ ...silo, name: 'fenced', noisyNeighbour: { reservedConcurrency: 50, tenantQueue: {} } }),
    );
    expect(c.get('fenced').noisyNeighbour).toEqual({
      reservedConcurrency: 50,
      tenantQueue: { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 },
    });
  });

  it('refuses them on a pool tier, saying which tiers take them', () => {
    expect(
      codeOf(() =>
        TierCatalog.parse(withTier({ ...basic, name: 'noisy', noisyNeighbour: { tenantQueue: {} } })),
      ),
    ).toBe(
      'CATALOG_INVALID: invalid tier catalog:\n  - tiers.5.noisyNeighbour: pool tenants share the platform and have no function or queue of their own; noisyNeighbour is for bridge and silo tiers',
    );
  });

  it('accept reserved concurrency from 1 to the account limit less the 100 AWS keeps unreserved', () => {
    const reserve = (n: number, extra: Record<string, unknown> = {}) =>
      codeOf(() =>
        TierCatalog.parse(
          withTier({ ...silo, name: 'fenced', noisyNeighbour: { reservedConcurrency: n } }, extra),
        ),
      );
    expect(reserve(900)).toBe('ok');
    expect(reserve(1)).toBe('ok');
    expect(reserve(901)).toBe(
      'CATALOG_INVALID: invalid tier catalog:\n  - tiers.5.noisyNeighbour.reservedConcurrency: got 901; accepted: an integer from 1 to 900 (lambdaConcurrencyLimit 1000 less the 100 AWS keeps unreserved)',
    );
    expect(reserve(0)).toContain(
      'reservedConcurrency: accepted: an integer from 1 to lambdaConcurrencyLimit less the 100 AWS keeps unreserved',
    );
    expect(reserve(2.5)).toContain('tiers.5.noisyNeighbour.reservedConcurrency');
    // A raised quota is declared in the catalog.
    expect(reserve(4900, { lambdaConcurrencyLimit: 5000 })).toBe('ok');
    expect(reserve(4901, { lambdaConcurrencyLimit: 5000 })).toContain('from 1 to 4900');
  });

  it('refuse out-of-range queue settings and unknown fields', () => {
    const queue = (tenantQueue: Record<string, unknown>) =>
      codeOf(() => TierCatalog.parse(withTier({ ...silo, name: 'fenced', noisyNeighbour: { tenantQueue } })));
    expect(queue({ visibilityTimeoutSeconds: 43_201 })).toContain('tenantQueue.visibilityTimeoutSeconds');
    expect(queue({ maxReceiveCount: 0 })).toContain('tenantQueue.maxReceiveCount');
    expect(queue({ fifo: true })).toContain('CATALOG_INVALID');
  });
});

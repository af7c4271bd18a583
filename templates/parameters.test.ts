import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../core/errors.js';
import { newTenantId } from '../core/ids.js';
import { type Tier, TierCatalog } from '../tiers/catalog.js';
import { TEMPLATE_PARAMETERS } from './parameter-specs.js';
import { buildTenantParameters, platformStackName, tenantStackName, tenantStackTags } from './parameters.js';
import type { PlatformOutputs } from './types.js';

const catalog = TierCatalog.load();
const tier = (name: string): Tier => catalog.get(name);
const tenantId = newTenantId();
const platform: PlatformOutputs = {
  stackName: 'tcp-platform',
  stackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/tcp-platform/1',
  templateVersion: '0123456789ab',
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  isolatedSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
  pooledTableName: 'tcp-platform-PooledTable-1',
  pooledTableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/tcp-platform-PooledTable-1',
  eventBusName: 'tcp-platform-lifecycle',
  eventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/tcp-platform-lifecycle',
  artifactBucketName: 'tcp-platform-artifacts-1',
  suspensionPolicyArn: 'arn:aws:iam::123456789012:policy/tcp-platform-TenantSuspendedPolicy-1',
  pooledRoleArn: 'arn:aws:iam::123456789012:role/tcp-platform-PooledTenantRole-1',
  tenantApiId: 'a1b2c3d4e5',
  tenantApiStage: 'v1',
  userPoolId: 'us-east-1_abc',
  usagePlanIds: { basic: 'p1' },
};
const input = (overrides: Partial<Parameters<typeof buildTenantParameters>[0]> = {}) => ({
  tenantId,
  slug: 'acme',
  tier: tier('basic'),
  allowedPrincipals: [] as string[],
  templateVersion: 'abcdef012345',
  ...overrides,
});
const asRecord = (params: { ParameterKey: string; ParameterValue: string }[]) =>
  Object.fromEntries(params.map((p) => [p.ParameterKey, p.ParameterValue]));

/** The INVALID_PARAMETER error a call throws, for its field and message. */
function rejection(call: () => unknown): ControlPlaneError {
  try {
    call();
  } catch (e) {
    if (e instanceof ControlPlaneError) return e;
    throw e;
  }
  throw new Error('expected INVALID_PARAMETER, nothing was thrown');
}

describe('buildTenantParameters', () => {
  it("gives a dedicated-account silo stack the control plane's account (the platform stack's) and others none", () => {
    const dedicated = asRecord(
      buildTenantParameters(input({ tier: tier('enterprise-dedicated') }), platform),
    );
    expect(dedicated.ControlPlaneAccountId).toBe('123456789012');
    const own = asRecord(buildTenantParameters(input({ tier: tier('enterprise') }), platform));
    expect(own.ControlPlaneAccountId).toBe('');
    const bad = rejection(() =>
      buildTenantParameters(input({ tier: tier('enterprise-dedicated') }), {
        ...platform,
        stackId: 'not-an-arn',
      }),
    );
    expect(bad.code).toBe('INVALID_PARAMETER');
    expect(bad.message).toContain('platform.stackId');
  });

  it("passes the tier's noisy-neighbour controls; without them the defaults provision nothing", () => {
    const plain = asRecord(buildTenantParameters(input({ tier: tier('enterprise') }), platform));
    expect(plain).toMatchObject({
      WorkerReservedConcurrency: '0',
      TenantQueue: 'false',
      QueueVisibilityTimeout: '30',
      QueueMaxReceiveCount: '5',
    });
    const fenced: Tier = {
      ...tier('premium'),
      noisyNeighbour: {
        reservedConcurrency: 25,
        tenantQueue: { visibilityTimeoutSeconds: 300, maxReceiveCount: 2 },
      },
    };
    expect(asRecord(buildTenantParameters(input({ tier: fenced }), platform))).toMatchObject({
      WorkerReservedConcurrency: '25',
      TenantQueue: 'true',
      QueueVisibilityTimeout: '300',
      QueueMaxReceiveCount: '2',
    });
  });

  it.each([
    ['basic', 'pool'],
    ['premium', 'bridge'],
    ['enterprise', 'silo'],
  ] as const)('fills exactly the %s (%s) template parameters, in order', (tierName, isolation) => {
    const params = buildTenantParameters(input({ tier: tier(tierName) }), platform);
    expect(params.map((p) => p.ParameterKey)).toEqual(TEMPLATE_PARAMETERS[isolation]);
  });

  it('maps pool values from the tenant and the platform', () => {
    expect(asRecord(buildTenantParameters(input(), platform))).toEqual({
      TenantId: tenantId,
      TenantSlug: 'acme',
      TierName: 'basic',
      TemplateVersion: 'abcdef012345',
      PooledTableArn: platform.pooledTableArn,
      ArtifactBucketName: platform.artifactBucketName,
      PermissionsBoundaryArn: '',
    });
  });

  const boundaryArn = 'arn:aws:iam::123456789012:policy/tcp-tenant-role-boundary';

  it.each([
    ['basic', 'pool'],
    ['premium', 'bridge'],
    ['enterprise', 'silo'],
  ] as const)('passes the permissions boundary to the %s (%s) template', (tierName, isolation) => {
    const params = buildTenantParameters(
      input({ tier: tier(tierName), permissionsBoundaryArn: boundaryArn }),
      platform,
    );
    expect(params.map((p) => p.ParameterKey)).toEqual(TEMPLATE_PARAMETERS[isolation]);
    expect(asRecord(params).PermissionsBoundaryArn).toBe(boundaryArn);
  });

  it('leaves the permissions boundary empty when none is given (local mode)', () => {
    for (const permissionsBoundaryArn of [undefined, '']) {
      expect(
        asRecord(buildTenantParameters(input({ tier: tier('enterprise'), permissionsBoundaryArn }), platform))
          .PermissionsBoundaryArn,
      ).toBe('');
    }
  });

  it.each([
    'arn:aws-us-gov:iam::123456789012:policy/tcp-tenant-role-boundary',
    'arn:aws-cn:iam::123456789012:policy/path/to/boundary',
    'arn:aws:iam::123456789012:policy/a+b=c,d.e@f_g-h',
  ])('accepts the policy ARN %s as permissions boundary', (arn) => {
    expect(asRecord(buildTenantParameters(input({ permissionsBoundaryArn: arn }), platform))).toMatchObject({
      PermissionsBoundaryArn: arn,
    });
  });

  it('maps the tier database and the shared subnets for bridge', () => {
    expect(asRecord(buildTenantParameters(input({ tier: tier('premium') }), platform))).toMatchObject({
      VpcId: platform.vpcId,
      SubnetIds: platform.isolatedSubnetIds.join(','),
      DbInstanceClass: 'db.t4g.small',
      DbAllocatedStorage: '20',
      DbMultiAz: 'false',
      DbBackupRetentionDays: '7',
    });
  });

  it('passes silo principals as a comma-delimited list, and an empty list as an empty value', () => {
    const principals = ['arn:aws:iam::111122223333:root', 'arn:aws:iam::444455556666:role/app/consumer'];
    expect(
      asRecord(
        buildTenantParameters(input({ tier: tier('enterprise'), allowedPrincipals: principals }), platform),
      ),
    ).toMatchObject({
      AllowedPrincipals: principals.join(','),
      DbMultiAz: 'true',
    });
    expect(
      asRecord(buildTenantParameters(input({ tier: tier('enterprise') }), platform)).AllowedPrincipals,
    ).toBe('');
  });

  it('ignores principals for pool and bridge tiers (a tenant moving down from silo keeps its list)', () => {
    const params = buildTenantParameters(input({ allowedPrincipals: ['not even an arn'] }), platform);
    expect(params.map((p) => p.ParameterKey)).not.toContain('AllowedPrincipals');
  });

  const enterprise = tier('enterprise');
  const withDatabase = (database: Partial<NonNullable<Tier['database']>>): Tier => ({
    ...enterprise,
    database: { ...(enterprise.database as NonNullable<Tier['database']>), ...database },
  });

  it.each<readonly [string, ReturnType<typeof input>, string]>([
    ['tenantId', input({ tenantId: 'acme' }), 'ULID'],
    ['slug', input({ slug: 'Acme' }), 'lowercase'],
    ['slug', input({ slug: 'ac--me' }), 'single hyphens'],
    ['slug', input({ slug: 'acme;drop' }), 'lowercase'],
    ['templateVersion', input({ templateVersion: 'v1' }), '12 lowercase hex digits'],
    ['allowedPrincipals[0]', input({ tier: enterprise, allowedPrincipals: ['*'] }), 'no wildcards'],
    [
      'allowedPrincipals[1]',
      input({
        tier: enterprise,
        allowedPrincipals: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::1111:root'],
      }),
      'IAM principal ARNs',
    ],
    [
      'allowedPrincipals[0]',
      input({ tier: enterprise, allowedPrincipals: ['arn:aws:iam::111122223333:role/a,b'] }),
      'IAM principal ARNs',
    ],
    [
      'allowedPrincipals[1]',
      input({
        tier: enterprise,
        allowedPrincipals: ['arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:root'],
      }),
      'each value once',
    ],
    ...[10, 70_000, 20.5].map(
      (gb) =>
        [
          'tier.database.allocatedStorageGb',
          input({ tier: withDatabase({ allocatedStorageGb: gb }) }),
          '20 to 65536',
        ] as const,
    ),
    [
      'tier.database.backupRetentionDays',
      input({ tier: withDatabase({ backupRetentionDays: 0 }) }),
      '1 to 35',
    ],
    [
      'tier.database.instanceClass',
      input({ tier: withDatabase({ instanceClass: 'm5.large' }) }),
      'db.t4g.micro',
    ],
    ['tier.database', input({ tier: { ...enterprise, database: undefined } }), 'need a database'],
    [
      'permissionsBoundaryArn',
      input({ permissionsBoundaryArn: 'tcp-tenant-role-boundary' }),
      'an IAM policy ARN',
    ],
    [
      'permissionsBoundaryArn',
      input({ permissionsBoundaryArn: 'arn:aws:iam::123456789012:role/tcp-tenant-role-boundary' }),
      'an IAM policy ARN',
    ],
    [
      'permissionsBoundaryArn',
      input({ permissionsBoundaryArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }),
      'an IAM policy ARN',
    ],
    [
      'permissionsBoundaryArn',
      input({ tier: enterprise, permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/*' }),
      'an IAM policy ARN',
    ],
    [
      'permissionsBoundaryArn',
      input({ permissionsBoundaryArn: ' arn:aws:iam::123456789012:policy/tcp-tenant-role-boundary' }),
      'an IAM policy ARN',
    ],
  ])('rejects a bad %s, saying what is accepted', (field, bad, accepted) => {
    const error = rejection(() => buildTenantParameters(bad, platform));
    expect(error.code).toBe('INVALID_PARAMETER');
    expect(error.message).toContain(field);
    expect(error.message).toContain(accepted);
    expect(error.details).toMatchObject({ field });
  });

  it('rejects a principal list longer than a parameter value may be', () => {
    const many = Array.from({ length: 200 }, (_, i) => `arn:aws:iam::111122223333:role/consumer-${i}`);
    const error = rejection(() =>
      buildTenantParameters(input({ tier: enterprise, allowedPrincipals: many }), platform),
    );
    expect(error.message).toMatch(/allowedPrincipals: .*at most 4096 bytes/);
  });

  it('rejects platform values a template would reject (one subnet, not a table ARN)', () => {
    const bridge = input({ tier: tier('premium') });
    expect(
      rejection(() => buildTenantParameters(bridge, { ...platform, isolatedSubnetIds: ['subnet-0a1b2c3d'] }))
        .message,
    ).toContain('platform.isolatedSubnetIds');
    expect(
      rejection(() => buildTenantParameters(bridge, { ...platform, pooledTableArn: 'table' })).message,
    ).toContain('platform.pooledTableArn');
  });
});

describe('stack names and tags', () => {
  it('names tenant stacks deterministically, per isolation model', () => {
    expect(tenantStackName('tcp', 'acme', 'silo')).toBe('tcp-acme-silo');
    expect(tenantStackName('tcp', 'acme', 'pool')).not.toBe(tenantStackName('tcp', 'acme', 'bridge'));
    expect(platformStackName('tcp')).toBe('tcp-platform');
  });

  it('rejects names CloudFormation or RDS would reject', () => {
    expect(rejection(() => tenantStackName('tcp', 'a_b', 'pool')).message).toContain('slug');
    expect(rejection(() => tenantStackName('9tcp', 'acme', 'pool')).message).toContain('prefix');
    expect(
      rejection(() => tenantStackName(`t${'x'.repeat(40)}`, 'a'.repeat(32), 'bridge')).message,
    ).toContain('at most 63');
  });

  it('gives the four cost-allocation tags', () => {
    expect(
      tenantStackTags({ tenantId, tier: 'premium', isolation: 'bridge', templateVersion: 'abcdef012345' }),
    ).toEqual([
      { Key: 'TenantId', Value: tenantId },
      { Key: 'Tier', Value: 'premium' },
      { Key: 'Isolation', Value: 'bridge' },
      { Key: 'TemplateVersion', Value: 'abcdef012345' },
    ]);
    expect(
      rejection(() =>
        tenantStackTags({ tenantId, tier: 'premium', isolation: 'bridge', templateVersion: 'latest' }),
      ).code,
    ).toBe('INVALID_PARAMETER');
  });
});

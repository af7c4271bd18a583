import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Tenant } from '../registry/records.js';
import { TenantSchema } from '../registry/records.js';
import {
  classifyOrphans,
  classifyTenant,
  notComparedBecause,
  type Observed,
  parameterValue,
} from './classify.js';
import { classifyDrift, type StackResourceDrift } from './drift.js';
import { healthStatus, mergeFindings } from './findings.js';

const AT = '2026-12-01T00:00:00.000Z';
const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;

const tenant = (extra: Partial<Tenant> = {}): Tenant =>
  TenantSchema.parse({
    tenantId: 't_01JDZ6Q8C4M8K2Y5V7W9X1Z3B5',
    slug: 'acme',
    name: 'Acme',
    tier: 'basic',
    isolation: 'pool',
    state: 'ACTIVE',
    adminEmail: 'a@acme.example.com',
    region: 'us-east-1',
    stacks: [
      {
        role: 'current',
        stackName: 'tcp-acme-pool',
        arn: 'arn:aws:cloudformation:us-east-1:123456789012:stack/tcp-acme-pool/1',
        templateVersion: 'v1',
        status: 'CREATE_COMPLETE',
        region: 'us-east-1',
      },
    ],
    access: {
      groupName: 'tenant-t_01JDZ6Q8C4M8K2Y5V7W9X1Z3B5',
      adminUsername: 'acme-admin',
      apiKeyId: 'k1',
      usagePlanId: 'p-basic',
    },
    version: 3,
    createdAt: AT,
    updatedAt: AT,
    ...extra,
  });

const healthy = (t: Tenant): Observed => ({
  stacks: t.stacks.map((ref) => ({
    ref,
    live: {
      stackId: ref.arn,
      status: ref.status,
      templateVersion: ref.templateVersion,
      parameters: { TenantSlug: 'acme', Tier: 'basic' },
    },
    expectedParameters: { TenantSlug: 'acme', Tier: 'basic', TemplateVersion: 'v2' },
    drift: { kind: 'detected', resources: [] },
  })),
  group: true,
  users: [{ username: 'acme-admin', enabled: true }],
  apiKey: { id: 'k1', enabled: true, usagePlanIds: ['p-basic'] },
  expectedUsagePlanId: 'p-basic',
});

const classes = (fs: { class: string; resource: string; ref: string }[]) =>
  fs.map((f) => `${f.class} ${f.resource} ${f.ref}`);

describe('classifyTenant', () => {
  it('finds nothing when AWS matches the record (TemplateVersion is compared as version skew, not as a parameter)', () => {
    const t = tenant();
    const findings = classifyTenant(t, healthy(t), AT);
    expect(findings).toEqual([]);
    expect(healthStatus(findings)).toBe('healthy');
  });

  it('classifies a deleted key, a disabled user, a deleted stack and a skewed version, each with its class', () => {
    const t = tenant();
    const base = healthy(t);
    const findings = classifyTenant(
      t,
      {
        ...base,
        apiKey: null,
        users: [{ username: 'acme-admin', enabled: false }],
        stacks: [{ ref: t.stacks[0]! }],
      },
      AT,
    );
    expect(classes(findings)).toEqual([
      'missing stack tcp-acme-pool',
      'state-mismatch user acme-admin',
      'missing api-key k1',
    ]);
    expect(findings.every((f) => f.repairable)).toBe(true);
    expect(healthStatus(findings)).toBe('degraded');

    const skewed = classifyTenant(
      t,
      {
        ...base,
        stacks: [
          {
            ...base.stacks[0]!,
            live: {
              ...base.stacks[0]!.live!,
              templateVersion: 'v0',
              parameters: { TenantSlug: 'acme', Tier: 'premium' },
            },
          },
        ],
      },
      AT,
    );
    expect(classes(skewed)).toEqual([
      'version-skew stack tcp-acme-pool',
      'state-mismatch parameters tcp-acme-pool',
    ]);
    expect(skewed[1]!.expected).toBe('Tier=basic');
    expect(healthStatus(skewed)).toBe('drifted');
  });

  it('expects a SUSPENDED tenant disabled: an enabled user or key is a mismatch', () => {
    const t = tenant({ state: 'SUSPENDED' });
    const findings = classifyTenant(t, healthy(t), AT);
    expect(classes(findings)).toEqual(['state-mismatch user acme-admin', 'state-mismatch api-key k1']);
    expect(findings[0]!.message).toMatch(/can still sign in/);
  });

  it('reports a key outside its usage plan, a closed dedicated account and a rolled-back stack', () => {
    const t = tenant({ accountId: '210987654321' });
    const base = healthy(t);
    const findings = classifyTenant(
      t,
      {
        ...base,
        stacks: [
          { ...base.stacks[0]!, live: { ...base.stacks[0]!.live!, status: 'UPDATE_ROLLBACK_COMPLETE' } },
        ],
        apiKey: { id: 'k1', enabled: true, usagePlanIds: ['p-basic', 'p-premium'] },
        account: { status: 'SUSPENDED' },
      },
      AT,
    );
    expect(classes(findings)).toEqual([
      'state-mismatch stack tcp-acme-pool',
      'state-mismatch usage-plan k1',
      'state-mismatch account 210987654321',
    ]);
    expect(findings[0]!.severity).toBe('warning');
    expect(findings[2]!.repairable).toBe(false);
  });

  it("reads moto's list parameters (Python list text) as CloudFormation's comma list", () => {
    expect(parameterValue("['subnet-1', 'subnet-2']")).toBe('subnet-1,subnet-2');
    expect(parameterValue("['']")).toBe('');
    expect(parameterValue('subnet-1,subnet-2')).toBe('subnet-1,subnet-2');
  });

  it('compares only settled states and says why not otherwise', () => {
    expect(notComparedBecause(tenant())).toBeUndefined();
    expect(notComparedBecause(tenant({ currentOperationId: 'op_1' }))).toMatch(/in flight/);
    expect(notComparedBecause(tenant({ state: 'FAILED' }))).toMatch(/retry its operation or offboard/);
  });
});

describe('classifyDrift, on recorded DescribeStackResourceDrifts answers', () => {
  it('a drifted stack: MODIFIED is a state mismatch, DELETED missing, NOT_CHECKED unchecked, IN_SYNC nothing', () => {
    const answer = fixture<{ StackResourceDrifts: StackResourceDrift[] }>(
      'describe-stack-resource-drifts.drifted.json',
    );
    const findings = classifyDrift(
      'tcp-acme-bridge',
      { kind: 'detected', resources: answer.StackResourceDrifts },
      AT,
    );
    expect(classes(findings)).toEqual([
      'state-mismatch stack-resource tcp-acme-bridge/TenantRole5D5E3B1A',
      'state-mismatch stack-resource tcp-acme-bridge/DatabaseSecurityGroup7319C0F6',
      'missing stack-resource tcp-acme-bridge/DataBucketE3889A50',
      'unchecked stack-resource tcp-acme-bridge/DatabaseSecretAttachment2E1B0C5D',
    ]);
    expect(findings[0]).toMatchObject({
      expected: '/MaxSessionDuration=3600',
      actual: '/MaxSessionDuration=43200',
    });
    expect(findings[1]!.message).toContain('/SecurityGroupIngress/1 ADD');
    expect(healthStatus(findings)).toBe('degraded');
  });

  it('an in-sync stack has no findings', () => {
    const answer = fixture<{ StackResourceDrifts: StackResourceDrift[] }>(
      'describe-stack-resource-drifts.in-sync.json',
    );
    expect(
      classifyDrift('tcp-globex-pool', { kind: 'detected', resources: answer.StackResourceDrifts }, AT),
    ).toEqual([]);
  });

  it('failed or unavailable detection is an explicit unchecked finding, never in sync', () => {
    const status = fixture<{ DetectionStatusReason: string }>(
      'describe-stack-drift-detection-status.failed.json',
    );
    const failed = classifyDrift(
      'tcp-initech-silo',
      { kind: 'failed', reason: status.DetectionStatusReason },
      AT,
    );
    expect(failed).toMatchObject([
      { class: 'unchecked', severity: 'info', message: expect.stringContaining('Internal Failure') },
    ]);
    const local = classifyDrift(
      'tcp-acme-pool',
      { kind: 'unavailable', reason: 'moto does not implement DetectStackDrift' },
      AT,
    );
    expect(local[0]!.message).toMatch(/^drift detection unavailable on this endpoint/);
    expect(healthStatus(local)).toBe('healthy');
  });
});

describe('orphans and finding history', () => {
  it('a stack tagged with no tenant, an OFFBOARDED one, or not in its live tenant’s record, is an orphan', () => {
    const live = tenant();
    const gone = tenant({ tenantId: 't_01JDZ6Q8C4M8K2Y5V7W9X1Z3B6', state: 'OFFBOARDED', stacks: [] });
    const stack = (name: string, tenantId: string) => ({
      stackName: name,
      stackId: `arn:${name}`,
      status: 'CREATE_COMPLETE',
      tenantId,
      region: 'us-east-1',
    });
    const orphans = classifyOrphans(
      [
        stack('tcp-acme-pool', live.tenantId),
        stack('stray', 't_NOBODY'),
        stack('old', gone.tenantId),
        stack('extra', live.tenantId),
      ],
      new Map([
        [live.tenantId, { ...live, stacks: [{ ...live.stacks[0]!, arn: 'arn:tcp-acme-pool' }] }],
        [gone.tenantId, gone],
        ['t_NOBODY', undefined],
      ]),
      AT,
    );
    expect(orphans.map((o) => [o.stackId, o.message.replace(/.* is /, '')])).toEqual([
      ['arn:stray', 'tagged TenantId t_NOBODY, a tenant the registry does not have'],
      ['arn:old', `tagged TenantId ${gone.tenantId}, a tenant OFFBOARDED at ?`],
      ['arn:extra', `tagged TenantId ${live.tenantId}, but not in that tenant's record`],
    ]);
    expect(orphans.every((o) => o.class === 'orphan' && !o.repairable)).toBe(true);
  });

  it('keeps a finding’s first sighting across runs and marks only new ones fresh', () => {
    const t = tenant();
    const first = classifyTenant(t, { ...healthy(t), apiKey: null }, AT);
    const later = classifyTenant(t, { ...healthy(t), apiKey: null, users: [] }, '2026-12-02T00:00:00.000Z');
    const { findings, fresh } = mergeFindings(first, later);
    expect(findings.find((f) => f.resource === 'api-key')!.firstSeenAt).toBe(AT);
    expect(classes(fresh)).toEqual(['missing user acme-admin']);
  });
});

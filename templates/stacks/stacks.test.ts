import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CfnResource, type Stack, TagManager, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_RETENTION_DAYS_DEFAULT } from '../../core/tenant-data/layout.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { POSTGRES_ENGINE_VERSION, POSTGRES_PORT, TAG_KEYS, TENANT_WORKER_RUNTIME } from '../constants.js';
import { referencedLogicalIds } from '../emulator.js';
import { PARAMETER_SPECS, TEMPLATE_PARAMETERS } from '../parameter-specs.js';
import { buildTenantParameters } from '../parameters.js';
import { REQUIRED_OUTPUTS } from '../platform.js';
import type { CfnTemplate, PlatformOutputs, TemplateKind } from '../types.js';
import { UNTAGGED_RESOURCE_TYPES } from './common.js';
import { NOISY_NEIGHBOUR_CONDITIONS } from './noisy-neighbour.js';
import { HAS_PERMISSIONS_BOUNDARY } from './permissions-boundary.js';
import { buildTemplateStack, synthesizeStack } from './synthesize.js';

/**
 * The AWS templates themselves, as synthesized (each kind once for the whole file): resources and
 * properties, tenant scoping of every data-touching statement, tags, cdk-nag AwsSolutions, cfn-lint.
 */

const KINDS: readonly TemplateKind[] = ['platform', 'pool', 'bridge', 'silo'];
const outRoot = mkdtempSync(join(tmpdir(), 'tcp-stacks-test-'));
const built = new Map<TemplateKind, { stack: Stack; json: CfnTemplate; template: Template }>();

beforeAll(() => {
  for (const kind of KINDS) {
    const { app, stack } = buildTemplateStack(kind, join(outRoot, kind));
    const json = synthesizeStack(app, stack);
    built.set(kind, { stack, json, template: Template.fromJSON(json) });
  }
});
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

const get = (kind: TemplateKind) => {
  const entry = built.get(kind);
  if (!entry) throw new Error(`${kind} not synthesized`);
  return entry;
};

interface Statement {
  Effect?: string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  Condition?: unknown;
  Sid?: string;
}

/** Every policy statement anywhere in the template (IAM policies, trust policies, key and bucket policies). */
function allStatements(json: CfnTemplate): { resource: string; statement: Statement }[] {
  const found: { resource: string; statement: Statement }[] = [];
  const visit = (resource: string, v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(resource, x);
    } else if (v && typeof v === 'object') {
      const statements = (v as { Statement?: unknown }).Statement;
      if (Array.isArray(statements))
        for (const s of statements) found.push({ resource, statement: s as Statement });
      for (const inner of Object.values(v)) visit(resource, inner);
    }
  };
  for (const [id, r] of Object.entries(json.Resources)) visit(id, r.Properties);
  return found;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const resourcesOfType = (json: CfnTemplate, type: string) =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type);

describe.each(KINDS)('%s template', (kind) => {
  it('declares exactly the parameters the parameter builder fills', () => {
    expect(Object.keys(get(kind).json.Parameters ?? {})).toEqual([...TEMPLATE_PARAMETERS[kind]]);
  });

  it('has no statement allowing every action, and none allowing * on *', () => {
    const statements = allStatements(get(kind).json);
    expect(statements.length).toBeGreaterThan(0);
    for (const { resource, statement } of statements) {
      if (statement.Effect !== 'Allow') continue;
      const actions = asList(statement.Action);
      expect(actions, `${resource} ${statement.Sid ?? ''}`).not.toContain('*');
      expect(statement.NotAction, `${resource} uses NotAction`).toBeUndefined();
    }
  });

  it('carries the four cost-allocation tags on every taggable resource', () => {
    const { stack, json } = get(kind);
    const expected =
      kind === 'platform'
        ? {
            TenantId: 'platform',
            Tier: 'platform',
            Isolation: 'platform',
            TemplateVersion: { Ref: 'TemplateVersion' },
          }
        : {
            TenantId: { Ref: 'TenantId' },
            Tier: { Ref: 'TierName' },
            Isolation: kind,
            TemplateVersion: { Ref: 'TemplateVersion' },
          };
    const taggable = stack.node
      .findAll()
      .filter((c: IConstruct): c is CfnResource => CfnResource.isCfnResource(c))
      .filter(
        (r) =>
          (TagManager.isTaggable(r) || TagManager.isTaggableV2(r)) &&
          !UNTAGGED_RESOURCE_TYPES.includes(r.cfnResourceType),
      );
    expect(taggable.length).toBeGreaterThan(0);
    for (const resource of taggable) {
      const logicalId = stack.resolve(resource.logicalId) as string;
      const tags = json.Resources[logicalId]?.Properties?.Tags;
      const byKey = Array.isArray(tags)
        ? Object.fromEntries((tags as { Key: string; Value: unknown }[]).map((t) => [t.Key, t.Value]))
        : (tags as Record<string, unknown> | undefined);
      for (const key of TAG_KEYS)
        expect(byKey?.[key], `${logicalId} (${resource.cfnResourceType}) tag ${key}`).toEqual(expected[key]);
    }
  });

  it('passes cdk-nag AwsSolutions, and every acknowledged rule has a written reason', () => {
    const { stack } = get(kind);
    const report = new AwsSolutionsChecks().validateScope(stack);
    const unsuppressed = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
    );
    expect(unsuppressed).toEqual([]);
    const acknowledgments = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    for (const [rule, reason] of acknowledgments)
      expect(reason.length, `reason for ${rule}`).toBeGreaterThan(40);
  });
});

describe('tenant templates put every IAM role under the PermissionsBoundaryArn parameter', () => {
  const boundary = {
    'Fn::If': [HAS_PERMISSIONS_BOUNDARY, { Ref: 'PermissionsBoundaryArn' }, { Ref: 'AWS::NoValue' }],
  };

  it.each(['pool', 'bridge', 'silo'] as const)(
    '%s: the parameter (empty by default), its condition, and the boundary on every role',
    (kind) => {
      const { json } = get(kind);
      expect(json.Parameters?.PermissionsBoundaryArn).toEqual({
        Type: 'String',
        Default: '',
        AllowedPattern: PARAMETER_SPECS.PermissionsBoundaryArn.pattern,
        ConstraintDescription: PARAMETER_SPECS.PermissionsBoundaryArn.accepted,
        Description: PARAMETER_SPECS.PermissionsBoundaryArn.description,
      });
      expect(json.Conditions?.[HAS_PERMISSIONS_BOUNDARY]).toEqual({
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PermissionsBoundaryArn' }, ''] }],
      });
      const roles = resourcesOfType(json, 'AWS::IAM::Role');
      // The tenant role; bridge and silo the worker role (a noisy-neighbour control); silo the VPC flow-log role.
      expect(roles.length).toBe({ pool: 1, bridge: 2, silo: 3 }[kind]);
      for (const [id, role] of roles) expect(role.Properties?.PermissionsBoundary, id).toEqual(boundary);
      // No IAM user or group a boundary would also have to cover.
      expect(resourcesOfType(json, 'AWS::IAM::User')).toEqual([]);
      expect(resourcesOfType(json, 'AWS::IAM::Group')).toEqual([]);
    },
  );

  it('the platform template (deployed by the operator, not the tenant-stack role) has none', () => {
    const { json } = get('platform');
    expect(json.Parameters?.PermissionsBoundaryArn).toBeUndefined();
    expect(JSON.stringify(json)).not.toContain('PermissionsBoundary');
  });

  it('reaches roles added later, whether L2, L1 or a generic CfnResource', () => {
    const { app, stack } = buildTemplateStack('pool', join(outRoot, 'pool-extra-roles'));
    new iam.Role(stack, 'ExtraL2', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    new iam.CfnRole(stack, 'ExtraL1', { assumeRolePolicyDocument: { Statement: [] } });
    new CfnResource(stack, 'ExtraRaw', {
      type: 'AWS::IAM::Role',
      properties: { AssumeRolePolicyDocument: { Statement: [] } },
    });
    const roles = resourcesOfType(synthesizeStack(app, stack), 'AWS::IAM::Role');
    expect(roles.length).toBe(4);
    for (const [id, role] of roles) expect(role.Properties?.PermissionsBoundary, id).toEqual(boundary);
  });
});

describe('tenant templates scope tenant data by TenantId', () => {
  it.each(['pool', 'bridge', 'silo'] as const)(
    '%s: every statement on pooled data names the TenantId; the rest name stack resources',
    (kind) => {
      const { json } = get(kind);
      const [[roleId]] = resourcesOfType(json, 'AWS::IAM::Role').filter(([, r]) =>
        JSON.stringify(r.Properties?.AssumeRolePolicyDocument).includes(':root'),
      ) as [[string, unknown]];
      const tenantPolicies = resourcesOfType(json, 'AWS::IAM::Policy').filter(([, r]) =>
        referencedLogicalIds(r.Properties?.Roles).has(roleId),
      );
      const statements = tenantPolicies.flatMap(
        ([, r]) => (r.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [],
      );
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        const refs = referencedLogicalIds([statement.Resource, statement.Condition]);
        const pooled = refs.has('PooledTableArn') || refs.has('ArtifactBucketName');
        const ownResources = [...refs].filter((id) => json.Resources[id] !== undefined);
        if (pooled) expect(refs.has('TenantId'), JSON.stringify(statement)).toBe(true);
        else expect(ownResources.length, JSON.stringify(statement)).toBeGreaterThan(0);
        expect(asList(statement.Resource)).not.toContain('*');
      }
    },
  );

  it.each(['pool', 'bridge'] as const)(
    '%s: the pooled table only by leading key, the bucket only under tenants/<TenantId>/',
    (kind) => {
      const { template } = get(kind);
      const tenantPrefix = { 'Fn::Join': ['', ['tenants/', { Ref: 'TenantId' }, '/*']] };
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'PooledTableOwnItems',
              Resource: { Ref: 'PooledTableArn' },
              Action: Match.not(Match.arrayWith(['dynamodb:Scan'])),
              Condition: {
                'ForAllValues:StringLike': {
                  'dynamodb:LeadingKeys': [{ 'Fn::Join': ['', [{ Ref: 'TenantId' }, '#*']] }],
                },
                Null: { 'dynamodb:LeadingKeys': 'false' },
              },
            }),
            Match.objectLike({
              Sid: 'ArtifactBucketListOwnPrefix',
              Action: 's3:ListBucket',
              Condition: { StringLike: { 's3:prefix': [tenantPrefix] } },
            }),
            Match.objectLike({
              Sid: 'ArtifactBucketOwnObjects',
              Resource: {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':s3:::',
                    { Ref: 'ArtifactBucketName' },
                    '/tenants/',
                    { Ref: 'TenantId' },
                    '/*',
                  ],
                ],
              },
            }),
          ]),
        },
      });
    },
  );

  it('silo: the tenant role reaches no pooled resource', () => {
    expect(JSON.stringify(get('silo').json)).not.toMatch(/PooledTableArn|ArtifactBucketName/);
  });
});

describe('platform template', () => {
  it('has a shared VPC with two isolated subnets, flow logs, and no route to the internet', () => {
    const { template } = get('platform');
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    for (const type of [
      'AWS::EC2::InternetGateway',
      'AWS::EC2::NatGateway',
      'AWS::EC2::EIP',
      'AWS::EC2::Route',
      'AWS::Lambda::Function',
    ]) {
      template.resourceCountIs(type, 0);
    }
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });

  it('expires tenant data exports under exports/ by an S3 lifecycle rule', () => {
    get('platform').template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'TenantExportsExpire',
            Prefix: 'exports/',
            ExpirationInDays: EXPORT_RETENTION_DAYS_DEFAULT,
            Status: 'Enabled',
          }),
        ]),
      },
    });
  });

  it('has the pooled table keyed by pk/sk, on demand, with point-in-time recovery, retained', () => {
    get('platform').template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('has the lifecycle bus and an encrypted, versioned, private, logged artifact bucket', () => {
    const { template } = get('platform');
    template.hasResourceProperties('AWS::Events::EventBus', {
      Name: { 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'lifecycle']] },
    });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: Match.anyValue(),
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'artifacts/' }),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('outputs and exports what tenant stacks and ensurePlatform need', () => {
    const { json } = get('platform');
    const names: string[] = [...REQUIRED_OUTPUTS];
    expect(Object.keys(json.Outputs ?? {})).toEqual(expect.arrayContaining(names));
    for (const name of names.filter((n) => n !== 'TemplateVersion'))
      expect(json.Outputs?.[name]?.Export, name).toBeDefined();
  });
});

describe('bridge and silo databases', () => {
  it.each(['bridge', 'silo'] as const)(
    '%s: PostgreSQL from the tier parameters, encrypted with the tenant key, snapshot on delete',
    (kind) => {
      const { template, json } = get(kind);
      const [[keyId]] = resourcesOfType(json, 'AWS::KMS::Key') as [[string, unknown]];
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template.hasResource('AWS::RDS::DBInstance', {
        DeletionPolicy: 'Snapshot',
        UpdateReplacePolicy: 'Snapshot',
        Properties: Match.objectLike({
          Engine: 'postgres',
          EngineVersion: POSTGRES_ENGINE_VERSION,
          DBInstanceClass: { Ref: 'DbInstanceClass' },
          AllocatedStorage: { Ref: 'DbAllocatedStorage' },
          MultiAZ: { Ref: 'DbMultiAz' },
          BackupRetentionPeriod: { Ref: 'DbBackupRetentionDays' },
          StorageEncrypted: true,
          KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
          PubliclyAccessible: false,
          EnableIAMDatabaseAuthentication: true,
        }),
      });
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }),
      });
      template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
        TargetType: 'AWS::RDS::DBInstance',
      });
      // Reachable on the PostgreSQL port from the tenant's client group only, never from an address range.
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: POSTGRES_PORT,
        ToPort: POSTGRES_PORT,
        SourceSecurityGroupId: Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }),
      });
      expect(JSON.stringify(json)).not.toContain('0.0.0.0/0');
      for (const output of [
        'TenantRoleArn',
        'DbInstanceIdentifier',
        'DbEndpointAddress',
        'KmsKeyArn',
        'DbSecretArn',
        'TemplateVersion',
      ]) {
        expect(json.Outputs?.[output], output).toBeDefined();
      }
    },
  );

  it.each(['bridge', 'silo'] as const)(
    '%s: a dedicated table (pooled key schema) and bucket, encrypted with the tenant key, retained, output by name',
    (kind) => {
      const { template, json } = get(kind);
      const [[keyId]] = resourcesOfType(json, 'AWS::KMS::Key') as [[string, unknown]];
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          SSESpecification: Match.objectLike({
            SSEEnabled: true,
            SSEType: 'KMS',
            KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
          }),
        }),
      });
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              Match.objectLike({
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
                },
              }),
            ],
          },
        }),
      });
      for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket'])
        for (const [id, r] of resourcesOfType(json, type) as [string, { Properties: { Tags?: unknown } }][])
          expect(r.Properties.Tags, id).toEqual(
            expect.arrayContaining([{ Key: 'TenantId', Value: { Ref: 'TenantId' } }]),
          );
      expect(json.Outputs?.DataTableName?.Value).toEqual({ Ref: expect.stringMatching(/^DataTable/) });
      expect(json.Outputs?.DataBucketName?.Value).toEqual({ Ref: expect.stringMatching(/^DataBucket/) });
    },
  );

  it('bridge: the database sits in the shared VPC subnets given as parameters', () => {
    const { template } = get('bridge');
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: { Ref: 'SubnetIds' } });
    template.allResourcesProperties('AWS::EC2::SecurityGroup', { VpcId: { Ref: 'VpcId' } });
    template.resourceCountIs('AWS::EC2::VPC', 0);
  });
});

describe('silo template', () => {
  it('has its own isolated VPC with no internet path and no VPC endpoints', () => {
    const { template } = get('silo');
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    for (const type of [
      'AWS::EC2::InternetGateway',
      'AWS::EC2::NatGateway',
      'AWS::EC2::EIP',
      'AWS::EC2::Route',
      'AWS::EC2::VPCEndpoint',
    ]) {
      template.resourceCountIs(type, 0);
    }
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: Match.arrayWith([Match.objectLike({ Ref: Match.stringLikeRegexp('Subnet') })]),
    });
  });

  it('exposes an internal NLB as an endpoint service that requires acceptance, open to the allowed principals', () => {
    const { template, json } = get('silo');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'TCP', Port: 443 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Protocol: 'TCP',
      TargetType: 'ip',
    });
    const [[nlbId]] = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::LoadBalancer') as [
      [string, unknown],
    ];
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', {
      AcceptanceRequired: true,
      NetworkLoadBalancerArns: [{ Ref: nlbId }],
    });
    const [[, permissions]] = resourcesOfType(json, 'AWS::EC2::VPCEndpointServicePermissions') as unknown as [
      [string, { Condition: string; Properties: unknown }],
    ];
    expect(permissions.Properties).toMatchObject({ AllowedPrincipals: { Ref: 'AllowedPrincipals' } });
    // An empty AllowedPrincipals list leaves the permissions resource out instead of failing.
    expect(json.Conditions?.[permissions.Condition]).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', { Ref: 'AllowedPrincipals' }] }, ''] }],
    });
    expect(json.Parameters?.AllowedPrincipals).toMatchObject({ Type: 'CommaDelimitedList', Default: '' });
    for (const output of ['VpcId', 'EndpointServiceName', 'LoadBalancerArn', 'TargetGroupArn'])
      expect(json.Outputs?.[output], output).toBeDefined();
  });
});

const hasCfnLint = (() => {
  try {
    execFileSync('cfn-lint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.each(['bridge', 'silo'] as const)('%s: noisy-neighbour controls', (kind) => {
  const conditioned = (json: CfnTemplate, condition: string) =>
    Object.entries(json.Resources)
      .filter(([, r]) => r.Condition === condition)
      .map(([, r]) => r.Type)
      .sort();

  it('are off by default: each resource and output sits behind a condition on its parameter', () => {
    const { json } = get(kind);
    expect(json.Parameters?.WorkerReservedConcurrency).toMatchObject({
      Type: 'Number',
      Default: '0',
      MinValue: 0,
    });
    expect(json.Parameters?.TenantQueue).toMatchObject({
      Default: 'false',
      AllowedValues: ['true', 'false'],
    });
    expect(json.Conditions?.[NOISY_NEIGHBOUR_CONDITIONS.queue]).toEqual({
      'Fn::Equals': [{ Ref: 'TenantQueue' }, 'true'],
    });
    expect(json.Conditions?.[NOISY_NEIGHBOUR_CONDITIONS.worker]).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'WorkerReservedConcurrency' }, '0'] }],
    });
    expect(conditioned(json, NOISY_NEIGHBOUR_CONDITIONS.queue)).toEqual([
      'AWS::IAM::Policy',
      'AWS::SQS::Queue',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
    ]);
    expect(conditioned(json, NOISY_NEIGHBOUR_CONDITIONS.worker)).toEqual([
      'AWS::IAM::Policy',
      'AWS::IAM::Role',
      'AWS::Lambda::Function',
      'AWS::Logs::LogGroup',
    ]);
    expect(conditioned(json, NOISY_NEIGHBOUR_CONDITIONS.workerAndQueue)).toEqual(['AWS::IAM::Policy']);
    const outputs = json.Outputs ?? {};
    for (const name of ['TenantQueueUrl', 'TenantQueueArn', 'TenantDeadLetterQueueUrl'])
      expect(outputs[name]?.Condition, name).toBe(NOISY_NEIGHBOUR_CONDITIONS.queue);
    for (const name of ['WorkerFunctionName', 'WorkerFunctionArn'])
      expect(outputs[name]?.Condition, name).toBe(NOISY_NEIGHBOUR_CONDITIONS.worker);
  });

  it('the queue: SSE with the tenant key, a dead-letter queue after QueueMaxReceiveCount, fenced by TenantId', () => {
    const { json } = get(kind);
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    const [keyId] = resourcesOfType(json, 'AWS::KMS::Key').map(([id]) => id);
    for (const [id, q] of queues)
      expect(q.Properties?.KmsMasterKeyId, id).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const main = queues.find(([, q]) => q.Properties?.RedrivePolicy)!;
    const dlq = queues.find(([, q]) => !q.Properties?.RedrivePolicy)!;
    expect(main[1].Properties).toMatchObject({
      VisibilityTimeout: { Ref: 'QueueVisibilityTimeout' },
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlq[0], 'Arn'] },
        maxReceiveCount: { Ref: 'QueueMaxReceiveCount' },
      },
    });
    const [, policy] = resourcesOfType(json, 'AWS::SQS::QueuePolicy')[0]!;
    const document = policy.Properties?.PolicyDocument as { Statement: Statement[] };
    const statements = document.Statement;
    expect(statements.every((st) => st.Effect === 'Deny')).toBe(true);
    expect(statements.find((st) => st.Sid === 'OwnTenantOnly')?.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalTag/TenantId': { Ref: 'TenantId' } },
    });
  });

  it('the worker: reserved concurrency from the parameter, its own role and log group', () => {
    const { json } = get(kind);
    const [, fn] = resourcesOfType(json, 'AWS::Lambda::Function')[0]!;
    const [roleId] = resourcesOfType(json, 'AWS::IAM::Role').filter(([id]) => id.includes('Worker'))[0]!;
    expect(fn!.Properties).toMatchObject({
      ReservedConcurrentExecutions: { Ref: 'WorkerReservedConcurrency' },
      Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
      Runtime: TENANT_WORKER_RUNTIME,
    });
    expect(JSON.stringify(json.Resources[roleId]?.Properties?.AssumeRolePolicyDocument)).toContain(
      'lambda.amazonaws.com',
    );
  });
});

describe('cfn-lint', () => {
  it.skipIf(!hasCfnLint)(
    'finds nothing in any AWS template (skipped only when cfn-lint is not installed)',
    async () => {
      const files = KINDS.map((kind) => {
        const file = join(outRoot, `${kind}.lint.json`);
        writeFileSync(file, JSON.stringify(get(kind).json));
        return file;
      });
      const findings = await promisify(execFile)('cfn-lint', ['--format', 'json', ...files]).then(
        ({ stdout }) => stdout,
        (e: { stdout?: string }) => e.stdout ?? String(e),
      );
      expect(JSON.parse(findings || '[]')).toEqual([]);
    },
  );

  // cfn-lint resolves the template with the values a tier gives (W1030 and the like check them
  // against each resource's schema), for tiers with and without the noisy-neighbour controls.
  const fenced = {
    reservedConcurrency: 900,
    tenantQueue: { visibilityTimeoutSeconds: 43_200, maxReceiveCount: 1000 },
  };
  const platform = {
    pooledTableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/tcp-pooled',
    artifactBucketName: 'tcp-artifacts',
    vpcId: 'vpc-0123456789abcdef0',
    isolatedSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  } as PlatformOutputs;
  // (Without the controls the values are the templates' defaults, which the test above lints.)
  it.skipIf(!hasCfnLint).each([
    ['premium', fenced],
    ['enterprise', fenced],
  ] as const)(
    'finds nothing in the %s template resolved with its parameters (controls: %o)',
    async (tierName, noisyNeighbour) => {
      const tier = { ...TierCatalog.load().get(tierName), noisyNeighbour };
      const file = join(outRoot, `${tierName}-fenced.lint.json`);
      writeFileSync(file, JSON.stringify(get(tier.isolation).json));
      const parameters = buildTenantParameters(
        {
          tenantId: 't_01JAAAAAAAAAAAAAAAAAAAAAAA',
          slug: 'acme',
          tier,
          allowedPrincipals: [],
          templateVersion: '0123456789ab',
        },
        platform,
      );
      // cfn-lint's parameter file takes list parameters as arrays.
      const json = get(tier.isolation).json;
      const values = parameters.map(({ ParameterKey, ParameterValue }) => {
        const type = json.Parameters?.[ParameterKey]?.Type ?? '';
        const isList = type === 'CommaDelimitedList' || type.startsWith('List<');
        return {
          ParameterKey,
          ParameterValue: isList ? ParameterValue.split(',').filter(Boolean) : ParameterValue,
        };
      });
      const parameterFile = `${file}.parameters.json`;
      writeFileSync(parameterFile, JSON.stringify(values));
      const findings = await promisify(execFile)('cfn-lint', [
        '--format',
        'json',
        file,
        '--parameter-files',
        parameterFile,
      ]).then(
        ({ stdout }) => stdout,
        (e: { stdout?: string }) => e.stdout ?? String(e),
      );
      expect(JSON.parse(findings || '[]')).toEqual([]);
    },
  );
});

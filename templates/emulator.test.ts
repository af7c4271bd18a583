import { describe, expect, it } from 'vitest';
import {
  adaptTemplateForEmulator,
  EMULATOR_METADATA_KEY,
  emulatorAdaptationOf,
  referencedLogicalIds,
  resolveEmulatorOutputs,
  standInArn,
} from './emulator.js';
import type { CfnTemplate } from './types.js';

const tags = [
  { Key: 'TenantId', Value: { Ref: 'TenantId' } },
  { Key: 'Isolation', Value: 'silo' },
];

const keyPolicy = {
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

/** A small AWS template with each case the adaptation handles, shaped like the synthesized ones. */
function awsTemplate(): CfnTemplate {
  return {
    Parameters: {
      TenantId: { Type: 'String' },
      Storage: { Type: 'Number' },
      SubnetIds: { Type: 'List<AWS::EC2::Subnet::Id>' },
    },
    Conditions: {
      HasStorage: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Storage' }, '0'] }] },
      IsTenant: { 'Fn::Equals': [{ Ref: 'TenantId' }, 't_x'] },
    },
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16', Tags: tags } },
      Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, Tags: tags } },
      LocalRoutes: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' }, Tags: tags } },
      LocalRoutesAssociation: {
        Type: 'AWS::EC2::SubnetRouteTableAssociation',
        Properties: { RouteTableId: { Ref: 'LocalRoutes' }, SubnetId: { Ref: 'Subnet' } },
      },
      PeeredRoutes: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' } } },
      PeerRoute: {
        Type: 'AWS::EC2::Route',
        Properties: { RouteTableId: { Ref: 'PeeredRoutes' }, DestinationCidrBlock: '10.1.0.0/16' },
      },
      SubnetGroup: { Type: 'AWS::RDS::DBSubnetGroup', Properties: { SubnetIds: { Ref: 'SubnetIds' } } },
      Key: {
        Type: 'AWS::KMS::Key',
        Properties: { EnableKeyRotation: true, KeyPolicy: keyPolicy, Tags: tags },
      },
      Secret: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: { KmsKeyId: { 'Fn::GetAtt': ['Key', 'Arn'] }, Tags: tags },
      },
      Role: { Type: 'AWS::IAM::Role', Properties: { Tags: tags } },
      Policy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          Roles: [{ Ref: 'Role' }],
          PolicyDocument: {
            Statement: [
              { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: 'Secret' } },
            ],
          },
        },
      },
      Instance: {
        Type: 'AWS::RDS::DBInstance',
        DependsOn: 'LocalRoutesAssociation',
        Properties: {
          MasterUsername: {
            'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'Secret' }, ':SecretString:username::}}']],
          },
          AllocatedStorage: { Ref: 'Storage' },
          Tags: tags,
        },
      },
      LoadBalancer: {
        Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
        Properties: { Type: 'network', Tags: tags },
      },
      Listener: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: { LoadBalancerArn: { Ref: 'LoadBalancer' }, Protocol: 'TCP', Port: 443 },
      },
      Service: {
        Type: 'AWS::EC2::VPCEndpointService',
        Properties: { NetworkLoadBalancerArns: [{ Ref: 'LoadBalancer' }] },
      },
      Waiter: {
        Type: 'AWS::EC2::SecurityGroup',
        DependsOn: ['Listener', 'Role'],
        Properties: { GroupDescription: 'x', Tags: tags },
      },
    },
    Outputs: {
      KmsKeyArn: { Value: { 'Fn::GetAtt': ['Key', 'Arn'] } },
      DbSecretArn: { Value: { Ref: 'Secret' } },
      EndpointServiceName: {
        Value: { 'Fn::Join': ['', ['com.amazonaws.vpce.', { Ref: 'AWS::Region' }, '.', { Ref: 'Service' }]] },
      },
      ListenerArn: { Value: { Ref: 'Listener' } },
      ViaSub: { Value: { 'Fn::Sub': `name-\${Service}` } },
      TenantRoleArn: { Value: { 'Fn::GetAtt': ['Role', 'Arn'] } },
    },
  };
}

describe('adaptTemplateForEmulator', () => {
  const aws = awsTemplate();
  const before = structuredClone(aws);
  const { template, adaptation } = adaptTemplateForEmulator(aws);

  it('leaves the AWS template untouched', () => {
    expect(aws).toEqual(before);
  });

  const substitutedTags = [
    { Key: 'TenantId', Value: { 'Fn::Sub': `\${TenantId}` } },
    { Key: 'Isolation', Value: 'silo' },
  ];

  it('drops Tags from KMS keys only, and passes their policy as a JSON string', () => {
    expect(template.Resources.Key?.Properties).toEqual({
      EnableKeyRotation: true,
      KeyPolicy: { 'Fn::ToJsonString': keyPolicy },
    });
    expect(adaptation.serializedKeyPolicies).toEqual(['Key']);
    for (const id of ['Vpc', 'Role', 'Instance', 'LoadBalancer', 'Waiter']) {
      expect(template.Resources[id]?.Properties?.Tags, id).toEqual(substitutedTags);
    }
    expect(adaptation.untaggedResources).toEqual(['Key']);
  });

  it('leaves out network listeners and local-only route tables with their associations, and DependsOn on them', () => {
    for (const id of ['Listener', 'LocalRoutes', 'LocalRoutesAssociation'])
      expect(template.Resources[id], id).toBeUndefined();
    expect(Object.keys(adaptation.removedResources).sort()).toEqual([
      'Listener',
      'LocalRoutes',
      'LocalRoutesAssociation',
    ]);
    expect(adaptation.removedResources.LocalRoutes).toContain("blocks the VPC's deletion");
    expect(template.Resources.PeeredRoutes).toBeDefined();
    expect(template.Resources.Waiter?.DependsOn).toEqual(['Role']);
    expect(template.Resources.Instance?.DependsOn).toBeUndefined();
  });

  it('writes Refs of String and Number parameters inside resources as Fn::Sub, leaving list parameters', () => {
    expect(template.Resources.Instance?.Properties?.AllocatedStorage).toEqual({ 'Fn::Sub': `\${Storage}` });
    expect(template.Resources.SubnetGroup?.Properties?.SubnetIds).toEqual({ Ref: 'SubnetIds' });
    expect(adaptation.substitutedParameters).toEqual(['Storage', 'TenantId']);
  });

  it('writes Refs of Number parameters inside Conditions as Fn::Sub (moto compares their integer), leaving String ones', () => {
    expect(template.Conditions).toEqual({
      HasStorage: { 'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Sub': `\${Storage}` }, '0'] }] },
      IsTenant: { 'Fn::Equals': [{ Ref: 'TenantId' }, 't_x'] },
    });
    expect(adaptation.conditionParameters).toEqual(['Storage']);
  });

  it('keeps HTTP listeners, which moto creates', () => {
    const http = awsTemplate();
    (http.Resources.Listener?.Properties as Record<string, unknown>).Protocol = 'HTTP';
    expect(adaptTemplateForEmulator(http).template.Resources.Listener).toBeDefined();
  });

  it('replaces references to placeholders inside modeled resources with a stand-in ARN', () => {
    const document = template.Resources.Policy?.Properties?.PolicyDocument as
      | { Statement: { Resource: unknown }[] }
      | undefined;
    const statement = document?.Statement[0];
    expect(statement?.Resource).toEqual(standInArn('Secret'));
    expect(JSON.stringify(template.Resources.Instance?.Properties?.MasterUsername)).toContain(
      'emulator-placeholder/Secret',
    );
    expect(adaptation.standIns).toEqual({ Policy: ['Secret'], Instance: ['Secret'] });
    // Placeholders' own properties are left as they are (moto never parses them).
    expect(template.Resources.Service?.Properties).toEqual(before.Resources.Service?.Properties);
    expect(template.Resources.Secret?.Properties).toEqual(before.Resources.Secret?.Properties);
  });

  it('removes Outputs referring to placeholders or removed resources, keeps the rest', () => {
    expect(Object.keys(template.Outputs ?? {}).sort()).toEqual(['KmsKeyArn', 'TenantRoleArn']);
    expect(adaptation.removedOutputs).toEqual({
      DbSecretArn: ['AWS::SecretsManager::Secret'],
      EndpointServiceName: ['AWS::EC2::VPCEndpointService'],
      ListenerArn: ['AWS::ElasticLoadBalancingV2::Listener'],
      ViaSub: ['AWS::EC2::VPCEndpointService'],
    });
  });

  it('names RDS instances after the stack', () => {
    expect(template.Resources.Instance?.Properties?.DBInstanceIdentifier).toEqual({ Ref: 'AWS::StackName' });
    expect(adaptation.namedInstances).toEqual(['Instance']);
  });

  it('records the adaptation in the template Metadata', () => {
    expect(template.Metadata?.[EMULATOR_METADATA_KEY]).toEqual(adaptation);
    expect(emulatorAdaptationOf(JSON.stringify(template))).toEqual(adaptation);
    expect(emulatorAdaptationOf(JSON.stringify(aws))).toBeUndefined();
  });

  it('refuses to adapt when a resource refers to one moto cannot create', () => {
    const broken = awsTemplate();
    (broken.Resources.Role as { Properties: Record<string, unknown> }).Properties.Description = {
      Ref: 'Listener',
    };
    expect(() => adaptTemplateForEmulator(broken)).toThrow(
      expect.objectContaining({
        code: 'INTERNAL',
        message: expect.stringContaining('Role refers to Listener'),
      }),
    );
  });
});

describe('referencedLogicalIds', () => {
  it('finds Ref, Fn::GetAtt (both forms) and Fn::Sub references', () => {
    const value = {
      a: { Ref: 'A' },
      b: [{ 'Fn::GetAtt': ['B', 'Arn'] }, { 'Fn::GetAtt': 'C.Endpoint.Address' }],
      d: { 'Fn::Sub': [`\${D.Arn}-\${E}-\${!Literal}`, { E: { Ref: 'F' } }] },
    };
    expect([...referencedLogicalIds(value)].sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
  });
});

describe('resolveEmulatorOutputs', () => {
  it('reports each output the moto template lacks as absent, with the reason', () => {
    const { template } = adaptTemplateForEmulator(awsTemplate());
    const outputs = {
      KmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1',
      TenantRoleArn: 'arn:aws:iam::123456789012:role/r',
    };
    const resolved = resolveEmulatorOutputs({ body: JSON.stringify(template) }, outputs);
    expect(resolved.outputs).toEqual(outputs);
    expect(Object.keys(resolved.absent).sort()).toEqual([
      'DbSecretArn',
      'EndpointServiceName',
      'ListenerArn',
      'ViaSub',
    ]);
    expect(resolved.absent.DbSecretArn).toBe(
      'not available in the emulator: moto does not model AWS::SecretsManager::Secret',
    );
  });

  it('reports nothing absent for an AWS template', () => {
    expect(resolveEmulatorOutputs({ body: JSON.stringify(awsTemplate()) }, {}).absent).toEqual({});
  });
});

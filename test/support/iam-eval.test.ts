import { describe, expect, it } from 'vitest';
import { evaluate, evaluateResourcePolicy, type ResourceStatement, type Statement } from './iam-eval.js';

/** The evaluator's own semantics, each rule with a case that would catch its absence. */
// An IAM policy variable (not a JavaScript template).
const TAG = ['$', '{aws:PrincipalTag/TenantId}'].join('');
const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/pooled';
const tagged: Statement = {
  Effect: 'Allow',
  Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
  Resource: table,
  Condition: {
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TAG}#*`] },
    Null: { 'dynamodb:LeadingKeys': 'false' },
  },
};
const req = (keys: string[] | undefined, tenant: string | undefined, action = 'dynamodb:GetItem') => ({
  action,
  resource: table,
  context: { 'dynamodb:LeadingKeys': keys, 'aws:PrincipalTag/TenantId': tenant },
});

describe('iam-eval', () => {
  it('resolves the session tag in a condition value: own keys allowed, another tenant’s not', () => {
    expect(evaluate({ identity: [tagged] }, req(['t_A#1'], 't_A'))).toBe('allow');
    expect(evaluate({ identity: [tagged] }, req(['t_B#1'], 't_A'))).toBe('implicit-deny');
  });
  it('ForAllValues: every key must match; Null=false refuses a request with no keys', () => {
    expect(evaluate({ identity: [tagged] }, req(['t_A#1', 't_B#1'], 't_A', 'dynamodb:BatchGetItem'))).toBe(
      'implicit-deny',
    );
    expect(evaluate({ identity: [tagged] }, req([], 't_A'))).toBe('implicit-deny');
    expect(
      evaluate(
        {
          identity: [
            {
              ...tagged,
              Condition: { 'ForAllValues:StringLike': tagged.Condition!['ForAllValues:StringLike']! },
            },
          ],
        },
        req([], 't_A'),
      ),
    ).toBe('allow');
  });
  it('a missing policy variable matches nothing (no tag, no access)', () => {
    expect(evaluate({ identity: [tagged] }, req(['t_A#1'], undefined))).toBe('implicit-deny');
    const byResource: Statement = {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::b/tenants/${TAG}/*`,
    };
    expect(
      evaluate(
        { identity: [byResource] },
        { action: 's3:GetObject', resource: 'arn:aws:s3:::b/tenants//x', context: {} },
      ),
    ).toBe('implicit-deny');
  });
  it('an explicit Deny anywhere wins; a session policy and a boundary only narrow', () => {
    const deny: Statement = { Effect: 'Deny', Action: '*', Resource: '*' };
    expect(evaluate({ identity: [tagged, deny] }, req(['t_A#1'], 't_A'))).toBe('explicit-deny');
    expect(evaluate({ identity: [tagged], session: [deny] }, req(['t_A#1'], 't_A'))).toBe('explicit-deny');
    const narrow: Statement = { Effect: 'Allow', Action: 'dynamodb:BatchGetItem', Resource: '*' };
    expect(evaluate({ identity: [tagged], session: [narrow] }, req(['t_A#1'], 't_A'))).toBe('implicit-deny');
    expect(
      evaluate({ identity: [narrow], boundary: [tagged] }, req(['t_A#1'], 't_A', 'dynamodb:BatchGetItem')),
    ).toBe('allow');
  });
  it('actions match case-insensitively with wildcards; an unknown operator is an error', () => {
    expect(
      evaluate({ identity: [{ Effect: 'Allow', Action: 'DynamoDB:Get*', Resource: '*' }] }, req([], 't')),
    ).toBe('allow');
    expect(() =>
      evaluate(
        {
          identity: [
            { Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:x': 'y' } } },
          ],
        },
        req([], 't'),
      ),
    ).toThrow(/not implemented/);
  });
});

describe('iam-eval: resource policies (trust)', () => {
  const trust: ResourceStatement[] = [
    { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'sts:AssumeRole' },
    {
      Effect: 'Allow',
      Principal: { AWS: ['222222222222'] },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: { StringEquals: { 'aws:RequestTag/TenantId': 't_A' } },
    },
  ];
  const assume = (principal: string, tenant?: string) =>
    evaluateResourcePolicy(trust, {
      principal,
      action: 'sts:AssumeRole',
      resource: 'arn:aws:iam::111111111111:role/tenant',
      context: { 'aws:RequestTag/TenantId': tenant },
    });

  it('an account root (or bare account id) names every principal of that account, and only it', () => {
    expect(assume('arn:aws:iam::111111111111:role/anything')).toBe('allow');
    expect(assume('arn:aws:iam::222222222222:role/api', 't_A')).toBe('allow');
    expect(assume('arn:aws:iam::333333333333:role/api', 't_A')).toBe('implicit-deny');
  });

  it("a statement's conditions still apply to the principal it names", () => {
    expect(assume('arn:aws:iam::222222222222:role/api', 't_B')).toBe('implicit-deny');
    expect(assume('arn:aws:iam::222222222222:role/api')).toBe('implicit-deny');
  });

  it('an exact ARN names only itself; a Deny naming the principal wins', () => {
    const policy: ResourceStatement[] = [
      { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::222222222222:role/api' }, Action: 'sts:AssumeRole' },
      {
        Effect: 'Deny',
        Principal: '*',
        Action: 'sts:AssumeRole',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ];
    const as = (principal: string, secure: string) =>
      evaluateResourcePolicy(policy, {
        principal,
        action: 'sts:AssumeRole',
        resource: 'r',
        context: { 'aws:SecureTransport': secure },
      });
    expect(as('arn:aws:iam::222222222222:role/api', 'true')).toBe('allow');
    expect(as('arn:aws:iam::222222222222:role/other', 'true')).toBe('implicit-deny');
    expect(as('arn:aws:iam::222222222222:role/api', 'false')).toBe('explicit-deny');
  });
});

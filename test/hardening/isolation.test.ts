import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { TENANT_QUEUE_DATA_ACTIONS } from '../../templates/constants.js';
import {
  buildTenantParameters,
  type CfnTemplate,
  type PlatformOutputs,
  suspensionPolicyDefinition,
  tenantStackName,
} from '../../templates/index.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { testSynth } from '../support/control-plane.js';
import { type EvalRequest, evaluate, type Statement } from '../support/iam-eval.js';
import {
  actionsOf,
  conditionValues,
  type FoundStatement,
  iamMatches,
  isDataAction,
  type Lookup,
  policyStatements,
  render,
  resourcesOf,
} from './support/policies.js';

/**
 * Isolation, statically: every policy statement in a tenant template that touches tenant data is
 * scoped to that tenant (its TenantId parameter, or resources its own stack creates), and no
 * statement reaches another tenant's keys, prefixes or resources. Then a property: resolving tenant
 * A's policies with A's parameters never allows a request for tenant B's data.
 */

const KINDS = ['pool', 'bridge', 'silo'] as const;
const TARGETS = ['aws', 'moto'] as const;
const TIER_OF = { pool: 'basic', bridge: 'premium', silo: 'enterprise' } as const;
/** Bridge and silo tenants here have every noisy-neighbour control: their queue and worker are in play. */
const CONTROLS = {
  reservedConcurrency: 5,
  tenantQueue: { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 },
};
const shipped = TierCatalog.load();
const catalog = {
  get: (name: string) => {
    const tier = shipped.get(name);
    return tier.isolation === 'pool' ? tier : { ...tier, noisyNeighbour: CONTROLS };
  },
};
const templates = new Map<string, CfnTemplate>();

beforeAll(async () => {
  for (const kind of KINDS)
    for (const target of TARGETS)
      templates.set(`${kind}.${target}`, JSON.parse((await testSynth().resolve(kind, target)).body));
}, 120_000);

const ACCOUNT = '123456789012';
const PLATFORM: PlatformOutputs = {
  stackName: 'tcp-platform',
  stackId: `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/tcp-platform/1`,
  templateVersion: '0123456789ab',
  vpcId: 'vpc-0123456789abcdef0',
  isolatedSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  pooledTableName: 'tcp-pooled',
  pooledTableArn: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/tcp-pooled`,
  eventBusName: 'tcp-bus',
  eventBusArn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/tcp-bus`,
  artifactBucketName: 'tcp-artifacts-0123',
  suspensionPolicyArn: `arn:aws:iam::${ACCOUNT}:policy/tcp-platform-TenantSuspendedPolicy-1`,
  pooledRoleArn: `arn:aws:iam::${ACCOUNT}:role/tcp-platform-PooledTenantRole-1`,
  tenantApiId: 'a1b2c3d4e5',
  tenantApiStage: 'v1',
  userPoolId: 'us-east-1_abcdefghi',
  usagePlanIds: {},
};

const isOwnReference = (template: CfnTemplate, rendered: string): boolean => {
  // A resource of the stack itself, or a path inside it (objects of the tenant's own bucket).
  const own = /^\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}(\/.*)?$/.exec(rendered)?.[1];
  if (own && own in template.Resources) return true;
  // moto templates point at resources moto does not model with a placeholder ARN per logical id.
  const placeholder = /:emulator-placeholder\/([A-Za-z0-9]+)$/.exec(rendered)?.[1];
  return placeholder !== undefined && placeholder in template.Resources;
};

// biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's placeholder syntax, on purpose
const TENANT = '${TenantId}';
/** The part of a value before the tenant id holds no wildcard (so no other tenant fits there). */
const tenantPositionFixed = (value: string): boolean =>
  value.includes(TENANT) && !/[*?]/.test(value.slice(0, value.indexOf(TENANT)));

/** Every reason a data statement is not scoped to its own tenant; empty when it is. */
function scopingProblems(template: CfnTemplate, found: FoundStatement): string[] {
  const { statement, kind } = found;
  if (statement.Effect !== 'Allow') return [];
  const actions = actionsOf(statement);
  if (!actions.some(isDataAction)) return [];
  const problems: string[] = [];
  if (actions.includes('*')) problems.push('Action "*"');
  if (statement.NotResource || statement.NotAction) problems.push('NotResource/NotAction');
  const conditions = conditionValues(statement);
  const tenantConditions = [...conditions].filter(([, values]) => values.some((v) => v.includes(TENANT)));
  for (const [key, values] of tenantConditions) {
    for (const v of values) if (!tenantPositionFixed(v)) problems.push(`condition ${key} value ${v}`);
    // ForAllValues is true for an empty key set: a Null check must rule that out.
    const [operator, conditionKey] = key.split('|');
    if (operator?.startsWith('ForAllValues:') && conditions.get(`Null|${conditionKey}`)?.[0] !== 'false')
      problems.push(`${key} without Null ${conditionKey}=false`);
  }
  for (const resource of resourcesOf(statement)) {
    if (kind === 'resource' && resource === '*') continue; // a key policy's "*" is the key itself
    if (isOwnReference(template, resource)) continue;
    if (resource.includes(TENANT)) {
      if (!tenantPositionFixed(resource))
        problems.push(`resource ${resource}: wildcard before the tenant id`);
      continue;
    }
    // A shared resource (pooled table, artifact bucket): only a TenantId condition can scope it.
    if (tenantConditions.length === 0)
      problems.push(`shared resource ${resource} with no TenantId condition`);
  }
  if (kind === 'resource') {
    const principals = (statement.Principal as { AWS?: unknown } | string | undefined) ?? '*';
    const aws = typeof principals === 'string' ? [principals] : [principals.AWS].flat();
    for (const p of aws) {
      const rendered = render(p);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's placeholder syntax
      const accountRoot = rendered === 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root';
      if (!accountRoot && !isOwnReference(template, rendered)) problems.push(`principal ${rendered}`);
    }
  }
  return problems;
}

describe('every synthesized tenant template scopes tenant data to its own TenantId', () => {
  for (const kind of KINDS) {
    for (const target of TARGETS) {
      it(`${kind} (${target})`, () => {
        const template = templates.get(`${kind}.${target}`)!;
        expect(template.Parameters?.TenantId, 'a TenantId parameter').toBeDefined();
        const statements = policyStatements(template);
        const data = statements.filter(
          (s) => s.statement.Effect === 'Allow' && actionsOf(s.statement).some(isDataAction),
        );
        // Not vacuous: pool and bridge reach pooled data, bridge and silo their own secret and key.
        expect(data.length).toBeGreaterThan(0);
        const problems = data.flatMap((s) =>
          scopingProblems(template, s).map((p) => `${s.where} ${String(s.statement.Sid ?? '')}: ${p}`),
        );
        expect(problems).toEqual([]);
        if (kind !== 'silo') {
          const rendered = JSON.stringify(data.map((s) => s.statement));
          expect(rendered).toContain('dynamodb:LeadingKeys');
        }
      });
    }
  }

  it('the scoping rule itself refuses what it should (a wildcard tenant, no condition, Resource *)', () => {
    const template = templates.get('pool.aws')!;
    const bad = (statement: Record<string, unknown>) =>
      scopingProblems(template, { where: 'test', kind: 'identity', statement });
    const allow = { Effect: 'Allow', Action: ['s3:GetObject'] };
    expect(bad({ ...allow, Resource: 'arn:aws:s3:::b/tenants/*/x' })).not.toEqual([]);
    expect(bad({ ...allow, Resource: { Ref: 'PooledTableArn' } })).not.toEqual([]);
    expect(bad({ ...allow, Resource: '*' })).not.toEqual([]);
    expect(
      bad({
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { Ref: 'PooledTableArn' },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['*#', { Ref: 'TenantId' }] } },
      }),
    ).not.toEqual([]);
    expect(
      bad({
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { Ref: 'PooledTableArn' },
        Condition: {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a Fn::Sub template
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [{ 'Fn::Sub': '${TenantId}#*' }] },
        },
      }),
    ).toEqual(['ForAllValues:StringLike|dynamodb:LeadingKeys without Null dynamodb:LeadingKeys=false']);
  });
});

// ---------------------------------------------------------------- property: A's policy never fits B

interface Tenant {
  readonly tenantId: string;
  readonly slug: string;
}

/** A request for one tenant's data, as IAM sees it. */
interface DataRequest {
  readonly what: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, readonly string[]>>;
}

function lookupFor(template: CfnTemplate, kind: (typeof KINDS)[number], tenant: Tenant): Lookup {
  const tier = catalog.get(TIER_OF[kind]);
  const parameters = Object.fromEntries(
    buildTenantParameters(
      { ...tenant, tier, allowedPrincipals: [], templateVersion: '0123456789ab' },
      PLATFORM,
    ).map((p) => [p.ParameterKey, p.ParameterValue]),
  );
  const stack = tenantStackName('tcp', tenant.slug, kind);
  return (name) => {
    if (name in parameters) return parameters[name]!;
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'us-east-1',
      'AWS::AccountId': ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
    };
    if (name in pseudo) return pseudo[name]!;
    const logical = name.split('.')[0]!;
    // Resources a stack creates are its own: their ARNs name the stack.
    if (logical in template.Resources) return `arn:aws:own:us-east-1:${ACCOUNT}:${stack}/${logical}`;
    throw new Error(`no value for ${name}`);
  };
}

function requestsFor(template: CfnTemplate, kind: (typeof KINDS)[number], tenant: Tenant, key: string) {
  const own = (logical: string) => lookupFor(template, kind, tenant)(logical);
  const requests: DataRequest[] = [];
  if (kind !== 'silo') {
    requests.push(
      {
        what: 'pooled item',
        action: 'dynamodb:GetItem',
        resource: PLATFORM.pooledTableArn,
        context: { 'dynamodb:LeadingKeys': [`${tenant.tenantId}#${key}`] },
      },
      {
        what: 'artifact object',
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${PLATFORM.artifactBucketName}/tenants/${tenant.tenantId}/${key}`,
        context: {},
      },
      {
        what: 'artifact listing',
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${PLATFORM.artifactBucketName}`,
        context: { 's3:prefix': [`tenants/${tenant.tenantId}/${key}`] },
      },
    );
  }
  for (const [logical, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::SecretsManager::Secret')
      requests.push({
        what: 'secret',
        action: 'secretsmanager:GetSecretValue',
        resource: own(logical),
        context: {},
      });
    if (resource.Type === 'AWS::KMS::Key')
      requests.push({ what: 'key', action: 'kms:Decrypt', resource: own(logical), context: {} });
    if (resource.Type === 'AWS::SQS::Queue')
      requests.push(
        { what: 'queue send', action: 'sqs:SendMessage', resource: own(logical), context: {} },
        { what: 'queue receive', action: 'sqs:ReceiveMessage', resource: own(logical), context: {} },
      );
    if (resource.Type === 'AWS::Lambda::Function')
      requests.push({
        what: 'worker invoke',
        action: 'lambda:InvokeFunction',
        resource: own(logical),
        context: {},
      });
  }
  return requests;
}

/** IAM condition evaluation for the operators the templates use; unknown keys count as satisfied. */
function conditionsHold(statement: Record<string, unknown>, lookup: Lookup, request: DataRequest): boolean {
  for (const [key, values] of conditionValues(statement, lookup)) {
    const [operator = '', conditionKey = ''] = key.split('|');
    const present = request.context[conditionKey];
    if (operator === 'Null') {
      if ((values[0] === 'true') !== (present === undefined)) return false;
      continue;
    }
    if (present === undefined) continue; // not modelled: assume the worst (satisfied)
    const like = operator.endsWith('StringLike');
    const fits = (v: string) => values.some((p) => (like ? iamMatches(p, v) : p === v));
    if (operator.startsWith('ForAllValues:') ? !present.every(fits) : !present.some(fits)) return false;
  }
  return true;
}

/** Statements of A's policies (resolved with A's values) that allow the request. */
function allowedBy(template: CfnTemplate, lookup: Lookup, request: DataRequest): string[] {
  return policyStatements(template)
    .filter(({ statement, kind, where }) => {
      if (statement.Effect !== 'Allow') return false;
      if (!actionsOf(statement).some((a) => iamMatches(a, request.action))) return false;
      const resources = resourcesOf(statement, lookup).map((r) =>
        // In a resource policy, "*" is the resource the policy is attached to.
        kind === 'resource' && r === '*' ? lookup(where) : r,
      );
      return (
        resources.some((r) => iamMatches(r, request.resource)) && conditionsHold(statement, lookup, request)
      );
    })
    .map((s) => s.where);
}

const tenantArb = fc.record({
  tenantId: fc.stringMatching(/^t_[0-9A-HJKMNP-TV-Z]{26}$/),
  slug: fc.stringMatching(/^[a-z][a-z0-9]{2,20}$/),
});

describe('property: tenant A’s resolved policies never allow a request for tenant B’s data', () => {
  for (const kind of KINDS) {
    it(`${kind} (aws template)`, () => {
      const template = templates.get(`${kind}.aws`)!;
      fc.assert(
        fc.property(tenantArb, tenantArb, fc.string({ unit: 'grapheme', maxLength: 40 }), (a, b, key) => {
          fc.pre(a.tenantId !== b.tenantId && a.slug !== b.slug);
          const lookupA = lookupFor(template, kind, a);
          for (const own of requestsFor(template, kind, a, key)) {
            // Not vacuous: A reaches its own data through some statement.
            expect(allowedBy(template, lookupA, own), `A's own ${own.what}`).not.toEqual([]);
          }
          for (const other of requestsFor(template, kind, b, key)) {
            expect(allowedBy(template, lookupA, other), `B's ${other.what} ${other.resource}`).toEqual([]);
          }
        }),
        { numRuns: 100 },
      );
    });
  }
});

it('the property catches a leaking policy (LeadingKeys and object prefix widened to every tenant)', () => {
  const template = templates.get('pool.aws')!;
  const leaky = JSON.parse(
    JSON.stringify(template)
      .replaceAll('{"Ref":"TenantId"},"#*"', '"t_*"')
      .replaceAll('"/tenants/",{"Ref":"TenantId"},"/*"', '"/tenants/*"'),
  ) as CfnTemplate;
  expect(JSON.stringify(leaky)).not.toEqual(JSON.stringify(template));
  const a = { tenantId: 't_01JAAAAAAAAAAAAAAAAAAAAAAA', slug: 'alpha' };
  const b = { tenantId: 't_01JBBBBBBBBBBBBBBBBBBBBBBB', slug: 'bravo' };
  const leaks = requestsFor(leaky, 'pool', b, 'x').filter(
    (r) => allowedBy(leaky, lookupFor(leaky, 'pool', a), r).length > 0,
  );
  expect(leaks.map((r) => r.what)).toEqual(['pooled item', 'artifact object']);
});

/** A template statement resolved with one tenant's values, as the IAM evaluator takes it. */
function resolved(statement: Record<string, unknown>, lookup: Lookup): Statement {
  const condition: Record<string, Record<string, string[]>> = {};
  for (const [key, values] of conditionValues(statement, lookup)) {
    const [operator = '', conditionKey = ''] = key.split('|');
    condition[operator] = { ...condition[operator], [conditionKey]: values };
  }
  return {
    Effect: statement.Effect as 'Allow' | 'Deny',
    Action: actionsOf(statement),
    Resource: resourcesOf(statement, lookup),
    Condition: condition,
  };
}

describe("noisy-neighbour controls: a tenant's queue and worker are its own", () => {
  const a = { tenantId: 't_01JAAAAAAAAAAAAAAAAAAAAAAA', slug: 'alpha' };
  const b = { tenantId: 't_01JBBBBBBBBBBBBBBBBBBBBBBB', slug: 'bravo' };

  for (const kind of ['bridge', 'silo'] as const) {
    it(`${kind}: the queue policy denies message actions to any principal not tagged with this TenantId, and plain HTTP`, () => {
      const template = templates.get(`${kind}.aws`)!;
      const lookupA = lookupFor(template, kind, a);
      const queuePolicy = policyStatements(template).filter(
        (s) => template.Resources[s.where]?.Type === 'AWS::SQS::QueuePolicy',
      );
      expect(queuePolicy.map((s) => s.statement.Sid)).toEqual(['TlsOnly', 'OwnTenantOnly']);
      const [queueId] = Object.entries(template.Resources).find(
        ([, r]) => r.Type === 'AWS::SQS::Queue' && r.Properties?.RedrivePolicy,
      )!;
      // A principal of the account whose own policy allows every SQS action on every queue.
      const policies = {
        identity: [
          { Effect: 'Allow' as const, Action: 'sqs:*', Resource: '*' },
          ...queuePolicy.map((s) => resolved(s.statement, lookupA)),
        ],
      };
      const request = (action: string, context: Record<string, string>): EvalRequest => ({
        action,
        resource: lookupA(`${queueId}.Arn`),
        context: { 'aws:SecureTransport': 'true', ...context },
      });
      for (const action of TENANT_QUEUE_DATA_ACTIONS) {
        expect(evaluate(policies, request(action, { 'aws:PrincipalTag/TenantId': a.tenantId })), action).toBe(
          'allow',
        );
        expect(evaluate(policies, request(action, { 'aws:PrincipalTag/TenantId': b.tenantId })), action).toBe(
          'explicit-deny',
        );
        expect(evaluate(policies, request(action, {})), `${action} untagged`).toBe('explicit-deny');
      }
      expect(
        evaluate(
          policies,
          request('sqs:SendMessage', {
            'aws:PrincipalTag/TenantId': a.tenantId,
            'aws:SecureTransport': 'false',
          }),
        ),
      ).toBe('explicit-deny');
      // Managing the queue (CloudFormation updating or deleting it) is left to identity policies.
      expect(evaluate(policies, request('sqs:GetQueueAttributes', {}))).toBe('allow');
      expect(evaluate(policies, request('sqs:DeleteQueue', {}))).toBe('allow');
    });

    it(`${kind}: the principals the queue fence admits, the tenant and worker roles, carry this TenantId tag`, () => {
      const template = templates.get(`${kind}.aws`)!;
      const roles = Object.entries(template.Resources).filter(
        ([id, r]) =>
          r.Type === 'AWS::IAM::Role' && (id.startsWith('TenantRole') || id.includes('WorkerRole')),
      );
      expect(roles).toHaveLength(2);
      for (const [id, role] of roles) {
        const tags = role.Properties?.Tags as { Key: string; Value: unknown }[];
        expect(tags.find((t) => t.Key === 'TenantId')?.Value, id).toEqual({ Ref: 'TenantId' });
      }
    });

    it(`${kind}: the tenant and worker roles reach only the stack's own queues and function`, () => {
      const template = templates.get(`${kind}.aws`)!;
      const grants = policyStatements(template).filter(
        (s) =>
          s.statement.Effect === 'Allow' &&
          actionsOf(s.statement).some((x) => x.startsWith('sqs:') || x.startsWith('lambda:')),
      );
      // The tenant role's queue and invoke policies, the worker's consume policy.
      expect(grants.map((s) => s.statement.Sid).sort()).toEqual([
        'OwnQueueConsume',
        'OwnQueueMessages',
        'OwnWorkerInvoke',
      ]);
      for (const { statement, where } of grants)
        for (const resource of resourcesOf(statement))
          expect(isOwnReference(template, resource), `${where} ${resource}`).toBe(true);
    });
  }
});

describe('the tenant role trust', () => {
  for (const target of TARGETS) {
    it(`silo (${target}): its own account, and the control plane's only for this tenant's tagged sessions`, () => {
      const template = templates.get(`silo.${target}`)!;
      const [, role] = Object.entries(template.Resources).find(
        ([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith('TenantRole'),
      )!;
      const trust = role.Properties?.AssumeRolePolicyDocument as { 'Fn::If': [string, unknown, unknown] };
      const [condition, dedicated, own] = trust['Fn::If'];
      expect(template.Conditions?.[condition]).toEqual({
        'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ControlPlaneAccountId' }, ''] }],
      });
      const statements = (doc: unknown) => (doc as { Statement: Record<string, unknown>[] }).Statement;
      const ownRoot = {
        AWS: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
        },
      };
      expect(statements(own)).toEqual([
        { Effect: 'Allow', Principal: ownRoot, Action: ['sts:AssumeRole', 'sts:TagSession'] },
      ]);
      const [first, vending, ...rest] = statements(dedicated);
      expect(first).toEqual(statements(own)[0]);
      expect(rest).toEqual([]);
      expect(render((vending!.Principal as { AWS: unknown }).AWS)).toBe(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's placeholder syntax
        'arn:${AWS::Partition}:iam::${ControlPlaneAccountId}:root',
      );
      // (The moto template writes the Ref as Fn::Sub; rendered, both are the TenantId parameter.)
      const tagCondition = vending!.Condition as Record<string, Record<string, unknown>>;
      expect(Object.keys(tagCondition)).toEqual(['StringEquals']);
      expect(Object.keys(tagCondition.StringEquals!)).toEqual(['aws:RequestTag/TenantId']);
      expect(render(tagCondition.StringEquals!['aws:RequestTag/TenantId'])).toBe(TENANT);
    });
  }
});

describe('the platform: the pooled tenant role and the suspension policy', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, on purpose
  const TAG = '${aws:PrincipalTag/TenantId}';
  const tagPositionFixed = (value: string) =>
    value.includes(TAG) && !/[*?]/.test(value.slice(0, value.indexOf(TAG)));

  for (const target of TARGETS) {
    it(`every data statement of the pooled role is fenced by the session's TenantId tag (${target})`, async () => {
      const platform = JSON.parse((await testSynth().resolve('platform', target)).body) as CfnTemplate;
      const pooled = policyStatements(platform).filter(
        (s) => s.where.startsWith('PooledTenantRole') && s.statement.Effect === 'Allow',
      );
      expect(pooled.length).toBe(3);
      for (const { statement } of pooled) {
        const where = String(statement.Sid);
        expect(actionsOf(statement).every(isDataAction), where).toBe(true);
        expect(actionsOf(statement), where).not.toContain('*');
        const conditions = conditionValues(statement);
        // A session without the tag gets nothing: the variable would be empty.
        expect(conditions.get('Null|aws:PrincipalTag/TenantId'), where).toEqual(['false']);
        const fencedByResource = resourcesOf(statement).every(tagPositionFixed);
        const fencedByCondition = [...conditions].some(([, values]) => values.every(tagPositionFixed));
        expect(fencedByResource || fencedByCondition, where).toBe(true);
        for (const [key] of conditions)
          if (key.startsWith('ForAllValues:'))
            expect(conditions.get(`Null|${key.split('|')[1]}`), `${where} ${key}`).toEqual(['false']);
      }
      // Its trust policy requires a TenantId session tag, and allows tagging.
      const role = Object.entries(platform.Resources).find(([id]) => id.startsWith('PooledTenantRole'))?.[1];
      const trust = JSON.stringify(role?.Properties?.AssumeRolePolicyDocument);
      expect(trust).toContain('sts:TagSession');
      expect(trust).toContain('"aws:RequestTag/TenantId":"t_*"');
    });
  }

  it('the suspension policy only denies, and denies everything', () => {
    const doc = JSON.parse(suspensionPolicyDefinition('tcp').PolicyDocument) as {
      Statement: Record<string, unknown>[];
    };
    expect(doc.Statement).toEqual([{ Sid: 'TenantSuspended', Effect: 'Deny', Action: '*', Resource: '*' }]);
  });
});

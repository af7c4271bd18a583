import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../core/registry/records.js';
import { acmCertificates } from '../core/tenant-config/certificates.js';
import { TenantConfigStore } from '../core/tenant-config/store.js';
import { buildNotesApp } from '../examples/tenant-notes/app.js';
import { type CfnTemplate, TEMPLATE_PARAMETERS } from '../templates/index.js';
import { policyStatements, render } from '../test/hardening/support/policies.js';
import { codeOf, testEndpoint } from '../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane, testSynth } from '../test/support/control-plane.js';
import { type EvalRequest, evaluate, type Statement } from '../test/support/iam-eval.js';
import { claimsOf, signIn, tenantAccessOn } from '../test/support/tenant-tokens.js';
import type { TenantUsers } from '../workflows/index.js';
import {
  CredentialVendor,
  registryDirectory,
  type TenantTokenVerifier,
  tenantFlags,
  type VendedCredentials,
} from './index.js';

/**
 * The access kit end to end on moto: a pool and a silo tenant, users whose tokens carry the claims,
 * credentials vended by STS (moto) whose scope is proved by evaluating the real policies (moto does
 * not enforce IAM), the example application serving each tenant its own data, and suspension
 * blocking every path until resume restores it.
 */

let cp: TestControlPlane;
let users: TenantUsers;
let verify: TenantTokenVerifier;
let clientId: string;
let app: FastifyInstance;
const tokens: Record<string, string> = {};
const tenants: Record<'pool' | 'silo', Tenant> = {} as never;
const actor = { actor: 'test:ops' };

async function onboard(slug: string, tier: string): Promise<Tenant> {
  const started = await cp.workflows.lifecycle.onboard(
    { name: slug, slug, tier, adminEmail: `admin@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(slug);
}

beforeAll(async () => {
  cp = await startTestControlPlane();
  ({ users, clientId, verify } = await tenantAccessOn(cp));
  tenants.pool = await onboard('kit-pool', 'basic');
  tenants.silo = await onboard('kit-silo', 'enterprise');
  for (const [kind, t] of Object.entries(tenants)) {
    const email = `user@${t.slug}.example.com`;
    await users.add(t.slug, email);
    tokens[kind] = (await signIn(cp.aws.clients, cp.platform.userPoolId, clientId, email)).idToken;
  }
  app = await buildNotesApp({
    directory: registryDirectory(cp.aws.registry),
    vendor: new CredentialVendor({ sts: cp.aws.clients.sts, directory: registryDirectory(cp.aws.registry) }),
    verifyToken: verify,
    tableName: cp.platform.pooledTableName,
    region: 'us-east-1',
    endpoint: testEndpoint(),
    attach: tenantFlags(
      new TenantConfigStore({
        documents: cp.aws.clients.documents,
        tableName: cp.aws.registry.tableName,
        registry: cp.aws.registry,
        tierDefaults: (tier) => cp.catalog.features(tier),
        certificates: acmCertificates({ acm: cp.aws.clients.acm }),
      }),
    ),
  });
}, 180_000);
afterAll(async () => {
  await app?.close();
  await cp?.close();
});

describe('claims', () => {
  it("each user's token carries its tenant's id and tier", async () => {
    for (const kind of ['pool', 'silo'] as const) {
      const claims = claimsOf(tokens[kind]!);
      expect(claims['custom:tenantId']).toBe(tenants[kind].tenantId);
      expect(claims['custom:tier']).toBe(tenants[kind].tier);
      expect((await verify(tokens[kind]!)).tenantId).toBe(tenants[kind].tenantId);
    }
  });
});

const awsCredentials = (c: VendedCredentials) => ({
  accessKeyId: c.accessKeyId,
  secretAccessKey: c.secretAccessKey,
  sessionToken: c.sessionToken,
});

const lookupFor = (tenant: Tenant) => (name: string) => {
  const values: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::AccountId': '123456789012',
    'AWS::Region': 'us-east-1',
    TenantId: tenant.tenantId,
    PooledTableArn: cp.platform.pooledTableArn,
    ArtifactBucketName: cp.platform.artifactBucketName,
  };
  if (name in values) return values[name]!;
  if (/^PooledTable[0-9A-F]*\.Arn$/.test(name)) return cp.platform.pooledTableArn;
  if (/^Artifacts[0-9A-F]*$/.test(name)) return cp.platform.artifactBucketName;
  return `\${${name}}`;
};

/** The identity statements a role's policies give, rendered with concrete values. */
function roleStatements(template: CfnTemplate, roleLogicalPrefix: string, tenant: Tenant): Statement[] {
  return policyStatements(template)
    .filter((s) => s.kind === 'identity' && s.where.startsWith(roleLogicalPrefix))
    .map(({ statement }) =>
      JSON.parse(JSON.stringify(statement), (_k, v) => renderLeaf(v, lookupFor(tenant))),
    );
}
function renderLeaf(v: unknown, lookup: (n: string) => string): unknown {
  if (
    v &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    ('Ref' in v || 'Fn::GetAtt' in v || 'Fn::Join' in v || 'Fn::Sub' in v)
  )
    return render(v, lookup);
  return v;
}

describe('token vending: tagged, named after the tenant, and scoped', () => {
  let vended: VendedCredentials;
  const item = (tenant: Tenant, id: string) => ({ pk: `${tenant.tenantId}#notes`, sk: id });

  it('vends through STS with session tags TenantId and Tier, session name tenant-<id>; cached until near expiry', async () => {
    const vendor = new CredentialVendor({
      sts: cp.aws.clients.sts,
      directory: registryDirectory(cp.aws.registry),
      pooledRoleArn: cp.platform.pooledRoleArn,
    });
    vended = await vendor.forToken(tokens.pool!, verify);
    expect(vended).toMatchObject({
      tenantId: tenants.pool.tenantId,
      roleArn: cp.platform.pooledRoleArn,
      via: 'pooled-role',
      sessionName: `tenant-${tenants.pool.tenantId}`,
      tags: { TenantId: tenants.pool.tenantId, Tier: 'basic' },
    });
    expect(await vendor.forTenant(tenants.pool.slug)).toBe(vended);
    // STS (moto) issued them: they act as the assumed role session named after the tenant.
    const sts = new STSClient({
      region: 'us-east-1',
      endpoint: testEndpoint(),
      credentials: awsCredentials(vended),
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toMatch(new RegExp(`:assumed-role/[^/]+/tenant-${tenants.pool.tenantId}$`));
    // The silo tenant gets its own role.
    const silo = await vendor.forToken(tokens.silo!, verify);
    expect(silo).toMatchObject({ via: 'tenant-role', roleArn: tenants.silo.outputs.TenantRoleArn });
  });

  it('on moto the credentials reach the pooled table, which moto does not fence (hence the evaluator)', async () => {
    const documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: 'us-east-1',
        endpoint: testEndpoint(),
        credentials: awsCredentials(vended),
      }),
    );
    await documents.send(
      new PutCommand({
        TableName: cp.platform.pooledTableName,
        Item: { ...item(tenants.pool, 'n1'), text: 'mine' },
      }),
    );
    const own = await documents.send(
      new GetCommand({ TableName: cp.platform.pooledTableName, Key: item(tenants.pool, 'n1') }),
    );
    expect(own.Item?.text).toBe('mine');
  });

  it("the pooled role's policy, evaluated with the session's tags, allows the tenant's own keys and prefixes only", async () => {
    const platform = JSON.parse((await testSynth().resolve('platform', 'moto')).body) as CfnTemplate;
    const identity = roleStatements(platform, 'PooledTenantRole', tenants.pool);
    expect(identity.length).toBeGreaterThan(0);
    const A = tenants.pool.tenantId;
    const B = tenants.silo.tenantId;
    const session = { 'aws:PrincipalTag/TenantId': A, 'aws:PrincipalTag/Tier': 'basic' };
    const ddb = (action: string, keys: string[]): EvalRequest => ({
      action,
      resource: cp.platform.pooledTableArn,
      context: { ...session, 'dynamodb:LeadingKeys': keys },
    });
    const s3 = (action: string, key: string): EvalRequest => ({
      action,
      resource: `arn:aws:s3:::${cp.platform.artifactBucketName}/${key}`,
      context: session,
    });
    expect(evaluate({ identity }, ddb('dynamodb:GetItem', [`${A}#notes`]))).toBe('allow');
    expect(evaluate({ identity }, ddb('dynamodb:Query', [`${A}#notes`]))).toBe('allow');
    expect(evaluate({ identity }, ddb('dynamodb:GetItem', [`${B}#notes`]))).toBe('implicit-deny');
    expect(evaluate({ identity }, ddb('dynamodb:BatchGetItem', [`${A}#notes`, `${B}#notes`]))).toBe(
      'implicit-deny',
    );
    expect(evaluate({ identity }, ddb('dynamodb:Scan', []))).toBe('implicit-deny');
    // A prefix that is A's id followed by more characters is another tenant's: the # fences it.
    expect(evaluate({ identity }, ddb('dynamodb:GetItem', [`${A}X#notes`]))).toBe('implicit-deny');
    expect(evaluate({ identity }, s3('s3:GetObject', `tenants/${A}/report.csv`))).toBe('allow');
    expect(evaluate({ identity }, s3('s3:GetObject', `tenants/${B}/report.csv`))).toBe('implicit-deny');
    const list = (prefix: string): EvalRequest => ({
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${cp.platform.artifactBucketName}`,
      context: { ...session, 's3:prefix': prefix },
    });
    expect(evaluate({ identity }, list(`tenants/${A}/`))).toBe('allow');
    expect(evaluate({ identity }, list('tenants/'))).toBe('implicit-deny');
    // Without the tag a session reaches nothing (and the trust policy refuses to issue one).
    expect(
      evaluate(
        { identity },
        { ...ddb('dynamodb:GetItem', [`${A}#notes`]), context: { 'dynamodb:LeadingKeys': [`${A}#notes`] } },
      ),
    ).toBe('implicit-deny');
  });

  it("the pool tenant's own role, rendered for A, reaches A's keys and not B's; the suspension policy denies all", async () => {
    const pool = JSON.parse((await testSynth().resolve('pool', 'moto')).body) as CfnTemplate;
    expect(TEMPLATE_PARAMETERS.pool).toContain('TenantId');
    const identity = roleStatements(pool, 'TenantRole', tenants.pool);
    const A = tenants.pool.tenantId;
    const get = (key: string): EvalRequest => ({
      action: 'dynamodb:GetItem',
      resource: cp.platform.pooledTableArn,
      context: { 'dynamodb:LeadingKeys': [key] },
    });
    expect(evaluate({ identity }, get(`${A}#notes`))).toBe('allow');
    expect(evaluate({ identity }, get(`${tenants.silo.tenantId}#notes`))).toBe('implicit-deny');
    const suspended = [{ Effect: 'Deny' as const, Action: '*', Resource: '*' }];
    expect(evaluate({ identity: [...identity, ...suspended] }, get(`${A}#notes`))).toBe('explicit-deny');
  });
});

describe('the example application', () => {
  const call = (kind: 'pool' | 'silo', method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${tokens[kind]}` },
      ...(payload ? { payload } : {}),
    });

  it("serves tenant A's data to A and refuses B", async () => {
    expect((await call('pool', 'POST', '/notes', { id: 'n2', text: 'pool note' })).statusCode).toBe(201);
    const mine = await call('pool', 'GET', '/notes');
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toMatchObject({
      tenantId: tenants.pool.tenantId,
      cacheKey: `tenant:${tenants.pool.tenantId}:notes`,
      // The tenant's flags through the tenantFlags hook: the basic tier's defaults.
      flags: cp.catalog.features('basic'),
    });
    expect(Object.keys((mine.json() as { flags: object }).flags)).toContain('max-projects');
    expect((mine.json() as { notes: { text: string }[] }).notes.map((n) => n.text)).toContain('pool note');
    // B sees only its own (empty) notes, and A's URL is refused.
    const theirs = await call('silo', 'GET', '/notes');
    expect((theirs.json() as { notes: unknown[] }).notes).toEqual([]);
    const cross = await call('silo', 'GET', `/tenants/${tenants.pool.tenantId}/notes`);
    expect(cross.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/notes' })).statusCode).toBe(401);
    const forged = await app.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: 'Bearer not.a.jwt' },
    });
    expect(forged.statusCode).toBe(401);
    expect((forged.json() as { error: { code: string } }).error.code).toBe('TOKEN_INVALID');
  });
});

describe('suspension blocks every path; resume restores them', () => {
  it('suspended: the app answers 403 TENANT_NOT_ACTIVE, vending refuses; resumed: both serve again', async () => {
    const vendor = new CredentialVendor({
      sts: cp.aws.clients.sts,
      directory: registryDirectory(cp.aws.registry),
    });
    const op = await cp.workflows.lifecycle.suspend(tenants.pool.slug, 'e2e', actor);
    expect((await cp.waitForOperation(op.operation.operationId)).status).toBe('SUCCEEDED');
    const refused = await app.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: `Bearer ${tokens.pool}` },
    });
    expect(refused.statusCode).toBe(403);
    expect((refused.json() as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'TENANT_NOT_ACTIVE',
      message: expect.stringContaining('suspended'),
    });
    expect(await codeOf(vendor.forToken(tokens.pool!, verify))).toBe('TENANT_NOT_ACTIVE');
    // The other tenant is untouched.
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/notes',
          headers: { authorization: `Bearer ${tokens.silo}` },
        })
      ).statusCode,
    ).toBe(200);

    const resumed = await cp.workflows.lifecycle.resume(tenants.pool.slug, actor);
    expect((await cp.waitForOperation(resumed.operation.operationId)).status).toBe('SUCCEEDED');
    const fresh = (
      await signIn(cp.aws.clients, cp.platform.userPoolId, clientId, `user@${tenants.pool.slug}.example.com`)
    ).idToken;
    const served = await app.inject({
      method: 'GET',
      url: '/notes',
      headers: { authorization: `Bearer ${fresh}` },
    });
    expect(served.statusCode, served.body).toBe(200);
    expect((await vendor.forToken(fresh, verify)).tenantId).toBe(tenants.pool.tenantId);
  });
});

import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { isControlPlaneError } from '../core/errors.js';
import {
  addTenantClaims,
  checkStsLimits,
  createTenantTokenVerifier,
  type PreTokenEvent,
  STS_LIMITS,
  subdomainSlug,
  tenantCacheKey,
  tierIsolationFromEnv,
} from './index.js';

const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TEST';
const CLIENT = 'app-client-1';
let key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let jwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
});

const sign = (claims: Record<string, unknown>, { exp = '10m', iss = ISSUER } = {}) =>
  new SignJWT({ token_use: 'id', aud: CLIENT, 'custom:tenantId': 't_A', 'custom:tier': 'basic', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('user-1')
    .setIssuer(iss)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);

const verifier = (tokenUse: 'id' | 'access' = 'id') =>
  createTenantTokenVerifier({
    issuer: ISSUER,
    audience: CLIENT,
    tokenUse,
    jwks: createLocalJWKSet({ keys: [jwk] }),
  });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    if (!isControlPlaneError(e, 'TOKEN_INVALID')) throw e;
    return e.message;
  }
}

describe('tenant token verification (always on)', () => {
  it('accepts a valid ID token and reads the tenant claims (trigger names first, custom: attributes as fallback)', async () => {
    expect(await verifier()(await sign({}))).toMatchObject({
      tenantId: 't_A',
      tier: 'basic',
      tokenUse: 'id',
    });
    expect(
      await verifier()(await sign({ tenantId: 't_B', tier: 'premium', isolation: 'bridge' })),
    ).toMatchObject({
      tenantId: 't_B',
      tier: 'premium',
      isolation: 'bridge',
    });
  });
  it('refuses expiry, issuer, audience, token_use and a token with no tenant, saying which', async () => {
    expect(await refusal(verifier()(await sign({}, { exp: '-2m' })))).toMatch(/expired/);
    expect(await refusal(verifier()(await sign({}, { iss: 'https://elsewhere' })))).toMatch(/iss/);
    expect(await refusal(verifier()(await sign({ aud: 'other-client' })))).toMatch(/aud/);
    expect(await refusal(verifier('access')(await sign({})))).toMatch(/token_use "id" is not accepted/);
    expect(await refusal(verifier()(await sign({ token_use: 'refresh' })))).toMatch(/token_use/);
    expect(await refusal(verifier()(await sign({ 'custom:tenantId': undefined })))).toMatch(/no tenantId/);
    expect(await refusal(verifier()(`${(await sign({})).slice(0, -4)}AAAA`))).toMatch(/signature|verify/);
  });
  it('access tokens are matched on client_id', async () => {
    const token = await sign({ token_use: 'access', aud: undefined, client_id: CLIENT });
    expect((await verifier('access')(token)).tokenUse).toBe('access');
  });
  it('cannot be built with a check switched off', () => {
    const jwks = createLocalJWKSet({ keys: [jwk] });
    expect(() => createTenantTokenVerifier({ issuer: '', audience: CLIENT, tokenUse: 'id', jwks })).toThrow(
      /issuer/,
    );
    expect(() => createTenantTokenVerifier({ issuer: ISSUER, audience: [], tokenUse: 'id', jwks })).toThrow(
      /audience/,
    );
    expect(() => createTenantTokenVerifier({ issuer: ISSUER, audience: CLIENT, tokenUse: [], jwks })).toThrow(
      /tokenUse/,
    );
  });
});

/** The trigger event shapes of the Cognito developer guide ("Pre token generation Lambda trigger"). */
const event = (version: string, attributes: Record<string, string>): PreTokenEvent => ({
  version,
  triggerSource: 'TokenGeneration_Authentication',
  region: 'us-east-1',
  userPoolId: 'us-east-1_TEST',
  userName: 'ann',
  callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: CLIENT },
  request: {
    userAttributes: { sub: 'u-1', email: 'ann@example.com', ...attributes },
    groupConfiguration: { groupsToOverride: ['tenant-t_A'], iamRolesToOverride: [], preferredRole: null },
    ...(version === '1' ? {} : { scopes: ['openid', 'aws.cognito.signin.user.admin'] }),
  },
  response: version === '1' ? { claimsOverrideDetails: null } : { claimsAndScopeOverrideDetails: null },
});
const ISOLATION = { basic: 'pool', enterprise: 'silo' };

describe('pre-token-generation trigger', () => {
  it('V2_0: adds tenantId, tier and isolation to the ID and the access token', () => {
    const out = addTenantClaims(
      event('2', { 'custom:tenantId': 't_A', 'custom:tier': 'enterprise' }),
      ISOLATION,
    );
    const claims = { tenantId: 't_A', tier: 'enterprise', isolation: 'silo' };
    expect(out.response).toEqual({
      claimsAndScopeOverrideDetails: {
        idTokenGeneration: { claimsToAddOrOverride: claims },
        accessTokenGeneration: { claimsToAddOrOverride: claims },
      },
    });
  });
  it('V1_0: the ID token only (claimsOverrideDetails)', () => {
    const out = addTenantClaims(event('1', { 'custom:tenantId': 't_A', 'custom:tier': 'basic' }), ISOLATION);
    expect(out.response).toEqual({
      claimsOverrideDetails: { claimsToAddOrOverride: { tenantId: 't_A', tier: 'basic', isolation: 'pool' } },
    });
  });
  it('a user with no tenant (or an unknown tier) gets no invented claims', () => {
    expect(addTenantClaims(event('2', {}), ISOLATION).response).toEqual({
      claimsAndScopeOverrideDetails: null,
    });
    const unknownTier = addTenantClaims(
      event('2', { 'custom:tenantId': 't_A', 'custom:tier': 'gold' }),
      ISOLATION,
    );
    expect(
      (unknownTier.response.claimsAndScopeOverrideDetails as { idTokenGeneration: unknown })
        .idTokenGeneration,
    ).toEqual({ claimsToAddOrOverride: { tenantId: 't_A', tier: 'gold' } });
  });
  it('TIER_ISOLATION must be a JSON object of strings', () => {
    expect(tierIsolationFromEnv('{"basic":"pool"}')).toEqual({ basic: 'pool' });
    expect(() => tierIsolationFromEnv('[1]')).toThrow(/JSON object/);
    expect(() => tierIsolationFromEnv('{"basic":1}')).toThrow(/must be a string/);
  });
});

describe('STS limits, named in errors', () => {
  const ok = {
    RoleSessionName: 'tenant-t_A',
    DurationSeconds: 900,
    Tags: [{ Key: 'TenantId', Value: 't_A' }],
  };
  const limitOf = (request: Parameters<typeof checkStsLimits>[0]) => {
    try {
      checkStsLimits(request);
      return 'ok';
    } catch (e) {
      if (!isControlPlaneError(e, 'STS_LIMIT_EXCEEDED')) throw e;
      return (e.details as { limit: string }).limit;
    }
  };
  it('passes a normal request and names each limit a request breaks', () => {
    expect(limitOf(ok)).toBe('ok');
    const tags = Array.from({ length: STS_LIMITS.maxSessionTags + 1 }, (_, i) => ({
      Key: `k${i}`,
      Value: 'v',
    }));
    expect(limitOf({ ...ok, Tags: tags })).toBe('session tags');
    expect(limitOf({ ...ok, Tags: [{ Key: 'x'.repeat(129), Value: 'v' }] })).toBe('session tag key');
    expect(limitOf({ ...ok, Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] })).toBe('session tag value');
    expect(limitOf({ ...ok, Tags: [{ Key: 'k', Value: 'semi;colon' }] })).toBe('session tag value');
    expect(
      limitOf({
        ...ok,
        Tags: [
          { Key: 'TenantId', Value: 'a' },
          { Key: 'tenantid', Value: 'b' },
        ],
      }),
    ).toBe('session tag key');
    expect(limitOf({ ...ok, Policy: 'x'.repeat(2049) })).toBe('session policy');
    expect(limitOf({ ...ok, RoleSessionName: 'has space' })).toBe('role session name');
    expect(limitOf({ ...ok, DurationSeconds: 899 })).toBe('session duration');
  });
});

describe('tenant context helpers', () => {
  it('cache keys carry the tenant, so two tenants never share one', () => {
    expect(tenantCacheKey('t_A')('notes', 42)).toBe('tenant:t_A:notes:42');
    expect(tenantCacheKey('t_A')('a:b')).not.toBe(tenantCacheKey('t_A')('a', 'b'));
    expect(tenantCacheKey('t_A')('x')).not.toBe(tenantCacheKey('t_B')('x'));
  });
  it('subdomains resolve only under the configured base', () => {
    expect(subdomainSlug('acme.app.example.com:443', 'app.example.com')).toBe('acme');
    expect(subdomainSlug('acme.evil.com', 'app.example.com')).toBeUndefined();
    expect(subdomainSlug('a.b.app.example.com', 'app.example.com')).toBeUndefined();
    expect(subdomainSlug('acme.app.example.com', undefined)).toBeUndefined();
  });
});

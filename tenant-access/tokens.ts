import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ControlPlaneError } from '../core/errors.js';
import { type TenantClaims, tenantClaimsOf } from './claims.js';

/**
 * Verifies a tenant user's Cognito token. Every check is always on, none can be switched off:
 * signature (the pool's JWKS), issuer, expiry (an `exp` claim is required), audience (the app
 * client: `aud` in ID tokens, `client_id` in access tokens) and `token_use`, and the token must name
 * a tenant. Anything else is TOKEN_INVALID with the reason.
 */

export type TokenUse = 'id' | 'access';

export interface TenantTokenVerifierOptions {
  /** `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`. */
  readonly issuer: string;
  /** The app client id(s) whose tokens are accepted. */
  readonly audience: string | readonly string[];
  /** Which tokens are accepted: ID tokens carry the claims everywhere, access tokens with trigger V2. */
  readonly tokenUse: TokenUse | readonly TokenUse[];
  /** Key source. @default the issuer's JWKS (`<issuer>/.well-known/jwks.json`) */
  readonly jwks?: JWTVerifyGetKey;
  /** Clock skew allowed on exp/iat/nbf. @default 30 s */
  readonly clockToleranceSeconds?: number;
  /** For tests: the verification instant. */
  readonly clock?: () => Date;
}

export type TenantTokenVerifier = (token: string) => Promise<TenantClaims & { readonly payload: JWTPayload }>;

const list = <T>(v: T | readonly T[]): readonly T[] => (Array.isArray(v) ? v : [v as T]);

function invalid(reason: string, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError('TOKEN_INVALID', `tenant token refused: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

export function createTenantTokenVerifier(options: TenantTokenVerifierOptions): TenantTokenVerifier {
  const audiences = list(options.audience).filter((a) => typeof a === 'string' && a.length > 0);
  const uses = list(options.tokenUse).filter((u) => u === 'id' || u === 'access');
  // Refused at construction: a verifier that would skip a check is a configuration error.
  if (!options.issuer) throw new Error('createTenantTokenVerifier: issuer is required');
  if (audiences.length === 0)
    throw new Error('createTenantTokenVerifier: audience (app client id) is required');
  if (uses.length === 0)
    throw new Error("createTenantTokenVerifier: tokenUse ('id' and/or 'access') is required");
  const jwks =
    options.jwks ?? createRemoteJWKSet(new URL(`${options.issuer.replace(/\/$/, '')}/.well-known/jwks.json`));
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        requiredClaims: ['exp', 'token_use', 'sub'],
        clockTolerance: options.clockToleranceSeconds ?? 30,
        ...(options.clock ? { currentDate: options.clock() } : {}),
      }));
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      const reason =
        code === 'ERR_JWT_EXPIRED'
          ? 'the token has expired'
          : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
            ? `claim check failed (${(e as Error).message})`
            : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
              ? 'the signature does not verify'
              : `it does not verify (${(e as Error).message})`;
      throw invalid(reason, e);
    }
    const tokenUse = payload.token_use;
    if (tokenUse !== 'id' && tokenUse !== 'access')
      throw invalid(`token_use ${JSON.stringify(tokenUse)} is neither "id" nor "access"`);
    if (!uses.includes(tokenUse))
      throw invalid(`token_use "${tokenUse}" is not accepted here (${uses.join(', ')})`);
    const aud = tokenUse === 'id' ? list(payload.aud ?? []) : list(payload.client_id ?? []);
    if (!aud.some((a) => typeof a === 'string' && audiences.includes(a)))
      throw invalid(`the ${tokenUse === 'id' ? 'aud' : 'client_id'} claim names no accepted app client`);
    const claims = tenantClaimsOf(payload);
    if (!claims.tenantId) throw invalid('it carries no tenantId claim (not a tenant user)');
    return { ...claims, tenantId: claims.tenantId, subject: String(payload.sub), tokenUse, payload };
  };
}

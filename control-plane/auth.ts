import type { FastifyReply, FastifyRequest } from 'fastify';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ControlPlaneError } from '../core/errors.js';
import type { ApiKeyStore } from './api-keys.js';
import { SCOPES, type Scope } from './schemas.js';

/**
 * Who is calling and what they may do. Two credentials, both as `Authorization: Bearer …`: API keys
 * (looked up by hash in the registry table) and, when a Cognito issuer is configured, JWTs. The
 * actor string goes into the audit trail of every change the caller makes.
 */
export interface Principal {
  /** `key:<name>` or `jwt:<sub>`. */
  readonly actor: string;
  readonly scopes: ReadonlySet<Scope>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** `admin` implies every scope. */
export const hasScope = (principal: Principal, scope: Scope): boolean =>
  principal.scopes.has('admin') || principal.scopes.has(scope);

export type JwtVerifier = (token: string) => Promise<JWTPayload>;

export interface JwtVerifierOptions {
  readonly issuer: string;
  readonly audience?: string | undefined;
  /** Key source; defaults to the issuer's JWKS (`<issuer>/.well-known/jwks.json`, Cognito's layout). */
  readonly jwks?: JWTVerifyGetKey;
}

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const jwks =
    options.jwks ?? createRemoteJWKSet(new URL(`${options.issuer.replace(/\/$/, '')}/.well-known/jwks.json`));
  return async (token) => {
    const { payload } = await jwtVerify(token, jwks, { issuer: options.issuer });
    // Cognito ID tokens carry the app client in `aud`, access tokens in `client_id`.
    if (options.audience) {
      const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
      if (!aud.includes(options.audience) && payload.client_id !== options.audience) {
        throw new Error('token audience does not match');
      }
    }
    return payload;
  };
}

/**
 * Scopes from a JWT: the `scope` claim (Cognito resource-server scopes look like
 * `tenant-control-plane/tenants:read`; the part after the last `/` counts) and `cognito:groups`
 * named like a scope.
 */
export function scopesFromClaims(payload: JWTPayload): Set<Scope> {
  const names: string[] = [];
  if (typeof payload.scope === 'string') names.push(...payload.scope.split(/\s+/));
  const groups = payload['cognito:groups'];
  if (Array.isArray(groups)) names.push(...groups.filter((g): g is string => typeof g === 'string'));
  const scopes = new Set<Scope>();
  for (const name of names) {
    const short = name.slice(name.lastIndexOf('/') + 1);
    if ((SCOPES as readonly string[]).includes(short)) scopes.add(short as Scope);
  }
  return scopes;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AuthenticatorOptions {
  readonly apiKeys: ApiKeyStore;
  readonly jwt?: JwtVerifier | undefined;
}

export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions) {}

  /** The caller behind an Authorization header; UNAUTHENTICATED when there is none or it is not valid. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const match = header ? /^Bearer\s+(\S{1,4096})\s*$/i.exec(header) : null;
    if (!match) {
      throw new ControlPlaneError(
        'UNAUTHENTICATED',
        'send a credential as "Authorization: Bearer <api key or JWT>"',
      );
    }
    const token = match[1]!;
    if (JWT_SHAPE.test(token)) return this.fromJwt(token);
    const record = await this.options.apiKeys.find(token);
    if (!record) throw new ControlPlaneError('UNAUTHENTICATED', 'the API key is not recognised');
    return { actor: `key:${record.name}`, scopes: new Set(record.scopes) };
  }

  private async fromJwt(token: string): Promise<Principal> {
    if (!this.options.jwt) {
      throw new ControlPlaneError(
        'UNAUTHENTICATED',
        'JWTs are not accepted: no JWT issuer is configured (JWT_ISSUER)',
      );
    }
    let payload: JWTPayload;
    try {
      payload = await this.options.jwt(token);
    } catch (e) {
      // jose's reason (expired, bad signature, wrong issuer) helps the caller and reveals no secret.
      throw new ControlPlaneError('UNAUTHENTICATED', `the JWT is not valid: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (!payload.sub) throw new ControlPlaneError('UNAUTHENTICATED', 'the JWT has no sub claim');
    return { actor: `jwt:${payload.sub}`, scopes: scopesFromClaims(payload) };
  }

  /** An onRequest hook: authenticates, then (given a scope) FORBIDDEN unless the caller has it. */
  hook(scope: Scope | undefined): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
    return async (request) => {
      const principal = await this.authenticate(request.headers.authorization);
      request.principal = principal;
      if (scope && !hasScope(principal, scope)) {
        throw new ControlPlaneError(
          'FORBIDDEN',
          `this route needs the ${scope} scope; ${principal.actor} has ${[...principal.scopes].join(', ') || 'none'}`,
          {
            details: { required: scope, granted: [...principal.scopes] },
          },
        );
      }
    };
  }
}

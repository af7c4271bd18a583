import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { ControlPlaneError } from '../core/errors.js';
import type { TenantTokenVerifier } from './tokens.js';
import { type CredentialVendor, requireServing, type TenantDirectory, type TenantRecord } from './vending.js';

/**
 * The tenant context of an application request, framework-free: the tenant resolved from the
 * request's credential (a tenant JWT, or an API key), or for unauthenticated pages its subdomain;
 * suspended and offboarded tenants refused (TENANT_NOT_ACTIVE, 403); scoped AWS credentials from
 * token vending; a cache-key factory that prefixes every key with the tenant. The Fastify plugin
 * (./fastify.ts) is this function on every request.
 */

export interface TenantContext {
  readonly tenantId: string;
  readonly slug: string;
  readonly tier: string;
  readonly isolation: TenantRecord['isolation'];
  /** How the tenant was resolved. */
  readonly via: 'jwt' | 'api-key' | 'subdomain';
  /** The user (JWT subject), when a token resolved it. */
  readonly subject: string | undefined;
  /** `tenant:<tenantId>:<part>:<part>…`: keys of two tenants never collide. */
  cacheKey(...parts: readonly (string | number)[]): string;
  /** Short-lived credentials scoped to this tenant; pass to any AWS SDK client as `credentials`. */
  readonly credentials: AwsCredentialIdentityProvider;
  /** Whatever the `attach` hook added (e.g. the tenant's resolved feature flags). */
  readonly extras: Readonly<Record<string, unknown>>;
}

export interface RequestCredentials {
  /** The Authorization header. */
  readonly authorization?: string | undefined;
  /** The API key (x-api-key header, as API Gateway passes it on). */
  readonly apiKey?: string | undefined;
  /** The Host header. */
  readonly host?: string | undefined;
}

export interface TenantContextOptions {
  readonly directory: TenantDirectory;
  readonly vendor: CredentialVendor;
  /** Verifies tenant JWTs (always on: see ./tokens.ts). */
  readonly verifyToken: TenantTokenVerifier;
  /** Maps an API key to its tenant id; undefined for an unknown or disabled key. */
  readonly apiKeyTenant?: (apiKey: string) => Promise<string | undefined>;
  /** `app.example.com`: `acme.app.example.com` resolves tenant `acme`. Unset: no subdomains. */
  readonly subdomainBase?: string;
  /**
   * Adds to `extras` once the tenant is resolved, e.g. `async (t) => ({ flags: await flagsFor(t.tenantId) })`
   * with the tenant configuration module's resolved flags.
   */
  readonly attach?: (tenant: TenantRecord) => Promise<Record<string, unknown>>;
}

/**
 * The `attach` hook that puts the tenant's feature flags, resolved for its current tier with its
 * overrides (core/tenant-config, `TenantConfigStore.flags`), on `request.tenant.extras.flags`.
 */
export function tenantFlags(config: {
  flags(tenantIdOrSlug: string): Promise<Readonly<Record<string, boolean | number | string>>>;
}): NonNullable<TenantContextOptions['attach']> {
  return async (tenant) => ({ flags: await config.flags(tenant.tenantId) });
}

/** A cache-key factory for one tenant. */
export function tenantCacheKey(tenantId: string): (...parts: readonly (string | number)[]) => string {
  return (...parts) => ['tenant', tenantId, ...parts.map((p) => String(p).replaceAll(':', '%3A'))].join(':');
}

/** The slug a Host names under `base`, or undefined. */
export function subdomainSlug(host: string | undefined, base: string | undefined): string | undefined {
  if (!host || !base) return undefined;
  const name = host.toLowerCase().replace(/:\d+$/, '');
  const suffix = `.${base.toLowerCase()}`;
  if (!name.endsWith(suffix)) return undefined;
  const label = name.slice(0, -suffix.length);
  return /^[a-z0-9-]+$/.test(label) ? label : undefined;
}

function unauthenticated(message: string): ControlPlaneError {
  return new ControlPlaneError('UNAUTHENTICATED', message);
}

export async function resolveTenantContext(
  request: RequestCredentials,
  options: TenantContextOptions,
): Promise<TenantContext> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? '')?.[1];
  const fromHost = subdomainSlug(request.host, options.subdomainBase);
  let tenant: TenantRecord;
  let via: TenantContext['via'];
  let subject: string | undefined;
  if (bearer) {
    const claims = await options.verifyToken(bearer);
    tenant = await options.directory.get(claims.tenantId);
    via = 'jwt';
    subject = claims.subject;
  } else if (request.apiKey && options.apiKeyTenant) {
    const tenantId = await options.apiKeyTenant(request.apiKey);
    if (!tenantId) throw unauthenticated('the API key is not a tenant key, or it is disabled');
    tenant = await options.directory.get(tenantId);
    via = 'api-key';
  } else if (fromHost) {
    tenant = await options.directory.get(fromHost);
    via = 'subdomain';
  } else {
    throw unauthenticated('no tenant credential: send Authorization: Bearer <tenant token> or x-api-key');
  }
  // A credential for one tenant on another tenant's subdomain is refused, never silently rerouted.
  if (fromHost && via !== 'subdomain' && fromHost !== tenant.slug)
    throw new ControlPlaneError(
      'FORBIDDEN',
      `this credential is for tenant ${tenant.slug}, not ${fromHost}`,
      {
        details: { tenantId: tenant.tenantId },
      },
    );
  requireServing(tenant);
  const extras = options.attach ? await options.attach(tenant) : {};
  const vendor = options.vendor;
  const credentials: AwsCredentialIdentityProvider = async (): Promise<AwsCredentialIdentity> => {
    const c = await vendor.forTenant(tenant.tenantId);
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: new Date(c.expiration),
    };
  };
  return {
    tenantId: tenant.tenantId,
    slug: tenant.slug,
    tier: tenant.tier,
    isolation: tenant.isolation,
    via,
    subject,
    cacheKey: tenantCacheKey(tenant.tenantId),
    credentials,
    extras,
  };
}

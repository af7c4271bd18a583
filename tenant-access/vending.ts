import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { toControlPlaneError } from '../core/aws/errors.js';
import { ControlPlaneError } from '../core/errors.js';
import type { TenantState } from '../core/lifecycle.js';
import type { RegistryReader } from '../core/registry/queries.js';
import type { Tenant } from '../core/registry/records.js';
import { checkStsLimits, packedPolicyError } from './limits.js';
import type { TenantTokenVerifier } from './tokens.js';

/**
 * Token vending: short-lived STS credentials for one tenant, from AssumeRole on the tenant's own
 * role, or, for pool tenants when the platform's pooled role is given, on that role with session
 * tags `TenantId` and `Tier` (its policies fence the tenant by `aws:PrincipalTag/TenantId`). The
 * role session name carries the tenant id, so CloudTrail names the tenant of every call. The
 * tenant's state is read on every request, cached credentials or not: a suspended tenant gets
 * nothing (credentials vended before the suspension are stopped by the deny policy suspension puts
 * on the tenant role; see docs/access.md).
 */

/** What vending needs to know about a tenant. */
export interface TenantRecord {
  readonly tenantId: string;
  readonly slug: string;
  readonly tier: string;
  readonly isolation: 'pool' | 'bridge' | 'silo';
  readonly state: TenantState;
  /** The tenant's own role (its stack's TenantRoleArn output). */
  readonly roleArn?: string | undefined;
  /** Dedicated-account tenants: their account. */
  readonly accountId?: string | undefined;
  /** Where the tenant's resources live (its stacks, database, API key). */
  readonly region?: string | undefined;
}

export interface TenantDirectory {
  /** The tenant by id or slug; TENANT_NOT_FOUND when there is none. */
  get(idOrSlug: string): Promise<TenantRecord>;
}

export function tenantRecordOf(tenant: Tenant): TenantRecord {
  return {
    tenantId: tenant.tenantId,
    slug: tenant.slug,
    tier: tenant.tier,
    isolation: tenant.isolation,
    state: tenant.state,
    roleArn: tenant.outputs.TenantRoleArn || undefined,
    accountId: tenant.accountId,
    region: tenant.region,
  };
}

/** The registry as a tenant directory (the control plane's own table). */
export function registryDirectory(registry: Pick<RegistryReader, 'requireTenant'>): TenantDirectory {
  return { get: async (idOrSlug) => tenantRecordOf(await registry.requireTenant(idOrSlug)) };
}

/** States that get credentials: serving, including during a tier change. */
export const SERVING_STATES: readonly TenantState[] = ['ACTIVE', 'UPDATING'];

/** Refuses a tenant that is not serving with TENANT_NOT_ACTIVE (403), naming its state. */
export function requireServing(tenant: Pick<TenantRecord, 'tenantId' | 'slug' | 'state'>): void {
  if (SERVING_STATES.includes(tenant.state)) return;
  const why =
    tenant.state === 'SUSPENDED' || tenant.state === 'SUSPENDING'
      ? 'is suspended'
      : tenant.state === 'OFFBOARDED' || tenant.state === 'OFFBOARDING'
        ? 'is offboarded'
        : `is ${tenant.state}`;
  throw new ControlPlaneError('TENANT_NOT_ACTIVE', `tenant ${tenant.slug} (${tenant.tenantId}) ${why}`, {
    details: { tenantId: tenant.tenantId, state: tenant.state },
  });
}

export interface VendedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** ISO time the credentials expire. */
  readonly expiration: string;
  readonly tenantId: string;
  readonly roleArn: string;
  readonly sessionName: string;
  /** The session tags the credentials carry. */
  readonly tags: Readonly<Record<string, string>>;
  /** `tenant-role` or `pooled-role`. */
  readonly via: 'tenant-role' | 'pooled-role';
  /** The tenant's region: where the credentials are meant to be used (its resources are there). */
  readonly region?: string | undefined;
  /** STS's packed size of tags and policy, percent of its limit. */
  readonly packedPolicySize?: number | undefined;
}

export interface CredentialVendorOptions {
  readonly sts: STSClient;
  readonly directory: TenantDirectory;
  /** The platform's pooled role; pool tenants assume it with session tags when given. */
  readonly pooledRoleArn?: string | undefined;
  /** @default 900 (STS's minimum) */
  readonly durationSeconds?: number;
  /** Cached credentials are replaced this long before they expire. @default 120 */
  readonly refreshBeforeSeconds?: number;
  /** An inline session policy narrowing the role further, per tenant. @default none */
  readonly sessionPolicy?: (tenant: TenantRecord) => object | undefined;
  /** Session tags besides TenantId and Tier (e.g. a cost centre). */
  readonly extraTags?: Readonly<Record<string, string>>;
  readonly clock?: () => Date;
}

interface Cached {
  readonly credentials: VendedCredentials;
  readonly refreshAt: number;
}

export class CredentialVendor {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<VendedCredentials>>();
  private readonly clock: () => Date;

  constructor(private readonly options: CredentialVendorOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Credentials for the tenant a verified token names (the token is verified here, always). */
  async forToken(token: string, verify: TenantTokenVerifier): Promise<VendedCredentials> {
    const claims = await verify(token);
    return this.forTenant(claims.tenantId);
  }

  /** Credentials for a tenant (back-office jobs: `POST /v1/tenants/{id}/credentials`). */
  async forTenant(idOrSlug: string): Promise<VendedCredentials> {
    const tenant = await this.options.directory.get(idOrSlug);
    requireServing(tenant);
    const request = this.requestFor(tenant);
    const key = `${tenant.tenantId}|${request.RoleArn}|${request.Policy ?? ''}|${tenant.tier}`;
    const hit = this.cache.get(key);
    if (hit && hit.refreshAt > this.clock().getTime()) return hit.credentials;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const call = this.assume(tenant, request).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, call);
    const credentials = await call;
    const refreshBefore = (this.options.refreshBeforeSeconds ?? 120) * 1000;
    this.cache.set(key, { credentials, refreshAt: Date.parse(credentials.expiration) - refreshBefore });
    return credentials;
  }

  /** Forgets a tenant's cached credentials (e.g. on a suspension event). */
  forget(tenantId: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${tenantId}|`)) this.cache.delete(key);
  }

  private requestFor(tenant: TenantRecord) {
    const pooled = tenant.isolation === 'pool' && this.options.pooledRoleArn;
    const RoleArn = pooled ? this.options.pooledRoleArn : tenant.roleArn;
    if (!RoleArn)
      throw new ControlPlaneError(
        'TENANT_ROLE_MISSING',
        `tenant ${tenant.slug} has no role yet (its stack has no TenantRoleArn output)`,
        { details: { tenantId: tenant.tenantId } },
      );
    const tags = { ...this.options.extraTags, TenantId: tenant.tenantId, Tier: tenant.tier };
    const policy = this.options.sessionPolicy?.(tenant);
    const request = {
      RoleArn,
      RoleSessionName: `tenant-${tenant.tenantId}`,
      DurationSeconds: this.options.durationSeconds ?? 900,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      ...(policy ? { Policy: JSON.stringify(policy) } : {}),
      via: pooled ? ('pooled-role' as const) : ('tenant-role' as const),
    };
    checkStsLimits(request);
    return request;
  }

  private async assume(
    tenant: TenantRecord,
    request: ReturnType<CredentialVendor['requestFor']>,
  ): Promise<VendedCredentials> {
    const { via, ...input } = request;
    try {
      const out = await this.options.sts.send(new AssumeRoleCommand(input));
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration)
        throw new ControlPlaneError('AWS_ERROR', `AssumeRole on ${input.RoleArn} returned no credentials`);
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration.toISOString(),
        tenantId: tenant.tenantId,
        roleArn: input.RoleArn,
        sessionName: input.RoleSessionName,
        tags: Object.fromEntries(input.Tags.map((t) => [t.Key, t.Value])),
        via,
        ...(tenant.region ? { region: tenant.region } : {}),
        packedPolicySize: out.PackedPolicySize,
      };
    } catch (e) {
      throw packedPolicyError(e) ?? toControlPlaneError(e, `STS AssumeRole on ${input.RoleArn}`);
    }
  }
}

import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { cancelledItems } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';
import { canonicalJson } from '../ids.js';
import type { RegistryIo } from '../registry/io.js';
import { tenantConfigKey } from '../registry/keys.js';
import type { RegistryReader } from '../registry/queries.js';
import type { Tenant } from '../registry/records.js';
import { eventPut, transact } from '../registry/transact-items.js';
import type { CertificateProvider } from './certificates.js';
import { configETag, emptyConfig, etagMatches, planPatch, resolveConfig } from './resolve.js';
import {
  type ConfigPatch,
  type Domain,
  type Flags,
  type ResolvedConfig,
  type TenantConfigRecord,
  TenantConfigRecordSchema,
} from './schema.js';

/**
 * Tenant configuration documents in the registry table (kind `tenant-config`, keys.ts), one per
 * tenant beside its record. Each change is one transaction: the document put at the version it was
 * read (optimistic lock) and its audit event (`config.updated`), like every registry change.
 */

export interface TenantConfigStoreOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Tenants are read through the registry's reads (by id or slug). */
  readonly registry: Pick<RegistryReader, 'requireTenant'>;
  /** The feature flag defaults of a tier (the tier catalog's `features`). */
  readonly tierDefaults: (tier: string) => Flags;
  /** Custom-domain certificates (ACM); without it, setting a domain answers CAPABILITY_UNAVAILABLE. */
  readonly certificates?: CertificateProvider | undefined;
  readonly clock?: () => Date;
  /** How long `flags()` reuses a tenant's resolved flags in this process (its own patches refresh it). @default 5000 */
  readonly flagsCacheMs?: number;
}

export interface ConfigView {
  readonly tenant: Tenant;
  readonly config: ResolvedConfig;
  readonly etag: string;
}

export interface PatchOptions {
  readonly actor: string;
  /** The caller's If-Match: the patch applies only to the config it names (else VERSION_CONFLICT). */
  readonly ifMatch?: string | undefined;
}

/** Without If-Match a patch applies to whatever is current: a lost race is re-read and re-applied. */
const BLIND_PATCH_ATTEMPTS = 3;

const FLAGS_CACHE_MAX = 10_000;

/** What offboarding did with a tenant's custom domain (TenantConfigStore.retireDomain). */
export type DomainRetirement =
  | { readonly outcome: 'none' }
  | {
      readonly outcome: 'deleted' | 'gone' | 'in-use';
      readonly hostname: string;
      readonly certificateArn: string;
    };

/** The part of the config store offboarding uses (workflows' ReleaseDomain task). */
export type TenantDomains = Pick<TenantConfigStore, 'retireDomain'>;

export class TenantConfigStore {
  private readonly io: RegistryIo;
  private readonly flagsCache = new Map<string, { flags: Flags; until: number }>();

  constructor(private readonly options: TenantConfigStoreOptions) {
    this.io = {
      db: options.documents,
      tableName: options.tableName,
      clock: options.clock ?? (() => new Date()),
    };
  }

  private async record(tenantId: string, consistent: boolean): Promise<TenantConfigRecord> {
    const out = await this.io.db.send(
      new GetCommand({
        TableName: this.io.tableName,
        Key: tenantConfigKey(tenantId),
        ConsistentRead: consistent,
      }),
    );
    if (!out.Item) return emptyConfig(tenantId);
    const { pk: _pk, sk: _sk, kind: _kind, ...rest } = out.Item;
    return TenantConfigRecordSchema.parse(rest);
  }

  private view(tenant: Tenant, record: TenantConfigRecord): ConfigView {
    const config = resolveConfig(record, tenant.tier, this.options.tierDefaults(tenant.tier));
    return { tenant, config, etag: configETag(config) };
  }

  /** The resolved config of a tenant (by id or slug) and its ETag. */
  async read(tenantIdOrSlug: string, options: { consistent?: boolean } = {}): Promise<ConfigView> {
    const tenant = await this.options.registry.requireTenant(tenantIdOrSlug);
    return this.view(tenant, await this.record(tenant.tenantId, options.consistent ?? false));
  }

  /**
   * The flags a tenant gets now: its current tier's defaults with its overrides. What the
   * tenant-context plugin exposes to applications (`resolveTenantFlags`).
   */
  async flags(tenantIdOrSlug: string): Promise<Flags> {
    const now = Date.now();
    const hit = this.flagsCache.get(tenantIdOrSlug);
    if (hit && hit.until > now) return hit.flags;
    const flags = (await this.read(tenantIdOrSlug)).config.flags;
    const ttl = this.options.flagsCacheMs ?? 5000;
    if (ttl > 0) {
      if (this.flagsCache.size >= FLAGS_CACHE_MAX) this.flagsCache.clear();
      this.flagsCache.set(tenantIdOrSlug, { flags, until: now + ttl });
    }
    return flags;
  }

  /**
   * Applies a validated merge patch. Nothing is written when it changes nothing, when If-Match
   * names another config (VERSION_CONFLICT), or when the certificate of a new domain cannot be had.
   */
  async patch(
    tenantIdOrSlug: string,
    patch: ConfigPatch,
    options: PatchOptions,
  ): Promise<ConfigView & { changed: readonly string[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.patchOnce(tenantIdOrSlug, patch, options);
      } catch (e) {
        const retry = !options.ifMatch && attempt < BLIND_PATCH_ATTEMPTS;
        if (!(retry && e instanceof ControlPlaneError && e.code === 'VERSION_CONFLICT')) throw e;
      }
    }
  }

  private async patchOnce(
    tenantIdOrSlug: string,
    patch: ConfigPatch,
    options: PatchOptions,
  ): Promise<ConfigView & { changed: readonly string[] }> {
    const tenant = await this.options.registry.requireTenant(tenantIdOrSlug);
    const record = await this.record(tenant.tenantId, true);
    const current = this.view(tenant, record);
    if (options.ifMatch !== undefined && !etagMatches(options.ifMatch, current.etag)) {
      throw new ControlPlaneError(
        'VERSION_CONFLICT',
        `the config of tenant ${tenant.tenantId} is at ${current.etag}, not ${options.ifMatch}; read it again (GET) and retry with its ETag`,
        { details: { tenantId: tenant.tenantId, currentETag: current.etag, currentVersion: record.version } },
      );
    }
    if (tenant.state === 'OFFBOARDED') {
      throw new ControlPlaneError(
        'INVALID_STATE_TRANSITION',
        `tenant ${tenant.tenantId} is OFFBOARDED: its config is kept, read-only`,
        { details: { state: tenant.state } },
      );
    }
    const plan = planPatch(record, patch);
    const domain = await this.nextDomain(tenant, record, plan.domain);
    const changed = [...plan.changed];
    if (plan.domain.kind === 'refresh' && canonicalJson(domain) !== canonicalJson(record.domain))
      changed.push('domain');
    if (changed.length === 0) return { ...current, changed };
    const next: TenantConfigRecord = {
      tenantId: tenant.tenantId,
      version: record.version + 1,
      flags: plan.flags,
      branding: plan.branding,
      ...(domain ? { domain } : {}),
      updatedAt: this.io.clock().toISOString(),
      updatedBy: options.actor,
    };
    await this.write(
      record,
      next,
      {
        version: next.version,
        changed,
        patch,
        ...(record.domain && record.domain.certificateArn !== domain?.certificateArn
          ? { previousCertificateArn: record.domain.certificateArn }
          : {}),
      },
      options.actor,
    );
    // The certificate of a replaced or removed domain, once the config no longer names it.
    if (record.domain && record.domain.certificateArn !== domain?.certificateArn)
      await this.options.certificates?.release(record.domain.certificateArn);
    const view = this.view(tenant, next);
    for (const ref of [tenant.tenantId, tenant.slug]) this.flagsCache.delete(ref);
    return { ...view, changed };
  }

  /**
   * Offboarding: releases the certificate of the tenant's custom domain and drops the domain from
   * its config (kept, read-only, once OFFBOARDED). Idempotent: a config without a domain answers
   * `none`, a certificate already deleted `gone`. A certificate ACM will not delete because
   * something still uses it (`in-use`) is recorded in the audit event and the domain dropped all
   * the same: the tenant no longer has it, and an operator can delete it once detached. Any other
   * failure throws and writes nothing, so a retry tries again.
   */
  async retireDomain(tenantId: string, actor: string): Promise<DomainRetirement> {
    for (let attempt = 1; ; attempt++) {
      const record = await this.record(tenantId, true);
      const domain = record.domain;
      if (!domain) return { outcome: 'none' };
      const certificates = this.options.certificates;
      if (!certificates) {
        throw new ControlPlaneError(
          'CAPABILITY_UNAVAILABLE',
          `tenant ${tenantId} has a custom domain but this control plane was built without ACM, so its certificate ${domain.certificateArn} cannot be released; nothing was changed`,
          { details: { service: 'acm', certificateArn: domain.certificateArn } },
        );
      }
      const outcome = await certificates.release(domain.certificateArn);
      if (outcome === 'failed') {
        throw new ControlPlaneError(
          'AWS_ERROR',
          `ACM DeleteCertificate of ${domain.certificateArn} (tenant ${tenantId}) failed; the domain is kept in the config, retry the offboarding`,
          { details: { certificateArn: domain.certificateArn } },
        );
      }
      const { domain: _dropped, ...rest } = record;
      const next: TenantConfigRecord = {
        ...rest,
        version: record.version + 1,
        updatedAt: this.io.clock().toISOString(),
        updatedBy: actor,
      };
      try {
        await this.write(
          record,
          next,
          {
            version: next.version,
            changed: ['domain'],
            reason: 'offboard',
            hostname: domain.hostname,
            previousCertificateArn: domain.certificateArn,
            certificate: outcome,
          },
          actor,
        );
      } catch (e) {
        // Someone patched meanwhile: read again (the release then answers `gone`).
        if (e instanceof ControlPlaneError && e.code === 'VERSION_CONFLICT' && attempt < BLIND_PATCH_ATTEMPTS)
          continue;
        throw e;
      }
      this.flagsCache.delete(tenantId);
      return { outcome, hostname: domain.hostname, certificateArn: domain.certificateArn };
    }
  }

  private async nextDomain(
    tenant: Tenant,
    record: TenantConfigRecord,
    change: ReturnType<typeof planPatch>['domain'],
  ): Promise<Domain | undefined> {
    if (change.kind === 'none') return record.domain;
    if (change.kind === 'remove') return undefined;
    const certificates = this.options.certificates;
    if (!certificates) {
      throw new ControlPlaneError(
        'CAPABILITY_UNAVAILABLE',
        'custom domains need ACM, which this control plane was built without; nothing was changed',
        { details: { service: 'acm' } },
      );
    }
    if (change.kind === 'refresh') return certificates.refresh(tenant.tenantId, record.domain!);
    return certificates.request(tenant.tenantId, change.hostname);
  }

  private async write(
    current: TenantConfigRecord,
    next: TenantConfigRecord,
    detail: Record<string, unknown>,
    actor: string,
  ): Promise<void> {
    try {
      await transact(this.io, [
        {
          Put: {
            TableName: this.io.tableName,
            Item: { ...tenantConfigKey(next.tenantId), kind: 'tenant-config', ...next },
            // Version 0 is the config no one has written yet: it must still not exist.
            ConditionExpression: current.version === 0 ? 'attribute_not_exists(pk)' : '#v = :v',
            ...(current.version === 0
              ? {}
              : {
                  ExpressionAttributeNames: { '#v': 'version' },
                  ExpressionAttributeValues: { ':v': current.version },
                }),
          },
        },
        eventPut(this.io, { tenantId: next.tenantId, actor, action: 'config.updated', detail }),
      ]);
    } catch (e) {
      if (cancelledItems(e).includes(0)) {
        throw new ControlPlaneError(
          'VERSION_CONFLICT',
          `the config of tenant ${next.tenantId} changed since version ${current.version} was read; read it again and retry`,
          { details: { tenantId: next.tenantId, expectedVersion: current.version }, cause: e },
        );
      }
      throw e;
    }
  }
}

import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from '../core/aws/clients.js';
import { sleep } from '../core/backoff.js';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { LeaseGate, type LeaseOptions } from '../core/registry/leases.js';
import type { RegistryReader } from '../core/registry/queries.js';
import { s3TenantExports, type TenantExports, tenantExportsByTenant } from '../core/tenant-data/exports.js';
import type { PlatformOutputs } from '../templates/index.js';
import type { GateSpec } from './gates.js';

/**
 * The platform of every region tenants live in. The home region's is the one the process started
 * with; another region's is made on first use there (`ensure`: CreateStack, user pool, usage
 * plans, as at start-up at home) or read as deployed (`read`), then kept for the process.
 *
 * Ensuring a region runs under a one-slot lease in the registry (`platform-<region>`), so two
 * onboardings into a new region, in one process or two, deploy it once: the second waits, then
 * finds it up to date. The lease has an owner (the operation, `<operationId>/platform`) and an
 * expiry renewed while the deployment runs: a holder killed mid-way stops holding it when it
 * expires or its operation ends, and whoever comes next (the resumed operation included) ensures
 * the platform again, which is idempotent.
 */

export interface RegionalPlatformsOptions {
  readonly home: { readonly region: string; readonly platform: () => PlatformOutputs };
  /** Every region tenants may live in (ALLOWED_REGIONS); home is always one. */
  readonly allowed?: readonly string[];
  readonly clients: AwsClients;
  /** Brings a region's platform up to date (ensurePlatform) or reads it as deployed (readPlatform). */
  readonly ensure: (clients: AwsClients) => Promise<PlatformOutputs>;
  /** Reads a region's platform as deployed, changing nothing. */
  readonly read: (clients: AwsClients) => Promise<PlatformOutputs>;
  readonly lease: LeaseOptions;
  /** A holder that has not renewed for this long is presumed dead. @default 900 */
  readonly leaseSeconds?: number;
  /** Between two looks at a lease someone else holds. @default 1000 */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const platformGateName = (region: string): string => `platform-${region}`;

/** The platform lease's length: a holder that has not renewed for this long is presumed dead. */
export const PLATFORM_LEASE_SECONDS = 900;

/** The one-slot platform lease of every allowed region but home (GET /v1/gates lists them). */
export function platformGateSpecs(config: Pick<Config, 'region' | 'allowedRegions'>): GateSpec[] {
  return [...new Set(config.allowedRegions)]
    .filter((r) => r !== config.region)
    .map((r) => ({ name: platformGateName(r), capacity: 1, ttlSeconds: PLATFORM_LEASE_SECONDS }));
}

export class RegionalPlatforms {
  /** Platforms this process ensured (deployed or brought up to date), and ones it only read. */
  private readonly ensured = new Map<string, Promise<PlatformOutputs>>();
  private readonly readOnly = new Map<string, Promise<PlatformOutputs>>();
  private readonly leaseSeconds: number;
  private readonly pollMs: number;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(private readonly options: RegionalPlatformsOptions) {
    this.leaseSeconds = options.leaseSeconds ?? PLATFORM_LEASE_SECONDS;
    this.pollMs = options.pollMs ?? 1000;
    this.wait = options.sleep ?? sleep;
  }

  get home(): string {
    return this.options.home.region;
  }

  /** Home first, then every other allowed region: where tenants' stacks may be (orphan search). */
  get all(): string[] {
    return [...new Set([this.home, ...(this.options.allowed ?? [])])];
  }

  /** A region's clients: the home clients at home, the same endpoint elsewhere. */
  clients(region: string | undefined): AwsClients {
    return this.options.clients.forRegion(region || this.home);
  }

  /**
   * The region's platform, deployed first if this process has not seen it yet. `owner` names who
   * holds the lease while it deploys (an operation: `<operationId>/platform`).
   */
  ensure(region: string | undefined, owner: string): Promise<PlatformOutputs> {
    const r = region || this.home;
    if (r === this.home) return Promise.resolve(this.options.home.platform());
    // Ensured once per process even if read before: a new template version reaches the region.
    return this.memo(this.ensured, r, () => this.ensureUnderLease(r, owner));
  }

  /** The region's platform as deployed, changing nothing (the API's reads: users, reconcile). */
  read(region: string | undefined): Promise<PlatformOutputs> {
    const r = region || this.home;
    if (r === this.home) return Promise.resolve(this.options.home.platform());
    return this.ensured.get(r) ?? this.memo(this.readOnly, r, () => this.options.read(this.clients(r)));
  }

  /** The user pool of a region other than home, and its region's client; undefined at home. */
  async userPool(
    region: string | undefined,
  ): Promise<{ cognito: AwsClients['cognito']; userPoolId: string } | undefined> {
    if (!region || region === this.home) return undefined;
    const platform = await this.read(region);
    return { cognito: this.clients(region).cognito, userPoolId: platform.userPoolId };
  }

  private memo(
    memo: Map<string, Promise<PlatformOutputs>>,
    region: string,
    make: () => Promise<PlatformOutputs>,
  ): Promise<PlatformOutputs> {
    let p = memo.get(region);
    if (!p) {
      // A failure is not kept: the next caller tries again.
      p = make().catch((e) => {
        memo.delete(region);
        throw e;
      });
      memo.set(region, p);
    }
    return p;
  }

  private async ensureUnderLease(region: string, owner: string): Promise<PlatformOutputs> {
    const gate = new LeaseGate(this.options.lease, platformGateName(region), 1, this.leaseSeconds);
    const ticket = new Date().toISOString();
    // Long enough for a holder that died without releasing to expire, and then some.
    const deadline = Date.now() + (this.leaseSeconds + 60) * 1000;
    for (;;) {
      const slot = await gate.acquire(owner, ticket);
      if (slot.acquired) break;
      if (Date.now() > deadline)
        throw new ControlPlaneError(
          'WORKFLOW_FAILED',
          `the platform of ${region} is being deployed by someone else (lease ${platformGateName(region)}) for over ${this.leaseSeconds} s`,
          { details: { region } },
        );
      await this.wait(this.pollMs);
    }
    // Renewed while the deployment runs (acquire renews past half the lease), so a slow create
    // is not taken for a dead one.
    const renew = setInterval(
      () => void gate.acquire(owner, ticket).catch(() => undefined),
      (this.leaseSeconds * 1000) / 4,
    );
    renew.unref?.();
    try {
      return await this.options.ensure(this.clients(region));
    } finally {
      clearInterval(renew);
      await gate.release(owner);
    }
  }
}

/**
 * Tenant exports (GET /v1/tenants/:id/export) read from the artifact bucket of each tenant's
 * region, where its offboarding wrote them; `home` is the home region's bucket.
 */
export function regionalTenantExports(
  registry: Pick<RegistryReader, 'getTenant'>,
  regions: RegionalPlatforms | undefined,
  home: { readonly s3: S3Client; readonly bucket: () => string },
): TenantExports {
  const atHome = s3TenantExports(home.s3, home.bucket);
  return tenantExportsByTenant(async (tenantId) => {
    const region = (await registry.getTenant(tenantId))?.region;
    if (!regions || !region || region === regions.home) return atHome;
    const platform = await regions.read(region);
    return s3TenantExports(regions.clients(region).s3, () => platform.artifactBucketName);
  });
}

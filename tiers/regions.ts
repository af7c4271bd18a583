import { ControlPlaneError } from '../core/errors.js';
import type { Tier } from './catalog.js';

/**
 * Where a tenant may live: the deployment's allowed regions (ALLOWED_REGIONS, default the control
 * plane's own), narrowed by its tier's `regions` when the catalog lists some. A tenant is placed in
 * the region it asks for (its stacks, database, user pool, API key), the platform there deployed
 * on first use. Where the deployment can place tenants only where it was built (`placement`: the
 * AWS deployment's platform regions), an allowed region elsewhere is refused with its own code
 * rather than recorded and then failed.
 */

export interface RegionPolicy {
  /** The control plane's region (AWS_REGION): tenants that name no region live here. */
  readonly home: string;
  /** ALLOWED_REGIONS; empty means the home region only. */
  readonly allowed: readonly string[];
  /**
   * Where this deployment can build tenants: any allowed region (the local engine), its home region
   * only, or home and the regions listed (the AWS deployment: those it has a platform in and is
   * granted, PLATFORM_REGIONS).
   * @default 'any'
   */
  readonly placement?: 'any' | 'home' | readonly string[];
}

export function allowedRegions(policy: RegionPolicy, tier: Pick<Tier, 'name' | 'regions'>): string[] {
  const deployment = policy.allowed.length > 0 ? policy.allowed : [policy.home];
  return tier.regions ? deployment.filter((r) => tier.regions!.includes(r)) : [...deployment];
}

/** Throws REGION_NOT_ALLOWED (catalog or deployment) or REGION_NOT_AVAILABLE (cannot be built there). */
export function assertRegion(
  policy: RegionPolicy,
  tier: Pick<Tier, 'name' | 'regions'>,
  region: string,
): void {
  const allowed = allowedRegions(policy, tier);
  if (!allowed.includes(region)) {
    const byTier = tier.regions && !tier.regions.includes(region);
    throw new ControlPlaneError(
      'REGION_NOT_ALLOWED',
      `region ${region} is not allowed ${byTier ? `for tier ${tier.name}` : 'by this deployment (ALLOWED_REGIONS)'}; allowed: ${allowed.join(', ') || 'none'}`,
      { details: { region, tier: tier.name, allowed } },
    );
  }
  const placement = policy.placement ?? 'any';
  if (placement === 'any') return;
  const available = [
    policy.home,
    ...(placement === 'home' ? [] : placement.filter((r) => r !== policy.home)),
  ];
  if (!available.includes(region)) {
    throw new ControlPlaneError(
      'REGION_NOT_AVAILABLE',
      `this deployment (workflows on Step Functions) has a platform in ${available.join(', ')} only (PLATFORM_REGIONS: the CDK app's allowedRegions); ${region} is not available here`,
      { details: { region, available } },
    );
  }
}

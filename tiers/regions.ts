import { ControlPlaneError } from '../core/errors.js';
import type { Tier } from './catalog.js';

/**
 * Where a tenant may live: the deployment's allowed regions (ALLOWED_REGIONS, default the control
 * plane's own), narrowed by its tier's `regions` when the catalog lists some. Placement itself is
 * in the control plane's region only for now: an allowed region elsewhere is refused too, with its
 * own code, rather than a tenant recorded in one region and built in another.
 */

export interface RegionPolicy {
  /** The control plane's region (AWS_REGION): where tenants are placed. */
  readonly home: string;
  /** ALLOWED_REGIONS; empty means the home region only. */
  readonly allowed: readonly string[];
}

export function allowedRegions(policy: RegionPolicy, tier: Pick<Tier, 'name' | 'regions'>): string[] {
  const deployment = policy.allowed.length > 0 ? policy.allowed : [policy.home];
  return tier.regions ? deployment.filter((r) => tier.regions!.includes(r)) : [...deployment];
}

/** Throws REGION_NOT_ALLOWED (catalog or deployment) or REGION_NOT_AVAILABLE (placement elsewhere). */
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
  if (region !== policy.home) {
    throw new ControlPlaneError(
      'REGION_NOT_AVAILABLE',
      `this control plane places tenants in its own region (${policy.home}) only; a tenant in ${region} is not available yet`,
      { details: { region, available: [policy.home] } },
    );
  }
}

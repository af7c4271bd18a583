import { ControlPlaneError } from '../core/errors.js';
import type { Tier } from './catalog.js';

/**
 * Where a tenant may live: the deployment's allowed regions (ALLOWED_REGIONS, default the control
 * plane's own), narrowed by its tier's `regions` when the catalog lists some. A tenant is placed in
 * the region it asks for (its stacks, database, user pool, API key), the platform there deployed
 * on first use. Where the deployment can only place tenants at home (`placement: 'home'`), an
 * allowed region elsewhere is refused with its own code rather than recorded and built elsewhere.
 */

export interface RegionPolicy {
  /** The control plane's region (AWS_REGION): tenants that name no region live here. */
  readonly home: string;
  /** ALLOWED_REGIONS; empty means the home region only. */
  readonly allowed: readonly string[];
  /**
   * Where this deployment can build tenants: any allowed region (the local engine), or its home
   * region only (the AWS deployment, whose task function is granted its own region only).
   * @default 'any'
   */
  readonly placement?: 'any' | 'home';
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
  if (policy.placement === 'home' && region !== policy.home) {
    throw new ControlPlaneError(
      'REGION_NOT_AVAILABLE',
      `this deployment (workflows on Step Functions) builds tenants in its own region (${policy.home}) only; ${region} is not available here`,
      { details: { region, available: [policy.home] } },
    );
  }
}

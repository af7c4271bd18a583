import { addTenantClaims, type PreTokenEvent, tierIsolationFromEnv } from '../tenant-access/index.js';

/**
 * The tenant user pool's pre-token-generation trigger (V2_0): adds tenantId, tier and isolation to
 * ID and access tokens (tenant-access/pre-token.ts). TIER_ISOLATION is the tier catalog's tier →
 * isolation map, set by the control-plane stack; read once per container.
 */
const tierIsolation = tierIsolationFromEnv(process.env.TIER_ISOLATION);

export const handler = async (event: PreTokenEvent): Promise<PreTokenEvent> =>
  addTenantClaims(event, tierIsolation);

import { TENANT_ID_ATTRIBUTE, TIER_ATTRIBUTE } from '../templates/index.js';

/**
 * The tenant claims in a tenant user's tokens. The pre-token-generation trigger (./pre-token.ts)
 * adds them under short names; Cognito also puts the user attributes themselves (`custom:tenantId`,
 * `custom:tier`) in ID tokens, which is what a verifier falls back to where no trigger runs (moto).
 */
export const CLAIMS = { tenantId: 'tenantId', tier: 'tier', isolation: 'isolation' } as const;

export interface TenantClaims {
  readonly tenantId: string;
  readonly tier: string | undefined;
  readonly isolation: string | undefined;
  /** The token's subject (the user). */
  readonly subject: string;
  readonly tokenUse: 'id' | 'access';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** The tenant claims of a verified payload; undefined tenantId when the token names no tenant. */
export function tenantClaimsOf(payload: Record<string, unknown>): {
  readonly tenantId: string | undefined;
  readonly tier: string | undefined;
  readonly isolation: string | undefined;
} {
  return {
    tenantId: str(payload[CLAIMS.tenantId]) ?? str(payload[TENANT_ID_ATTRIBUTE]),
    tier: str(payload[CLAIMS.tier]) ?? str(payload[TIER_ATTRIBUTE]),
    isolation: str(payload[CLAIMS.isolation]),
  };
}

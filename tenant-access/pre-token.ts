import { TENANT_ID_ATTRIBUTE, TIER_ATTRIBUTE } from '../templates/index.js';
import { CLAIMS } from './claims.js';

/**
 * Cognito's pre-token-generation trigger: adds `tenantId`, `tier` and `isolation` to the ID token
 * and (trigger version 2 or 3, which needs the Essentials or Plus feature plan) to the access
 * token, from the user's `custom:tenantId` / `custom:tier` attributes. Isolation comes from the
 * tier catalog, handed to the function as a tier → isolation map (TIER_ISOLATION), so a tier
 * change needs no attribute beyond `custom:tier`. A user without a tenant gets no tenant claims
 * (operators' tokens come from another pool). Event shapes: Cognito developer guide, "Pre token
 * generation Lambda trigger" (V1_0 `claimsOverrideDetails`, V2_0/V3_0 `claimsAndScopeOverrideDetails`).
 */

type StringMap = Record<string, string>;

export interface PreTokenEvent {
  readonly version: string;
  readonly triggerSource: string;
  readonly userPoolId: string;
  readonly userName?: string;
  readonly request: { readonly userAttributes: StringMap; readonly [k: string]: unknown };
  response: Record<string, unknown>;
  readonly [k: string]: unknown;
}

/** The claims the trigger adds for a user's attributes; empty for a user with no tenant. */
export function tenantClaimsFor(attributes: StringMap, tierIsolation: Readonly<StringMap>): StringMap {
  const tenantId = attributes[TENANT_ID_ATTRIBUTE];
  if (!tenantId) return {};
  const tier = attributes[TIER_ATTRIBUTE];
  const claims: StringMap = { [CLAIMS.tenantId]: tenantId };
  if (tier) claims[CLAIMS.tier] = tier;
  const isolation = tier ? tierIsolation[tier] : undefined;
  if (isolation) claims[CLAIMS.isolation] = isolation;
  return claims;
}

/** Fills the event's response for its version and returns the event, as Cognito expects. */
export function addTenantClaims<E extends PreTokenEvent>(event: E, tierIsolation: Readonly<StringMap>): E {
  const claims = tenantClaimsFor(event.request.userAttributes ?? {}, tierIsolation);
  if (Object.keys(claims).length === 0) return event;
  if (event.version === '1') {
    event.response = { claimsOverrideDetails: { claimsToAddOrOverride: claims } };
    return event;
  }
  event.response = {
    claimsAndScopeOverrideDetails: {
      idTokenGeneration: { claimsToAddOrOverride: claims },
      accessTokenGeneration: { claimsToAddOrOverride: claims },
    },
  };
  return event;
}

/** Reads TIER_ISOLATION (JSON `{ tier: isolation }`), refusing anything else loudly at cold start. */
export function tierIsolationFromEnv(raw: string | undefined): StringMap {
  const parsed: unknown = JSON.parse(raw ?? '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('TIER_ISOLATION must be a JSON object of tier name to isolation');
  for (const [tier, isolation] of Object.entries(parsed))
    if (typeof isolation !== 'string') throw new Error(`TIER_ISOLATION.${tier} must be a string`);
  return parsed as StringMap;
}

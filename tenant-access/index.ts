/**
 * The tenant access kit, for the application plane: tenant claims, JWT verification, token vending
 * (STS credentials scoped to one tenant), the tenant context (a plain function and a Fastify
 * plugin) and the pre-token-generation trigger. It depends on core/ and the templates' names only,
 * never on the workflows or the control plane. docs/access.md explains it with a worked example.
 */
export { CLAIMS, type TenantClaims, tenantClaimsOf } from './claims.js';
export {
  type RequestCredentials,
  resolveTenantContext,
  subdomainSlug,
  type TenantContext,
  type TenantContextOptions,
  tenantCacheKey,
  tenantFlags,
} from './context.js';
export { type TenantContextPluginOptions, tenantContextPlugin } from './fastify.js';
export { checkStsLimits, packedPolicyError, STS_LIMITS } from './limits.js';
export { addTenantClaims, type PreTokenEvent, tenantClaimsFor, tierIsolationFromEnv } from './pre-token.js';
export {
  createTenantTokenVerifier,
  type TenantTokenVerifier,
  type TenantTokenVerifierOptions,
  type TokenUse,
} from './tokens.js';
export {
  CredentialVendor,
  type CredentialVendorOptions,
  registryDirectory,
  requireServing,
  SERVING_STATES,
  type TenantDirectory,
  type TenantRecord,
  tenantRecordOf,
  type VendedCredentials,
} from './vending.js';

import { createHash } from 'node:crypto';
import { ControlPlaneError } from '../errors.js';
import { canonicalJson } from '../ids.js';
import {
  type Branding,
  BrandingSchema,
  type ConfigPatch,
  type Flags,
  FlagsSchema,
  MAX_FLAGS,
  type ResolvedConfig,
  type TenantConfigRecord,
} from './schema.js';

/**
 * The pure rules of the tenant configuration: merge patches, resolution against the tier's defaults
 * and the ETag. No I/O: the store (store.ts) reads, applies these and writes.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge member by member, `null` removes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (value !== undefined) out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

/** A config of a tenant that never set one: version 0, no overrides, no branding, no domain. */
export const emptyConfig = (tenantId: string): TenantConfigRecord => ({
  tenantId,
  version: 0,
  flags: {},
  branding: {},
});

/** What a patch asks of the custom domain: nothing, a (new) hostname, or its removal. */
export type DomainChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'set'; readonly hostname: string }
  | { readonly kind: 'remove' }
  /** The recorded hostname again while its certificate is not issued: re-read its status. */
  | { readonly kind: 'refresh' };

export interface PatchPlan {
  /** Flags and branding after the patch (the domain is the store's, it needs ACM). */
  readonly flags: Flags;
  readonly branding: Branding;
  readonly domain: DomainChange;
  /** The top-level parts the patch changes (`flags`, `branding`, `domain`): empty when it changes nothing. */
  readonly changed: readonly ('flags' | 'branding' | 'domain')[];
}

/**
 * What a validated patch does to a record. The results are parsed again with the stored schemas,
 * so a patch cannot leave a document the store would refuse (e.g. more than 100 flags).
 */
export function planPatch(record: TenantConfigRecord, patch: ConfigPatch): PatchPlan {
  const merged = (applyMergePatch(record.flags, patch.flags === undefined ? {} : (patch.flags ?? null)) ??
    {}) as Flags;
  if (Object.keys(merged).length > MAX_FLAGS) {
    throw new ControlPlaneError(
      'VALIDATION_FAILED',
      `the patch would leave ${Object.keys(merged).length} flags; a tenant has at most ${MAX_FLAGS} (set some to null to remove them)`,
      { details: [{ in: 'body', path: 'flags', message: `at most ${MAX_FLAGS} flags` }] },
    );
  }
  const flags = FlagsSchema.parse(merged);
  const branding = BrandingSchema.parse(
    applyMergePatch(record.branding, patch.branding === undefined ? {} : (patch.branding ?? null)) ?? {},
  );
  let domain: DomainChange = { kind: 'none' };
  if (patch.domain === null && record.domain) domain = { kind: 'remove' };
  else if (patch.domain && patch.domain.hostname !== record.domain?.hostname)
    domain = { kind: 'set', hostname: patch.domain.hostname };
  else if (patch.domain && record.domain?.status !== 'ISSUED') domain = { kind: 'refresh' };
  const changed: PatchPlan['changed'][number][] = [];
  if (canonicalJson(flags) !== canonicalJson(record.flags)) changed.push('flags');
  if (canonicalJson(branding) !== canonicalJson(record.branding)) changed.push('branding');
  if (domain.kind === 'set' || domain.kind === 'remove') changed.push('domain');
  return { flags, branding, domain, changed };
}

/** The flags a tenant gets: its current tier's defaults, each overridden by the tenant's own value. */
export function resolveFlags(
  tierDefaults: Flags,
  overrides: Flags,
): { flags: Flags; sources: Record<string, 'tier' | 'tenant'> } {
  const flags: Flags = { ...tierDefaults, ...overrides };
  const sources: Record<string, 'tier' | 'tenant'> = {};
  for (const name of Object.keys(flags)) sources[name] = name in overrides ? 'tenant' : 'tier';
  return { flags, sources };
}

/** The config as applications see it, for the tenant's *current* tier: a tier change re-resolves. */
export function resolveConfig(record: TenantConfigRecord, tier: string, tierDefaults: Flags): ResolvedConfig {
  const { flags, sources } = resolveFlags(tierDefaults, record.flags);
  return {
    tenantId: record.tenantId,
    tier,
    version: record.version,
    flags,
    flagSources: sources,
    overrides: record.flags,
    branding: record.branding,
    domain: record.domain ?? null,
    updatedAt: record.updatedAt ?? null,
    updatedBy: record.updatedBy ?? null,
  };
}

/**
 * A strong ETag of the resolved config: its version and a digest of what it holds, so a tier
 * change (or a catalog with other defaults) gives a new ETag although the document is unchanged.
 */
export function configETag(resolved: ResolvedConfig): string {
  const digest = createHash('sha256')
    .update(canonicalJson(resolved as unknown as Json))
    .digest('base64url')
    .slice(0, 16);
  return `"${resolved.version}-${digest}"`;
}

/** Whether an If-Match / If-None-Match header names this ETag (`*` matches any; weak tags compare by value). */
export function etagMatches(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}

import { z } from 'zod';

/**
 * The per-tenant configuration document, one zod schema per part: feature flags, branding, custom
 * domain. The same schemas validate the tier catalog's flag defaults, what the registry stores,
 * PATCH bodies and the OpenAPI document.
 */

/** A flag name: `beta-reports`, `ui.darkMode`, `max_projects`. */
export const FLAG_NAME_PATTERN = /^[a-z][a-zA-Z0-9._-]{0,63}$/;
export const FLAG_NAME_ACCEPTED =
  'a flag name: 1 to 64 letters, digits, . _ -, starting with a lowercase letter';
export const FlagNameSchema = z.string().regex(FLAG_NAME_PATTERN, FLAG_NAME_ACCEPTED);

/** A flag is on/off, a number (a limit) or a short string (a variant). */
export const FlagValueSchema = z.union([
  z.boolean(),
  z.number().finite(),
  z
    .string()
    .max(256)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'no control characters'),
]);
export type FlagValue = z.infer<typeof FlagValueSchema>;

export const MAX_FLAGS = 100;
export const FlagsSchema = z
  .record(FlagNameSchema, FlagValueSchema)
  .refine((flags) => Object.keys(flags).length <= MAX_FLAGS, `at most ${MAX_FLAGS} flags`);
export type Flags = z.infer<typeof FlagsSchema>;

export const HEX_COLOUR_ACCEPTED = 'a colour as #rrggbb, e.g. #1a2b3c';
export const HexColourSchema = z.string().regex(/^#[0-9a-fA-F]{6}$/, HEX_COLOUR_ACCEPTED);

export const COLOUR_ROLES = ['primary', 'secondary', 'accent', 'background', 'text'] as const;

/** An https URL with a host, no credentials, at most 2,048 characters. */
export const HttpsUrlSchema = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const url = new URL(v);
      return url.protocol === 'https:' && url.hostname !== '' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'an https:// URL with a host and no user or password, at most 2,048 characters');

export const BrandingSchema = z
  .object({
    /** The name the tenant's users see (the tenant's name where unset). */
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'no control characters')
      .optional(),
    logoUrl: HttpsUrlSchema.optional(),
    colours: z
      .object(Object.fromEntries(COLOUR_ROLES.map((r) => [r, HexColourSchema.optional()])))
      .strict()
      .optional(),
  })
  .strict();
export type Branding = z.infer<typeof BrandingSchema>;

/**
 * A DNS hostname a tenant serves its app on: at least two labels, each 1 to 63 letters, digits or
 * inner hyphens, at most 253 characters, lowercase, no trailing dot, no wildcard, not an IP address.
 */
export const HOSTNAME_ACCEPTED =
  'a hostname such as app.acme.example.com: 2 or more labels of letters, digits and inner hyphens (each 1 to 63), at most 253 characters, no wildcard, no IP address';
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export const HostnameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, HOSTNAME_ACCEPTED)
  .refine((h) => {
    const labels = h.split('.');
    if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return false;
    // A top-level label of digits only is an IP address, not a name.
    return !/^[0-9]+$/.test(labels.at(-1)!);
  }, HOSTNAME_ACCEPTED);

export const DOMAIN_STATUSES = ['PENDING_VALIDATION', 'ISSUED', 'FAILED'] as const;
export const DnsRecordSchema = z.object({ name: z.string(), type: z.string(), value: z.string() });
export type DnsRecord = z.infer<typeof DnsRecordSchema>;

/** The custom domain as the control plane recorded it: the hostname, its certificate and what DNS needs. */
export const DomainSchema = z.object({
  hostname: z.string(),
  status: z.enum(DOMAIN_STATUSES),
  certificateArn: z.string(),
  /** CNAME records the tenant's DNS must hold for ACM to validate (and renew) the certificate. */
  validationRecords: z.array(DnsRecordSchema),
  requestedAt: z.string(),
  /** ACM's reason when the certificate failed. */
  reason: z.string().optional(),
});
export type Domain = z.infer<typeof DomainSchema>;

/** What the registry stores (kind `tenant-config`): the tenant's own settings, never the tier defaults. */
export const TenantConfigRecordSchema = z.object({
  tenantId: z.string(),
  version: z.number().int().nonnegative(),
  /** Per-tenant overrides over the tier's defaults. */
  flags: FlagsSchema,
  branding: BrandingSchema,
  domain: DomainSchema.optional(),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
});
export type TenantConfigRecord = z.infer<typeof TenantConfigRecordSchema>;

/**
 * A JSON merge patch (RFC 7386) of the config: `null` removes a member, an object merges. Flags
 * take a value or null (back to the tier's default); `domain: null` removes the custom domain.
 */
export const ConfigPatchSchema = z
  .object({
    flags: z.record(FlagNameSchema, FlagValueSchema.nullable()).nullable().optional(),
    branding: z
      .object({
        name: BrandingSchema.shape.name.unwrap().nullable().optional(),
        logoUrl: HttpsUrlSchema.nullable().optional(),
        colours: z
          .object(Object.fromEntries(COLOUR_ROLES.map((r) => [r, HexColourSchema.nullable().optional()])))
          .strict()
          .nullable()
          .optional(),
      })
      .strict()
      .nullable()
      .optional(),
    domain: z.object({ hostname: HostnameSchema }).strict().nullable().optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'an empty patch changes nothing; name flags, branding or domain')
  .meta({ id: 'TenantConfigPatch' });
export type ConfigPatch = z.infer<typeof ConfigPatchSchema>;

/** The config as applications read it: the tier's defaults resolved with the tenant's overrides. */
export const ResolvedConfigSchema = z
  .object({
    tenantId: z.string(),
    tier: z.string(),
    version: z.number().int().nonnegative(),
    /** Tier defaults of the tenant's current tier, overridden by the tenant's own flags. */
    flags: z.record(z.string(), FlagValueSchema),
    /** Where each flag's value comes from. */
    flagSources: z.record(z.string(), z.enum(['tier', 'tenant'])),
    /** The tenant's own overrides (what PATCH changes). */
    overrides: FlagsSchema,
    branding: BrandingSchema,
    domain: DomainSchema.nullable(),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'TenantConfig' });
export type ResolvedConfig = z.infer<typeof ResolvedConfigSchema>;

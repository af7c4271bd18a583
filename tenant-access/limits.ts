import { ControlPlaneError } from '../core/errors.js';

/**
 * STS limits checked before AssumeRole, so a request that would fail is refused with the limit's
 * name (STS reports some of them only as a generic validation error). From the STS API reference
 * (AssumeRole, Tag) and the IAM user guide's "IAM and AWS STS quotas":
 * - at most 50 session tags; keys 1–128 and values 0–256 characters of `[\p{L}\p{Z}\p{N}_.:/=+\-@]`;
 * - an inline session policy of at most 2,048 characters (plain text);
 * - session tags and session policies are packed together: STS answers PackedPolicyTooLarge when
 *   the packed size passes 100 % (AssumeRole returns `PackedPolicySize` as a percentage);
 * - a role session name of 2–64 characters of `[\w+=,.@-]`;
 * - a duration of 900 s to the role's maximum session duration (1 hour unless raised, at most 12 h).
 */
export const STS_LIMITS = {
  maxSessionTags: 50,
  maxTagKeyLength: 128,
  maxTagValueLength: 256,
  maxSessionPolicyLength: 2048,
  minSessionNameLength: 2,
  maxSessionNameLength: 64,
  minDurationSeconds: 900,
  maxDurationSeconds: 43_200,
} as const;

const TAG_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]*$/;

function exceeded(limit: string, message: string): ControlPlaneError {
  return new ControlPlaneError('STS_LIMIT_EXCEEDED', `${limit}: ${message}`, { details: { limit } });
}

export interface AssumeRoleShape {
  readonly RoleSessionName: string;
  readonly DurationSeconds: number;
  readonly Tags: readonly { readonly Key: string; readonly Value: string }[];
  readonly Policy?: string | undefined;
}

/** Throws STS_LIMIT_EXCEEDED naming the first limit the request breaks. */
export function checkStsLimits(request: AssumeRoleShape): void {
  const { Tags, Policy, RoleSessionName, DurationSeconds } = request;
  if (Tags.length > STS_LIMITS.maxSessionTags)
    throw exceeded('session tags', `${Tags.length} tags; STS takes at most ${STS_LIMITS.maxSessionTags}`);
  const keys = new Set<string>();
  for (const { Key, Value } of Tags) {
    if (Key.length < 1 || Key.length > STS_LIMITS.maxTagKeyLength || !TAG_PATTERN.test(Key))
      throw exceeded(
        'session tag key',
        `${JSON.stringify(Key.slice(0, 40))} must be 1–${STS_LIMITS.maxTagKeyLength} characters of letters, digits, spaces and _.:/=+-@`,
      );
    if (Value.length > STS_LIMITS.maxTagValueLength || !TAG_PATTERN.test(Value))
      throw exceeded(
        'session tag value',
        `the value of ${Key} must be at most ${STS_LIMITS.maxTagValueLength} characters of letters, digits, spaces and _.:/=+-@`,
      );
    // Tag keys are case-insensitive in STS: TenantId and tenantid are one key.
    const folded = Key.toLowerCase();
    if (keys.has(folded))
      throw exceeded('session tag key', `${Key} is given twice (keys are case-insensitive)`);
    keys.add(folded);
  }
  if (Policy !== undefined && Policy.length > STS_LIMITS.maxSessionPolicyLength)
    throw exceeded(
      'session policy',
      `${Policy.length} characters; an inline session policy takes at most ${STS_LIMITS.maxSessionPolicyLength}`,
    );
  if (
    RoleSessionName.length < STS_LIMITS.minSessionNameLength ||
    RoleSessionName.length > STS_LIMITS.maxSessionNameLength ||
    !SESSION_NAME_PATTERN.test(RoleSessionName)
  )
    throw exceeded(
      'role session name',
      `${JSON.stringify(RoleSessionName)} must be 2–64 characters of \\w+=,.@-`,
    );
  if (DurationSeconds < STS_LIMITS.minDurationSeconds || DurationSeconds > STS_LIMITS.maxDurationSeconds)
    throw exceeded(
      'session duration',
      `${DurationSeconds} s; STS takes ${STS_LIMITS.minDurationSeconds} to the role's maximum (at most ${STS_LIMITS.maxDurationSeconds})`,
    );
}

/** STS's own answer for a packed size over 100 %, named like the checks above. */
export function packedPolicyError(e: unknown): ControlPlaneError | undefined {
  const name = (e as { name?: string })?.name ?? '';
  if (!/PackedPolicyTooLarge/.test(name)) return undefined;
  return exceeded(
    'packed policy size',
    'the session tags and session policy together pass STS packed size (100 %); send fewer or shorter tags or a shorter policy',
  );
}

import { createHash, randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const ulid = monotonicFactory();

/** `t_` + ULID: URL-safe, unique, and sorts by creation time (the registry's list order). */
export const newTenantId = (): string => `t_${ulid()}`;
export const newOperationId = (): string => `op_${ulid()}`;
export const newEventId = (): string => ulid();
export const newRolloutId = (): string => `ro_${ulid()}`;

/** A stable digest of a JSON value (keys sorted), for idempotency request fingerprints. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A random secret, base64url, e.g. for generated API keys. */
export const randomSecret = (bytes = 32): string => randomBytes(bytes).toString('base64url');
export const newRunnerId = (): string => `run_${ulid()}`;
/** A reconcile run (docs/reconcile.md). */
export const newReconcileRunId = (): string => `rc_${ulid()}`;

import { eventKey, listKeys, operationHistoryKeys, operationKey, tenantKey } from './keys.js';
import {
  type AuditEvent,
  AuditEventSchema,
  type Operation,
  OperationSchema,
  type Step,
  type Tenant,
  TenantSchema,
} from './records.js';

/**
 * The stored form of each record: its attributes plus table and index keys on the way in, the
 * parsed record (keys and bookkeeping stripped) on the way out.
 */

/** The attribute holding the position a step first took (steps.ts stepUpdate): bookkeeping. */
const STEP_ORDER_PREFIX = 'seq_';
export const stepOrderAttribute = (stepName: string) => `${STEP_ORDER_PREFIX}${stepName}`;

/** Attributes that are keys or bookkeeping, never part of a record. */
function isBookkeeping(attribute: string): boolean {
  return (
    attribute === 'pk' ||
    attribute === 'sk' ||
    attribute === 'kind' ||
    attribute === 'rev' ||
    attribute.startsWith(STEP_ORDER_PREFIX) ||
    attribute.startsWith('gsi') ||
    attribute.startsWith('open')
  );
}

export function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!isBookkeeping(k)) out[k] = v;
  return out;
}

/** The stored form of a tenant record: its attributes plus the table and list-index keys. */
export function toTenantItem(t: Tenant): Record<string, unknown> {
  return { ...tenantKey(t.tenantId), kind: 'tenant', ...t, ...listKeys(t) };
}

export function fromTenantItem(item: Record<string, unknown>): Tenant {
  return TenantSchema.parse(stripKeys(item));
}

export function toEventItem(tenantId: string, event: AuditEvent): Record<string, unknown> {
  return { ...eventKey(tenantId, event.eventId), kind: 'event', ...event };
}

export function fromEventItem(item: Record<string, unknown>): AuditEvent {
  return AuditEventSchema.parse(stripKeys(item));
}

/**
 * Operations keep their steps as a map by step name (`stepMap`), so a step is recorded with one
 * UpdateItem and no read; readers get the ordered `steps` list.
 */
export function toOperationItem(op: Operation): Record<string, unknown> {
  const { steps, ...rest } = op;
  const stepMap: Record<string, unknown> = {};
  steps.forEach((s, i) => {
    stepMap[s.name] = { ...s, seq: i };
  });
  return {
    ...operationKey(op.operationId),
    kind: 'operation',
    ...rest,
    stepMap,
    ...operationHistoryKeys(op),
  };
}

export function fromOperationItem(item: Record<string, unknown>): Operation {
  const stepMap = (item.stepMap ?? {}) as Record<string, Step & { seq?: number }>;
  // A step's first position (kept across rewrites after a resume), else the one it was written with.
  const order = (s: Step & { seq?: number }) => Number(item[stepOrderAttribute(s.name)] ?? s.seq ?? 0);
  const steps = Object.values(stepMap)
    .sort((a, b) => order(a) - order(b) || a.startedAt.localeCompare(b.startedAt))
    .map(({ seq: _seq, ...step }) => step);
  const { stepMap: _m, ...rest } = stripKeys(item);
  return OperationSchema.parse({ ...rest, steps });
}

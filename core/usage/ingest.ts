import { z } from 'zod';
import { ControlPlaneError, type ErrorCode, issuesToFields } from '../errors.js';
import type { Tenant } from '../registry/records.js';
import type { Meter } from './meters.js';
import type { MeteredEvent, UsageStore } from './store.js';

/**
 * A batch of usage events (POST /v1/usage): each event validated on its own, then stored. An event
 * is `accepted` (counted now), `duplicate` (its idempotency key was counted before, for the same
 * event) or `refused` with a catalogued code saying what is accepted. A batch whose every event is
 * refused writes nothing and fails as a whole (USAGE_BATCH_REJECTED).
 */

export const USAGE_LIMITS = {
  /** Events per batch. */
  maxEvents: 100,
  /** How late an event may arrive: a week (its hour may already have been reported for billing). */
  maxAgeSeconds: 7 * 24 * 3600,
  /** How far ahead of the control plane's clock a timestamp may be (clock skew). */
  maxFutureSeconds: 300,
  /** The largest quantity one event may carry. */
  maxQuantity: 1e12,
} as const;
export type UsageLimits = { readonly [K in keyof typeof USAGE_LIMITS]: number };

/** Printable ASCII without spaces, as every idempotency key the API takes. */
const EventKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces, 1 to 255 characters');

/** One usage event as a client sends it. `quantity` is checked apart (USAGE_QUANTITY_INVALID). */
export const UsageEventSchema = z
  .object({
    tenantId: z.string().min(1).max(64).describe('A tenant id (t_…) or slug.'),
    meter: z.string().min(1).max(64).describe('A meter of the tier catalog that the tenant’s tier includes.'),
    quantity: z.unknown().describe('A finite number ≥ 0 (at most 1e12).'),
    timestamp: z.iso
      .datetime({ offset: true, error: 'an ISO 8601 time such as 2026-12-04T09:15:00Z' })
      .describe('When the usage happened (ISO 8601).'),
    idempotencyKey: EventKeySchema.describe('Counted once per tenant: a redelivery is a duplicate.'),
  })
  .strict()
  .meta({ id: 'UsageEvent' });

export const UsageBatchSchema = z
  .object({
    events: z
      .array(z.unknown().meta({ description: 'A UsageEvent; each is validated on its own.' }))
      .min(1, 'at least one event'),
  })
  .strict()
  .meta({ id: 'UsageBatch' });

export const EVENT_STATUSES = ['accepted', 'duplicate', 'refused'] as const;
export interface EventResult {
  readonly index: number;
  readonly idempotencyKey?: string;
  readonly status: (typeof EVENT_STATUSES)[number];
  readonly code?: ErrorCode;
  readonly message?: string;
}
export interface BatchResult {
  readonly accepted: number;
  readonly duplicates: number;
  readonly refused: number;
  readonly events: EventResult[];
}

/** What ingestion needs of the tier catalog (tiers/catalog.ts TierCatalog has it). */
export interface MeterCatalog {
  meter(name: string): Meter | undefined;
  readonly meters: readonly Meter[];
  included(tier: string, meter: string): number | undefined;
  tierMeters(tier: string): string[];
}

export interface IngestDeps {
  readonly store: Pick<UsageStore, 'record'>;
  readonly catalog: MeterCatalog;
  /** A tenant by id or slug, undefined when there is none. */
  readonly findTenant: (ref: string) => Promise<Tenant | undefined>;
  readonly clock: () => Date;
  readonly limits?: Partial<UsageLimits>;
  /** Events stored at once. @default 4 */
  readonly concurrency?: number;
}

class Refusal {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

type Checked = { index: number; key?: string; event?: MeteredEvent; refusal?: Refusal };

async function check(
  raw: unknown,
  index: number,
  deps: IngestDeps,
  limits: UsageLimits,
  tenants: Map<string, Promise<Tenant | undefined>>,
): Promise<Checked> {
  const parsed = UsageEventSchema.safeParse(raw);
  const key =
    typeof raw === 'object' &&
    raw !== null &&
    EventKeySchema.safeParse((raw as { idempotencyKey?: unknown }).idempotencyKey).success
      ? String((raw as { idempotencyKey: string }).idempotencyKey)
      : undefined;
  const refuse = (code: ErrorCode, message: string): Checked => ({
    index,
    ...(key ? { key } : {}),
    refusal: new Refusal(code, message),
  });
  if (!parsed.success) {
    const fields = issuesToFields(parsed.error.issues);
    return refuse('VALIDATION_FAILED', fields.map((f) => `${f.path}: ${f.message}`).join('; '));
  }
  const e = parsed.data;
  const q = e.quantity;
  if (typeof q !== 'number' || !Number.isFinite(q) || q < 0 || q > limits.maxQuantity)
    return refuse(
      'USAGE_QUANTITY_INVALID',
      `quantity ${JSON.stringify(q) ?? String(q)} is not accepted: a finite number from 0 to ${limits.maxQuantity}`,
    );
  const at = new Date(e.timestamp);
  const now = deps.clock().getTime();
  const earliest = new Date(now - limits.maxAgeSeconds * 1000);
  const latest = new Date(now + limits.maxFutureSeconds * 1000);
  if (at < earliest || at > latest)
    return refuse(
      'USAGE_TIMESTAMP_OUT_OF_RANGE',
      `timestamp ${e.timestamp} is outside the accepted window ${earliest.toISOString()} to ${latest.toISOString()} (at most ${limits.maxAgeSeconds} s old, ${limits.maxFutureSeconds} s ahead)`,
    );
  const meter = deps.catalog.meter(e.meter);
  if (!meter)
    return refuse(
      'UNKNOWN_METER',
      `unknown meter "${e.meter}"; the catalog has ${deps.catalog.meters.map((m) => m.name).join(', ') || 'no meters'}`,
    );
  if (!tenants.has(e.tenantId)) tenants.set(e.tenantId, deps.findTenant(e.tenantId));
  const tenant = await tenants.get(e.tenantId);
  if (!tenant) return refuse('TENANT_NOT_FOUND', `no tenant with id or slug "${e.tenantId}"`);
  if (tenant.state === 'OFFBOARDED')
    return refuse('TENANT_NOT_METERED', `tenant ${tenant.tenantId} is offboarded; it is metered no more`);
  if (deps.catalog.included(tenant.tier, meter.name) === undefined)
    return refuse(
      'METER_NOT_IN_TIER',
      `tier ${tenant.tier} of tenant ${tenant.tenantId} is not metered on ${meter.name}; it is on ${deps.catalog.tierMeters(tenant.tier).join(', ') || 'no meters'}`,
    );
  return {
    index,
    key: e.idempotencyKey,
    event: {
      tenantId: tenant.tenantId,
      meter: meter.name,
      aggregation: meter.aggregation,
      quantity: q,
      timestamp: at,
      idempotencyKey: e.idempotencyKey,
      // Past this, a redelivery of the event is refused as too old anyway: the record is not needed.
      expiresAt: Math.ceil(at.getTime() / 1000) + limits.maxAgeSeconds + limits.maxFutureSeconds + 3600,
    },
  };
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

export async function ingestBatch(events: readonly unknown[], deps: IngestDeps): Promise<BatchResult> {
  const limits: UsageLimits = { ...USAGE_LIMITS, ...deps.limits };
  if (events.length > limits.maxEvents)
    throw new ControlPlaneError(
      'USAGE_BATCH_TOO_LARGE',
      `a batch holds at most ${limits.maxEvents} events; got ${events.length}: split it`,
      { details: { events: events.length, accepted: limits.maxEvents } },
    );
  const tenants = new Map<string, Promise<Tenant | undefined>>();
  const checked = await Promise.all(events.map((raw, i) => check(raw, i, deps, limits, tenants)));
  const results: EventResult[] = checked.map((c) => ({
    index: c.index,
    ...(c.key ? { idempotencyKey: c.key } : {}),
    status: 'refused',
    ...(c.refusal ? { code: c.refusal.code, message: c.refusal.message } : {}),
  }));
  const valid = checked.filter((c) => c.event);
  if (valid.length === 0)
    throw new ControlPlaneError(
      'USAGE_BATCH_REJECTED',
      `every event was refused, nothing was recorded: ${results
        .slice(0, 3)
        .map((r) => `event ${r.index}: ${r.code} ${r.message}`)
        .join('; ')}${results.length > 3 ? '; …' : ''}`,
      { details: { events: results } },
    );
  // One hour bucket's events in order, the buckets side by side: fewer transactions conflict.
  const byBucket = new Map<string, Checked[]>();
  for (const c of valid) {
    const e = c.event!;
    const bucket = `${e.tenantId}|${e.meter}|${e.timestamp.toISOString().slice(0, 13)}`;
    byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), c]);
  }
  await pool([...byBucket.values()], deps.concurrency ?? 4, async (group) => {
    for (const c of group) {
      const outcome = await deps.store.record(c.event!);
      results[c.index] =
        outcome === 'conflict'
          ? {
              index: c.index,
              idempotencyKey: c.event!.idempotencyKey,
              status: 'refused',
              code: 'IDEMPOTENCY_KEY_REUSED',
              message: `idempotency key ${c.event!.idempotencyKey} was counted before for a different event (meter, quantity or timestamp); use a new key for a new event`,
            }
          : { index: c.index, idempotencyKey: c.event!.idempotencyKey, status: outcome };
    }
  });
  const count = (s: EventResult['status']) => results.filter((r) => r.status === s).length;
  return {
    accepted: count('accepted'),
    duplicates: count('duplicate'),
    refused: count('refused'),
    events: results,
  };
}

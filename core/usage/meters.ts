import { z } from 'zod';

/**
 * A meter: what the application plane counts per tenant (API requests, stored GB, seats). The tier
 * catalog declares them (tiers/catalog.ts `meters`) and says how much of each a tier includes; the
 * usage store aggregates events per tenant, meter and hour by the meter's aggregation.
 */

/** How a meter's events combine within an hour and across hours. */
export const AGGREGATIONS = ['sum', 'max', 'last'] as const;
export const AggregationSchema = z.enum(AGGREGATIONS).meta({
  description:
    '`sum`: quantities add up (requests); `max`: the largest quantity seen (peak storage); `last`: the quantity with the latest timestamp (seats in use now).',
});
export type Aggregation = z.infer<typeof AggregationSchema>;

export const METER_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}[a-z0-9]$/;
export const METER_NAME_ACCEPTED =
  'lowercase letters, digits and -, 2 to 64 characters, starting with a letter';
export const MeterNameSchema = z.string().regex(METER_NAME_PATTERN, METER_NAME_ACCEPTED);

export const MeterSchema = z
  .object({
    name: MeterNameSchema,
    /** What one unit of quantity is, for people and invoices: `requests`, `GB`, `seats`. */
    unit: z.string().trim().min(1).max(32),
    aggregation: AggregationSchema,
    description: z.string().max(200).optional(),
  })
  .strict();
export type Meter = z.infer<typeof MeterSchema>;

/** What a tier includes of one meter, per calendar month (UTC). */
export const TierMeterSchema = z.object({ included: z.number().nonnegative().finite() }).strict();

/** One hour of one meter of one tenant, as stored. `last`/`lastAt` only for `last` meters, `max` for `max` meters. */
export interface HourlyAggregate {
  readonly meter: string;
  /** The hour's start, `YYYY-MM-DDTHH:00:00.000Z`. */
  readonly hour: string;
  /** Sum of the accepted events' quantities. */
  readonly sum: number;
  /** How many events were accepted. */
  readonly count: number;
  readonly max?: number;
  readonly last?: number;
  readonly lastAt?: string;
}

/** The value of an hour by its meter's aggregation. */
export function hourValue(aggregation: Aggregation, h: HourlyAggregate): number {
  if (aggregation === 'max') return h.max ?? 0;
  if (aggregation === 'last') return h.last ?? 0;
  return h.sum;
}

/** The value of several hours together: sum of sums, max of maxes, the latest `last`. */
export function rangeValue(aggregation: Aggregation, hours: readonly HourlyAggregate[]): number {
  if (aggregation === 'sum') return hours.reduce((n, h) => n + h.sum, 0);
  if (aggregation === 'max') return hours.reduce((n, h) => Math.max(n, h.max ?? 0), 0);
  let latest: HourlyAggregate | undefined;
  for (const h of hours) if (h.lastAt && (!latest || h.lastAt > (latest.lastAt ?? ''))) latest = h;
  return latest?.last ?? 0;
}

/** The hour an instant falls in, as its ISO start. */
export function hourOf(at: Date): string {
  const d = new Date(at.getTime());
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString();
}

import type { UsageHour, UsageSource } from '../billing/usage.js';
import { hourValue, type Meter } from './meters.js';
import type { UsageReader } from './store.js';

/**
 * The metering store as the billing reporter's source: each meter's hours of a tenant, valued by
 * the meter's aggregation (sum, max or last) and rounded to whole units, which is what a Stripe
 * meter event carries. Hours with nothing to bill (value 0) are left out.
 */
export function usageSourceOf(store: UsageReader, meters: () => readonly Meter[]): UsageSource {
  return {
    async hourlyUsage({ tenantId, from, to }) {
      const hours: UsageHour[] = [];
      for (const meter of meters()) {
        for (const h of await store.hourly(tenantId, meter.name, from, to)) {
          const quantity = Math.round(hourValue(meter.aggregation, h));
          if (quantity > 0) hours.push({ tenantId, meter: meter.name, hour: h.hour, quantity });
        }
      }
      return hours;
    },
  };
}

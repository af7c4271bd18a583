import { testEndpoint } from './aws.js';

/**
 * Presets moto's Cost Explorer answers (moto 5.2.1, moto/ce/models.py `get_cost_and_usage`): each
 * posted result joins a queue; a GetCostAndUsage request whose body moto has not seen takes the
 * next result from the queue and keeps it for that exact body (the same request again answers
 * the same); with the queue empty, an unseen request answers no results. So preset exactly one
 * result per distinct request, just before making it, and use request ranges no other test uses.
 * docs/metering.md (testing) describes it.
 */
export interface PresetResult {
  readonly ResultsByTime: readonly unknown[];
  readonly NextPageToken?: string;
  readonly GroupDefinitions?: readonly unknown[];
}

export async function presetCostAndUsage(results: readonly PresetResult[]): Promise<void> {
  const res = await fetch(`${testEndpoint()}/moto-api/static/ce/cost-and-usage-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ results }),
  });
  if (res.status !== 201)
    throw new Error(`moto refused the Cost Explorer preset: ${res.status} ${await res.text()}`);
}

/** One period of a GetCostAndUsage answer grouped by the TenantId tag: `{ '<tag value>': amount }`. */
export function costPeriod(start: string, end: string, byTag: Record<string, string>) {
  return {
    TimePeriod: { Start: start, End: end },
    Total: {},
    Groups: Object.entries(byTag).map(([value, amount]) => ({
      Keys: [`TenantId$${value}`],
      Metrics: { UnblendedCost: { Amount: amount, Unit: 'USD' } },
    })),
    Estimated: false,
  };
}

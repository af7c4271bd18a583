import {
  type CostExplorerClient,
  GetCostAndUsageCommand,
  type GetCostAndUsageCommandInput,
  type GetCostAndUsageCommandOutput,
} from '@aws-sdk/client-cost-explorer';
import { errorName } from '../aws/errors.js';
import { ControlPlaneError } from '../errors.js';

/**
 * The AWS edge of cost per tenant: Cost Explorer GetCostAndUsage, grouped by the `TenantId`
 * cost-allocation tag. The rest of core/costs/ sees only `CostSource`, so a test or another
 * provider can stand in for it.
 */

export const COST_GRANULARITIES = ['DAILY', 'MONTHLY'] as const;
export type CostGranularity = (typeof COST_GRANULARITIES)[number];

/** The cost-allocation tag every tenant resource carries (templates tag stacks with it). */
export const TENANT_COST_TAG = 'TenantId';
/** The metric read: what AWS billed, before credits and amortisation. */
export const COST_METRIC = 'UnblendedCost';

export interface CostQuery {
  /** YYYY-MM-DD, inclusive. */
  readonly from: string;
  /** YYYY-MM-DD, exclusive (Cost Explorer's End). */
  readonly to: string;
  readonly granularity: CostGranularity;
}

export interface TaggedCostPeriod {
  readonly start: string;
  readonly end: string;
  readonly estimated: boolean;
  /** Amount by `TenantId` tag value; `''` is cost without the tag. */
  readonly byTag: ReadonlyMap<string, number>;
  readonly unit: string;
}

export interface CostSource {
  costByTenantTag(query: CostQuery): Promise<TaggedCostPeriod[]>;
}

/** Cost Explorer's refusals that mean "no data to give", not a fault of ours. */
const UNAVAILABLE = new Set([
  'DataUnavailableException',
  'BillExpirationException',
  'RequestChangedException',
  'AccessDeniedException',
]);

/** The request sent: exported so tests (and docs) can preset moto's answer for exactly it. */
export function costAndUsageRequest(query: CostQuery, nextPageToken?: string): GetCostAndUsageCommandInput {
  return {
    TimePeriod: { Start: query.from, End: query.to },
    Granularity: query.granularity,
    Metrics: [COST_METRIC],
    GroupBy: [{ Type: 'TAG', Key: TENANT_COST_TAG }],
    ...(nextPageToken ? { NextPageToken: nextPageToken } : {}),
  };
}

export function costExplorerSource(client: CostExplorerClient): CostSource {
  return {
    async costByTenantTag(query) {
      const periods = new Map<
        string,
        { start: string; end: string; estimated: boolean; unit: string; byTag: Map<string, number> }
      >();
      let token: string | undefined;
      do {
        let out: GetCostAndUsageCommandOutput;
        try {
          out = await client.send(new GetCostAndUsageCommand(costAndUsageRequest(query, token)));
        } catch (e) {
          if (UNAVAILABLE.has(errorName(e)))
            throw new ControlPlaneError(
              'COST_DATA_UNAVAILABLE',
              `Cost Explorer has no data for this request: ${(e as Error).message}`,
              { cause: e },
            );
          throw e;
        }
        // A page may continue a period of the previous page: groups of one period merge.
        for (const r of out.ResultsByTime ?? []) {
          const start = r.TimePeriod?.Start ?? '';
          const period = periods.get(start) ?? {
            start,
            end: r.TimePeriod?.End ?? '',
            estimated: Boolean(r.Estimated),
            unit: 'USD',
            byTag: new Map<string, number>(),
          };
          for (const g of r.Groups ?? []) {
            const key = g.Keys?.[0] ?? '';
            // Tag groups are keyed `TenantId$<value>`; `TenantId$` is cost without the tag.
            const value = key.startsWith(`${TENANT_COST_TAG}$`) ? key.slice(TENANT_COST_TAG.length + 1) : key;
            const metric = g.Metrics?.[COST_METRIC];
            if (!metric?.Amount) continue;
            period.unit = metric.Unit ?? period.unit;
            period.byTag.set(value, (period.byTag.get(value) ?? 0) + Number(metric.Amount));
          }
          periods.set(start, period);
        }
        token = out.NextPageToken;
      } while (token);
      return [...periods.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
    },
  };
}

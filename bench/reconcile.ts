import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ControlPlane } from '../control-plane/server.js';
import type { TenantState } from '../core/lifecycle.js';
import { toTenantItem } from '../core/registry/registry.js';
import { seedTenants } from '../test/support/seed.js';
import type { BenchResult } from './report.js';
import { type RequestCounter, round3 } from './support.js';

/**
 * BENCH_ONLY=reconcile: one full reconcile run over N tenants seeded straight into the registry
 * (RECONCILE_BENCH_TENANTS, default 1,000): AWS requests per tenant and wall time per 1,000.
 * Seeded tenants are ACTIVE pool tenants whose stack, group and key do not exist, so each one is
 * read in full and found degraded (three findings, three events): the cost of a tenant that needs
 * attention, a little above a healthy one's (which publishes nothing).
 */
export const RECONCILE_BENCH_TENANTS = Number(process.env.RECONCILE_BENCH_TENANTS ?? 1000);
/** Requests per tenant a run may take: DescribeStacks, ListUsersInGroup, GetApiKey, findings get+put, events. */
export const RECONCILE_REQUESTS_TARGET = 12;

export async function benchReconcile(
  cp: ControlPlane,
  counter: RequestCounter,
  log: (line: string) => void,
): Promise<BenchResult> {
  const n = RECONCILE_BENCH_TENANTS;
  log(
    `\n[6] reconcile: one full run over ${n} tenants seeded directly (requests per tenant, wall time per 1,000)`,
  );
  const { registry, clients } = cp.aws;
  const seeded = await seedTenants(clients.documents, registry.tableName, n, () => ({
    tier: 'basic',
    state: 'ACTIVE' as TenantState,
  }));
  // Give each seeded record what onboarding records: a stack, a group, an admin user, a key id.
  const region = clients.target.region;
  for (let i = 0; i < seeded.length; i += 25) {
    await Promise.all(
      seeded.slice(i, i + 25).map((t) =>
        clients.documents.send(
          new PutCommand({
            TableName: registry.tableName,
            Item: toTenantItem({
              ...t,
              stacks: [
                {
                  role: 'current',
                  stackName: `${cp.config.resourcePrefix}-${t.slug}-pool`,
                  arn: `arn:aws:cloudformation:${region}:123456789012:stack/${cp.config.resourcePrefix}-${t.slug}-pool/x`,
                  templateVersion: '0123456789ab',
                  status: 'CREATE_COMPLETE',
                  region,
                },
              ],
              access: {
                groupName: `tenant-${t.tenantId}`,
                adminUsername: `${t.slug}-admin`,
                apiKeyId: `seeded${i}`,
              },
            }),
          }),
        ),
      ),
    );
  }
  const tenantsBefore = (await registry.listTenants({ limit: 1 })).items.length;
  const t0 = performance.now();
  const { value: run, requests } = await counter.during(() => cp.workflows.reconciler.runAll());
  const seconds = (performance.now() - t0) / 1000;
  const total = run.total ?? n;
  const sample = await cp.workflows.findings.health(seeded[0]!.tenantId);
  log(`  one tenant: ${sample.status}: ${sample.findings.map((f) => f.message).join('; ')}`);
  const perTenant = requests / Math.max(1, total);
  const perThousand = (seconds / Math.max(1, total)) * 1000;
  log(
    `  ${total} tenants (${tenantsBefore ? 'seeded' : 'none'}): ${requests} AWS requests, ${round3(perTenant)} per tenant; ${round3(seconds)} s, ${round3(perThousand)} s per 1,000 tenants (${run.counts.degraded} degraded, ${run.counts.healthy} healthy)`,
  );
  log(
    '  bounded by moto serving one request at a time: the run is requests × moto’s per-request time, concurrency beyond a few tenants adds little locally',
  );
  return {
    ratio: round3(perTenant),
    target: RECONCILE_REQUESTS_TARGET,
    met: perTenant <= RECONCILE_REQUESTS_TARGET,
    tenants: total,
    requests,
    requestsPerTenant: round3(perTenant),
    seconds: round3(seconds),
    secondsPer1000: round3(perThousand),
  };
}

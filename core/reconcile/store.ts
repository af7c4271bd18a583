import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { stripKeys } from '../registry/codec.js';
import { findingsKey, ORPHANS_KEY, reconcileRunKey } from '../registry/keys.js';
import { type Finding, FindingSchema, healthStatus, type TenantHealth } from './findings.js';

/**
 * Where reconcile results live, in the registry table (item kinds `findings`, `orphans`,
 * `reconcile-run`, core/registry/keys.ts): one item per tenant with its latest findings, one with
 * the last full run's orphans, one per run with its progress. Each is replaced whole by the run that
 * writes it: no read-modify-write, so two runs at once end with the later one's answer.
 */

export const OrphanSchema = FindingSchema.extend({ tenantId: z.string(), stackId: z.string() }).meta({
  id: 'Orphan',
});
export type Orphan = z.infer<typeof OrphanSchema>;

export const ReconcileRunSchema = z
  .object({
    runId: z.string(),
    /** RUNNING until it ends; a RUNNING run past `expiresAt` was abandoned (its process died). */
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'ABANDONED']),
    scope: z.enum(['all', 'tenant']),
    fix: z.boolean(),
    actor: z.string(),
    owner: z.string(),
    startedAt: z.string(),
    updatedAt: z.string(),
    endedAt: z.string().optional(),
    expiresAt: z.string(),
    /** Tenants compared so far and in all (`total` known once the tenant list is read). */
    done: z.number().int(),
    total: z.number().int().optional(),
    counts: z.object({
      healthy: z.number().int(),
      drifted: z.number().int(),
      degraded: z.number().int(),
      skipped: z.number().int(),
    }),
    /** Tenants whose findings are new this run. */
    newFindings: z.number().int(),
    orphans: z.number().int().optional(),
    /** Why the orphan search did not run to its end (then `orphans` is absent). */
    orphanSearch: z.string().optional(),
    /** Repair operations started (`fix`). */
    repairs: z.array(z.object({ tenantId: z.string(), operationId: z.string() })),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .meta({ id: 'ReconcileRun' });
export type ReconcileRun = z.infer<typeof ReconcileRunSchema>;

export interface FindingsStoreOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
}

export class FindingsStore {
  private readonly clock: () => Date;

  constructor(private readonly options: FindingsStoreOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  private get db() {
    return this.options.documents;
  }

  private get table() {
    return this.options.tableName;
  }

  /** The tenant's health as last reconciled: `unknown` with no findings when it never was. */
  async health(tenantId: string): Promise<TenantHealth> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: findingsKey(tenantId) }));
    return toHealth(tenantId, out.Item);
  }

  /** Many tenants' health, one BatchGetItem per 100 (unprocessed keys asked again). */
  async healthOf(tenantIds: readonly string[]): Promise<Map<string, TenantHealth>> {
    const out = new Map<string, TenantHealth>();
    for (let i = 0; i < tenantIds.length; i += 100) {
      let keys: Record<string, unknown>[] = tenantIds.slice(i, i + 100).map((id) => ({ ...findingsKey(id) }));
      for (let attempt = 0; keys.length > 0 && attempt < 8; attempt++) {
        const page = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys } } }),
        );
        for (const item of page.Responses?.[this.table] ?? []) {
          const id = String(item.tenantId);
          out.set(id, toHealth(id, item));
        }
        keys = (page.UnprocessedKeys?.[this.table]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    for (const id of tenantIds) if (!out.has(id)) out.set(id, toHealth(id, undefined));
    return out;
  }

  async putFindings(tenantId: string, runId: string, findings: readonly Finding[]): Promise<TenantHealth> {
    const checkedAt = this.clock().toISOString();
    const health: TenantHealth = {
      tenantId,
      status: healthStatus(findings),
      checkedAt,
      runId,
      findings: [...findings],
    };
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...findingsKey(tenantId), kind: 'findings', ...health },
      }),
    );
    return health;
  }

  async orphans(): Promise<{ checkedAt?: string; runId?: string; orphans: Orphan[] }> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: ORPHANS_KEY }));
    if (!out.Item) return { orphans: [] };
    const item = stripKeys(out.Item) as { checkedAt?: string; runId?: string; orphans?: unknown };
    return {
      ...(item.checkedAt ? { checkedAt: item.checkedAt } : {}),
      ...(item.runId ? { runId: item.runId } : {}),
      orphans: z.array(OrphanSchema).parse(item.orphans ?? []),
    };
  }

  async putOrphans(runId: string, orphans: readonly Orphan[]): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...ORPHANS_KEY, kind: 'orphans', runId, checkedAt: this.clock().toISOString(), orphans },
      }),
    );
  }

  async putRun(run: ReconcileRun): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...reconcileRunKey(run.runId), kind: 'reconcile-run', ...run },
      }),
    );
  }

  async run(runId: string): Promise<ReconcileRun | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: reconcileRunKey(runId), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const run = ReconcileRunSchema.parse(stripKeys(out.Item));
    // Its process died before it ended: say so rather than "running" forever.
    return run.status === 'RUNNING' && run.expiresAt < this.clock().toISOString()
      ? { ...run, status: 'ABANDONED' }
      : run;
  }
}

function toHealth(tenantId: string, item: Record<string, unknown> | undefined): TenantHealth {
  if (!item) return { tenantId, status: 'unknown', findings: [] };
  const rest = stripKeys(item) as Partial<TenantHealth>;
  const findings = z.array(FindingSchema).parse(rest.findings ?? []);
  return {
    tenantId,
    status: healthStatus(findings),
    ...(rest.checkedAt ? { checkedAt: rest.checkedAt } : {}),
    ...(rest.runId ? { runId: rest.runId } : {}),
    findings,
  };
}

import { ControlPlaneError, describeError } from '../../core/errors.js';
import { newReconcileRunId } from '../../core/ids.js';
import {
  classifyOrphans,
  classifyTenant,
  notComparedBecause,
  type TaggedStack,
} from '../../core/reconcile/classify.js';
import { type Finding, finding, mergeFindings, type TenantHealth } from '../../core/reconcile/findings.js';
import type { FindingsStore, Orphan, ReconcileRun } from '../../core/reconcile/store.js';
import type { Tenant } from '../../core/registry/records.js';
import { ensureDeleted, listTaggedStacks, PLATFORM_TAG_VALUE } from '../../templates/index.js';
import type { CallContext, Started } from '../service.js';
import type { TaskDeps } from '../tasks/context.js';
import { type DriftDetector, limit } from './drift.js';
import { observeTenant, RunCache } from './observe.js';

/**
 * The reconciler, level-triggered like a Kubernetes controller: each run compares every tenant's
 * registry record with AWS (observe.ts reads, core/reconcile classifies), stores the findings per
 * tenant, publishes `tenant.drift_detected` for each new one, and lists orphan stacks. With `fix`,
 * a tenant with repairable findings gets a repair operation (its idempotent ensure steps again).
 * It never changes AWS itself, and never deletes an orphan unless asked (`deleteOrphans`).
 */

export interface ReconcilerOptions {
  readonly deps: TaskDeps;
  readonly store: FindingsStore;
  readonly drift: DriftDetector;
  /** Tenants compared at once. */
  readonly concurrency: number;
  /** Who owns the runs this process starts (its runner id). */
  readonly owner: string;
  /** Starts a tenant's repair operation (the lifecycle service's `repair`). */
  readonly repair: (tenantId: string, ctx: CallContext) => Promise<Started>;
  readonly log?: { error(obj: unknown, msg?: string): void };
}

export interface RunRequest {
  readonly actor: string;
  readonly fix?: boolean;
  /** One tenant (id or slug); all when absent. */
  readonly tenant?: string | undefined;
}

/** What a page of a run answers the state machine: where to go on from, or done. */
export interface PageResult {
  readonly runId: string;
  readonly cursor?: string;
  readonly done: boolean;
}

/** A run with no progress written for this long was abandoned (its process died). */
const RUN_LEASE_MS = 5 * 60_000;
/** Progress is written every this many tenants (and at the end). */
const PROGRESS_EVERY = 25;

export class Reconciler {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly options: ReconcilerOptions) {}

  private now(): string {
    return this.options.deps.clock().toISOString();
  }

  private newRun(request: RunRequest): ReconcileRun {
    const at = this.now();
    return {
      runId: newReconcileRunId(),
      status: 'RUNNING',
      scope: request.tenant ? 'tenant' : 'all',
      fix: request.fix === true,
      actor: request.actor,
      owner: this.options.owner,
      startedAt: at,
      updatedAt: at,
      expiresAt: new Date(this.options.deps.clock().getTime() + RUN_LEASE_MS).toISOString(),
      done: 0,
      counts: { healthy: 0, drifted: 0, degraded: 0, skipped: 0 },
      newFindings: 0,
      repairs: [],
    };
  }

  private async progress(run: ReconcileRun): Promise<void> {
    const at = this.options.deps.clock();
    Object.assign(run, {
      updatedAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + RUN_LEASE_MS).toISOString(),
    });
    await this.options.store.putRun({ ...run, repairs: [...run.repairs], counts: { ...run.counts } });
  }

  /** Compares one tenant now; stores and answers its health (and starts its repair with `fix`). */
  async reconcileTenant(
    tenant: Tenant,
    run: ReconcileRun,
    cache: RunCache,
  ): Promise<TenantHealth | undefined> {
    const { deps, store } = this.options;
    if (tenant.state === 'OFFBOARDED') return undefined;
    const at = this.now();
    const why = notComparedBecause(tenant);
    let findings: Finding[];
    if (why)
      findings = [
        finding(
          {
            class: 'unchecked',
            resource: 'tenant',
            ref: tenant.tenantId,
            message: `not compared: ${why}`,
            repairable: false,
          },
          at,
        ),
      ];
    else {
      try {
        findings = classifyTenant(tenant, await observeTenant(deps, tenant, cache, this.options.drift), at);
      } catch (e) {
        findings = [
          finding(
            {
              class: 'unchecked',
              resource: 'tenant',
              ref: tenant.tenantId,
              message: `not compared: reading AWS failed: ${describeError(e)}`,
              repairable: false,
            },
            at,
          ),
        ];
      }
    }
    const previous = await store.health(tenant.tenantId);
    const merged = mergeFindings(previous.findings, findings);
    const health = await store.putFindings(tenant.tenantId, run.runId, merged.findings);
    for (const f of merged.fresh) {
      if (f.class === 'unchecked') continue;
      run.newFindings++;
      await deps.events.publish({
        type: 'tenant.drift_detected',
        tenantId: tenant.tenantId,
        operationId: run.runId,
        data: {
          findingId: f.id,
          class: f.class,
          resource: f.resource,
          ref: f.ref,
          severity: f.severity,
          message: f.message,
        },
      });
    }
    // Not compared (an operation in flight, AWS unreadable): counted apart, never as healthy.
    if (health.status === 'unknown') run.counts.skipped++;
    else run.counts[health.status]++;
    if (run.fix && !why && findings.some((f) => f.repairable)) {
      try {
        const started = await this.options.repair(tenant.tenantId, { actor: run.actor });
        run.repairs.push({ tenantId: tenant.tenantId, operationId: started.operation.operationId });
      } catch (e) {
        this.options.log?.error({ err: e, tenantId: tenant.tenantId }, 'could not start a repair');
      }
    }
    return health;
  }

  /** One tenant, at once: its health after this comparison, and the run that recorded it. */
  async reconcileOne(
    request: RunRequest & { tenant: string },
  ): Promise<{ run: ReconcileRun; health: TenantHealth }> {
    const tenant = await this.options.deps.registry.requireTenant(request.tenant);
    const run = this.newRun(request);
    run.total = 1;
    const health = (await this.reconcileTenant(tenant, run, new RunCache(this.options.deps))) ?? {
      tenantId: tenant.tenantId,
      status: 'unknown',
      findings: [],
    };
    run.done = 1;
    run.status = 'SUCCEEDED';
    run.endedAt = this.now();
    await this.progress(run);
    return { run, health };
  }

  /** Starts a run over every tenant in the background; answers its record at once (follow it with `run`). */
  async start(request: RunRequest): Promise<ReconcileRun> {
    const run = this.newRun(request);
    await this.progress(run);
    const done = this.runAll(run).catch((e) =>
      this.options.log?.error({ err: e, runId: run.runId }, 'reconcile run failed'),
    );
    this.running.add(done);
    void done.finally(() => this.running.delete(done));
    return { ...run };
  }

  /** Every tenant, `concurrency` at a time, then the orphan search; the run record shows progress. */
  async runAll(run: ReconcileRun = this.newRun({ actor: 'schedule' })): Promise<ReconcileRun> {
    const { deps } = this.options;
    const cache = new RunCache(deps);
    const tenants = new Map<string, Tenant>();
    try {
      let cursor: string | undefined;
      const all: Tenant[] = [];
      do {
        const page = await deps.registry.listTenants({ limit: 200, ...(cursor ? { cursor } : {}) });
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      for (const t of all) tenants.set(t.tenantId, t);
      run.total = all.length;
      await this.progress(run);
      const slot = limit(Math.max(1, this.options.concurrency));
      await Promise.all(
        all.map((t) =>
          slot(async () => {
            await this.reconcileTenant(t, run, cache);
            run.done++;
            if (run.done % PROGRESS_EVERY === 0) await this.progress(run);
          }),
        ),
      );
      await this.searchOrphans(run, tenants);
      run.status = 'SUCCEEDED';
    } catch (e) {
      run.status = 'FAILED';
      run.error = { code: e instanceof ControlPlaneError ? e.code : 'AWS_ERROR', message: describeError(e) };
    }
    run.endedAt = this.now();
    await this.progress(run);
    return run;
  }

  /**
   * One page of a run (the Step Functions reconcile machine calls this in a loop, each call within
   * the task function's time limit): no `runId` starts a run; each call compares one page of tenants
   * from `cursor` and answers the next; the last one searches for orphans and ends the run.
   */
  async page(
    input: { readonly runId?: string; readonly cursor?: string },
    pageSize = 50,
  ): Promise<PageResult> {
    const { deps, store } = this.options;
    let run: ReconcileRun | undefined = input.runId ? await store.run(input.runId) : undefined;
    if (!run) {
      run = this.newRun({ actor: 'schedule' });
      await this.progress(run);
    }
    const page = await deps.registry.listTenants({
      limit: pageSize,
      ...(input.cursor ? { cursor: input.cursor } : {}),
    });
    const slot = limit(Math.max(1, this.options.concurrency));
    const cache = new RunCache(deps);
    await Promise.all(page.items.map((t) => slot(() => this.reconcileTenant(t, run, cache))));
    run.done += page.items.length;
    if (page.nextCursor) {
      await this.progress(run);
      return { runId: run.runId, cursor: page.nextCursor, done: false };
    }
    const orphans = await this.findOrphans();
    await store.putOrphans(run.runId, orphans);
    Object.assign(run, {
      orphans: orphans.length,
      status: 'SUCCEEDED',
      total: run.done,
      endedAt: this.now(),
    });
    await this.progress(run);
    return { runId: run.runId, done: true };
  }

  /**
   * The run's orphan search. A search that fails (on AWS the task role may not list stacks: its
   * CloudFormation rights are on tenant stacks only) is said in the run, and the last list is kept.
   */
  private async searchOrphans(run: ReconcileRun, known?: ReadonlyMap<string, Tenant>): Promise<void> {
    try {
      const orphans = await this.findOrphans(known);
      await this.options.store.putOrphans(run.runId, orphans);
      run.orphans = orphans.length;
    } catch (e) {
      run.orphanSearch = `orphan search failed: ${describeError(e)}`;
    }
  }

  /**
   * Stacks tagged TenantId in the control plane's account, in every region tenants may live in,
   * that no live tenant's record lists.
   */
  async findOrphans(known?: ReadonlyMap<string, Tenant>): Promise<Orphan[]> {
    const { deps } = this.options;
    const tagged: TaggedStack[] = [];
    for (const region of deps.regions?.all ?? [deps.clients.target.region]) {
      const clients = deps.regions?.clients(region) ?? deps.clients;
      tagged.push(
        ...(await listTaggedStacks(clients.cloudformation, 'TenantId'))
          // The platform's own stacks carry TenantId `platform`: they belong to no tenant.
          .filter((s) => s.stackName.startsWith(`${deps.prefix}-`) && s.tags.TenantId !== PLATFORM_TAG_VALUE)
          .map((s) => ({
            stackName: s.stackName,
            stackId: s.stackId,
            status: s.status,
            tenantId: s.tags.TenantId ?? '',
            region,
          })),
      );
    }
    const tenants = new Map<string, Tenant | undefined>();
    for (const s of tagged) {
      if (tenants.has(s.tenantId)) continue;
      tenants.set(
        s.tenantId,
        known?.get(s.tenantId) ?? (await deps.registry.getTenant(s.tenantId).catch(() => undefined)),
      );
    }
    return classifyOrphans(tagged, tenants, this.now());
  }

  /**
   * Deletes orphan stacks the last run listed, by finding id (`tenantctl orphans --delete`): each is
   * looked at again and deleted only while it is still an orphan. Answers what was asked of each.
   */
  async deleteOrphans(ids: readonly string[]): Promise<{ id: string; stackId: string; result: string }[]> {
    const { deps, store } = this.options;
    const listed = (await store.orphans()).orphans;
    const still = new Map((await this.findOrphans()).map((o) => [o.id, o]));
    const out: { id: string; stackId: string; result: string }[] = [];
    for (const id of ids) {
      const orphan = listed.find((o) => o.id === id);
      if (!orphan) {
        out.push({ id, stackId: '', result: 'not an orphan of the last run' });
        continue;
      }
      if (!still.has(id)) {
        out.push({ id, stackId: orphan.stackId, result: 'no longer an orphan: left alone' });
        continue;
      }
      // The stack's region is in its id (an ARN): a tenant's stacks may be in any allowed region.
      const clients = deps.regions?.clients(orphan.stackId.split(':')[3]) ?? deps.clients;
      const progress = await ensureDeleted(clients.cloudformation, {
        stackName: orphan.stackId,
        token: `orphan-delete-${id}`.replace(/[^a-zA-Z0-9-]/g, '-'),
      });
      out.push({
        id,
        stackId: orphan.stackId,
        result: progress.done
          ? progress.failure
            ? `failed: ${progress.failure.message}`
            : 'deleted'
          : `deleting (${progress.status})`,
      });
    }
    return out;
  }

  /** Waits for the runs this process started (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}

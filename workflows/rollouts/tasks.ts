import { ControlPlaneError, isControlPlaneError } from '../../core/errors.js';
import { newRolloutId } from '../../core/ids.js';
import type { AlongsideItems } from '../../core/registry/changes.js';
import type { Operation, Tenant } from '../../core/registry/records.js';
import type { Registry } from '../../core/registry/registry.js';
import {
  budgetTripped,
  isProgressEnded,
  MAX_BUSY_PASSES,
  nextStep,
  ON_FAILURE_STATUS,
} from '../../core/rollouts/lifecycle.js';
import { type Isolation, newRollout, type Rollout, type RolloutTenant } from '../../core/rollouts/records.js';
import { admissionResult, type RolloutStore } from '../../core/rollouts/store.js';
import { toTaskError } from '../tasks/index.js';
import type { RolloutTaskName } from './definition.js';
import type { RolloutEventPublisher } from './events.js';

/**
 * The rollout state machine's tasks. Each reads the rollout from the registry and writes its
 * decision back before answering, so the machine can stop anywhere (pause, crash, a new
 * execution) and the next task carries on from the record.
 */

export interface RolloutTaskDeps {
  readonly store: RolloutStore;
  readonly registry: Registry;
  /** Starts a tenant's update-template operation (the engine runs it like any operation). */
  readonly startUpdate: (
    tenantId: string,
    input: { rolloutId: string; templateVersion: string; fromVersion?: string | undefined },
    actor: string,
    /** The tenant as just read, and the admission written in the start's own transaction. */
    admitted?: { tenant: Tenant; alongside: AlongsideItems },
  ) => Promise<Operation>;
  readonly events: RolloutEventPublisher;
  /**
   * The operation once it ended, or as it stands after `timeoutMs` (the operation watch: at once
   * when it ends in this process), so an item learns its update ended without a poll interval.
   */
  readonly awaitOperation: (operationId: string, timeoutMs: number) => Promise<Operation>;
  /** Starts a rollout's execution (a rollback this one began). */
  readonly startRollout: (rolloutId: string) => void | Promise<void>;
  readonly clock: () => Date;
  /** Seconds between passes over a wave whose only remaining tenants are busy. */
  readonly busyRetrySeconds: number;
}

export interface RolloutTaskInput {
  readonly task: string;
  readonly rolloutId: string;
  readonly tenantId?: string;
  readonly pollSeconds?: number;
  /** From the plan (RunWave's ItemSelector): the pass's wave and number, and the versions by isolation. */
  readonly wave?: number;
  readonly pass?: number;
  readonly targets?: Partial<Record<Isolation, string>>;
}

const now = (deps: RolloutTaskDeps) => deps.clock().toISOString();

/** What the registry reports about the rollout's progress, by tenant. */
async function progressByTenant(
  deps: RolloutTaskDeps,
  rolloutId: string,
): Promise<Map<string, RolloutTenant>> {
  return new Map((await deps.store.tenants(rolloutId)).map((t) => [t.tenantId, t]));
}

/** RolloutBegin: PENDING → RUNNING, once; rollout.started. */
async function begin(deps: RolloutTaskDeps, input: RolloutTaskInput) {
  const rollout = await deps.store.require(input.rolloutId);
  if (rollout.status !== 'PENDING') return {};
  const started = await deps.store.update(rollout.rolloutId, (r) =>
    r.status === 'PENDING' ? { status: 'RUNNING', startedAt: now(deps) } : undefined,
  );
  await deps.events.publish({
    type: 'rollout.started',
    rolloutId: started.rolloutId,
    data: {
      targets: started.targets,
      waves: started.waves.map((w) => ({ name: w.name, tenants: w.tenantIds.length })),
      maxConcurrency: started.maxConcurrency,
      failureBudget: started.budget,
    },
  });
  return {};
}

/** The budget tripped (or the canary failed): the rollout stops as its onFailure says. */
async function trip(deps: RolloutTaskDeps, rollout: Rollout, reason: string): Promise<void> {
  const status = ON_FAILURE_STATUS[rollout.onFailure];
  // The rollback is recorded and started before the status ends the rollout: a crash in between
  // leaves it RUNNING with its budget tripped, and the next PlanWave trips it again.
  const rollback = rollout.onFailure === 'rollback' ? await startRollback(deps, rollout) : undefined;
  const stopped = await deps.store.update(rollout.rolloutId, (r) =>
    r.status === 'RUNNING' ? { status, reason } : undefined,
  );
  if (stopped.status !== status || stopped.reason !== reason) return;
  await deps.events.publish({
    type: status === 'PAUSED' ? 'rollout.paused' : 'rollout.failed',
    rolloutId: rollout.rolloutId,
    data: {
      status,
      reason,
      counts: stopped.counts,
      wave: stopped.waves[stopped.currentWave]?.name,
      ...(rollback ? { rolledBackBy: rollback } : {}),
    },
  });
}

/**
 * onFailure rollback: a rollout of its own moves every tenant this one updated back to the version
 * it had (`tenantTargets`), through the same path. Nothing was in flight when the budget tripped
 * (strict budget), so the set is final. Answers its id (none when nothing was updated).
 */
async function startRollback(deps: RolloutTaskDeps, failed: Rollout): Promise<string | undefined> {
  const updated = (await deps.store.tenants(failed.rolloutId)).filter(
    (p) => p.status === 'succeeded' && p.fromVersion && p.fromVersion !== p.toVersion,
  );
  if (updated.length === 0) return undefined;
  // Its id is claimed on the record first: of two trips at once, both start the same rollback.
  const rolloutId = (
    await deps.store.update(failed.rolloutId, (r) =>
      r.rolledBackBy ? undefined : { rolledBackBy: newRolloutId() },
    )
  ).rolledBackBy!;
  const rollback = newRollout({
    rolloutId,
    request: { rollbackOf: failed.rolloutId },
    targets: {},
    tenantTargets: Object.fromEntries(updated.map((p) => [p.tenantId, p.fromVersion!])),
    rollbackOf: failed.rolloutId,
    waves: [{ name: 'rollback', canary: false, tenantIds: updated.map((p) => p.tenantId) }],
    onFailure: 'pause',
    maxConcurrency: failed.maxConcurrency,
    budget: updated.length,
    bakeSeconds: 0,
    canaryBakeSeconds: 0,
    actor: `rollout:${failed.rolloutId}`,
    createdAt: now(deps),
  });
  for (let attempt = 0; !(await deps.store.get(rolloutId)); attempt += 1) {
    try {
      await deps.store.create(rollback, await deps.store.guardRevision());
    } catch (e) {
      if (!isControlPlaneError(e, 'ROLLOUT_CONFLICT') || attempt >= 4) throw e;
    }
  }
  await deps.startRollout(rolloutId);
  return rolloutId;
}

type Plan =
  | {
      next: 'run';
      items: string[];
      maxConcurrency: number;
      toleratedFailures: number;
      wave: number;
      pass: number;
      /** Empty for a rollback (its versions are per tenant): its items read them from the record. */
      targets: Partial<Record<Isolation, string>>;
    }
  | { next: 'wait'; waitSeconds: number }
  | { next: 'end' };

/** RolloutPlanWave: what the machine does next, from the record (see nextStep). */
async function planWave(deps: RolloutTaskDeps, input: RolloutTaskInput): Promise<Plan> {
  for (let guard = 0; guard < 100; guard += 1) {
    const rollout = await deps.store.require(input.rolloutId);
    const wave = rollout.waves[rollout.currentWave];
    const progress = wave
      ? await progressByTenant(deps, rollout.rolloutId)
      : new Map<string, RolloutTenant>();
    const open = (wave?.tenantIds ?? []).filter((id) => {
      const p = progress.get(id);
      return !p || !isProgressEnded(p.status);
    });
    const busy = open.filter((id) => progress.get(id)?.status === 'busy');
    const at = now(deps);
    // Tripped but still RUNNING: a crash came between the trip's steps; finish the trip.
    if (rollout.status === 'RUNNING' && budgetTripped(rollout.counts.failed, rollout.cap)) {
      await trip(
        deps,
        rollout,
        `failure budget exceeded: ${rollout.counts.failed} failed, ${rollout.budget} tolerated`,
      );
      continue;
    }
    // A bake (or a wait before a retry pass) that has ended lets the next pass run.
    const step = nextStep({
      status: rollout.status,
      currentWave: rollout.currentWave,
      waveCount: rollout.waves.length,
      remaining: open.length,
      busy: busy.length,
      passedOnce: rollout.passes > 0 && !rollout.bakeUntil,
      bakeUntil: rollout.bakeUntil,
      now: at,
    });
    switch (step.next) {
      case 'end':
        return { next: 'end' };
      case 'bake':
        return {
          next: 'wait',
          waitSeconds: Math.max(1, Math.ceil((Date.parse(step.untilIso) - Date.parse(at)) / 1000)),
        };
      case 'finish': {
        const done = await deps.store.update(rollout.rolloutId, (r) =>
          r.status === 'RUNNING' ? { status: 'SUCCEEDED' } : undefined,
        );
        if (done.status === 'SUCCEEDED')
          await deps.events.publish({
            type: 'rollout.completed',
            rolloutId: rollout.rolloutId,
            data: { targets: done.targets, counts: done.counts },
          });
        return { next: 'end' };
      }
      case 'complete-wave': {
        const waveIndex = rollout.currentWave;
        const nextWave = rollout.waves[waveIndex + 1];
        const bake = wave!.canary ? rollout.canaryBakeSeconds : rollout.bakeSeconds;
        const moved = await deps.store.update(rollout.rolloutId, (r) =>
          r.currentWave === waveIndex && r.status === 'RUNNING'
            ? {
                currentWave: waveIndex + 1,
                passes: 0,
                cap: r.budget + 1,
                bakeUntil:
                  nextWave && bake > 0
                    ? new Date(deps.clock().getTime() + bake * 1000).toISOString()
                    : undefined,
              }
            : undefined,
        );
        if (moved.currentWave === waveIndex + 1 && moved.version === rollout.version + 1)
          await deps.events.publish({
            type: 'rollout.wave_completed',
            rolloutId: rollout.rolloutId,
            data: {
              wave: wave!.name,
              index: waveIndex,
              canary: wave!.canary,
              tenants: wave!.tenantIds.length,
              counts: moved.counts,
            },
          });
        continue;
      }
      case 'retry-later':
        await deps.store.update(rollout.rolloutId, () => ({
          bakeUntil: new Date(deps.clock().getTime() + deps.busyRetrySeconds * 1000).toISOString(),
        }));
        continue;
      case 'run': {
        if (rollout.passes >= MAX_BUSY_PASSES && busy.length === open.length) {
          for (const id of busy)
            await deps.store.skip(
              progress.get(id)!,
              `tenant ${id} had another operation in flight through ${MAX_BUSY_PASSES} passes`,
            );
          continue;
        }
        const passed = await deps.store.update(rollout.rolloutId, (r) => ({
          passes: r.passes + 1,
          bakeUntil: undefined,
        }));
        return {
          next: 'run',
          items: open,
          maxConcurrency: Math.max(1, Math.min(rollout.maxConcurrency, open.length)),
          toleratedFailures: rollout.budget,
          wave: passed.currentWave,
          pass: passed.passes,
          targets: rollout.tenantTargets ? {} : rollout.targets,
        };
      }
    }
  }
  throw new ControlPlaneError('WORKFLOW_FAILED', `rollout ${input.rolloutId}: planning did not settle`);
}

const isBusyError = (e: unknown) =>
  isControlPlaneError(e, 'OPERATION_IN_PROGRESS') ||
  isControlPlaneError(e, 'INVALID_STATE_TRANSITION') ||
  isControlPlaneError(e, 'VERSION_CONFLICT');

/** The update-template operation this rollout started for the tenant, found after a crash lost its id. */
async function findStartedUpdate(deps: RolloutTaskDeps, tenant: Tenant, rolloutId: string) {
  const events = await deps.registry.listEvents(tenant.tenantId, { limit: 50 });
  const started = events.items.find(
    (e) =>
      e.action === 'operation.started' &&
      e.detail?.type === 'update-template' &&
      e.detail?.rolloutId === rolloutId &&
      e.operationId,
  );
  return started?.operationId;
}

/** How long one RolloutTenant call waits for its update to end (well inside the Task's 120 s). */
const AWAIT_UPDATE_MS = 20_000;

type ItemAnswer = { done: boolean; detail?: string; outcome?: string; waitSeconds: number };

/**
 * RolloutTenant: one tenant of a wave, polled until it has an outcome. Admitted under the strict
 * budget (store.admission), its update runs as an update-template operation: admission and start
 * are one transaction, so a tenant is never counted without its update or updated uncounted. Its
 * end (and the counters it moves) is recorded once, whichever execution sees it first. A busy
 * tenant is recorded `busy` and tried again in a later pass, never waited on.
 */
async function updateTenant(deps: RolloutTaskDeps, input: RolloutTaskInput): Promise<ItemAnswer> {
  const wait = input.pollSeconds ?? 1;
  const answer = (done: boolean, detail: string, outcome?: string): ItemAnswer => ({
    done,
    detail,
    ...(outcome ? { outcome } : {}),
    waitSeconds: wait,
  });
  const tenantId = input.tenantId ?? '';
  // An item of this definition knows its pass from the plan: the record (a rollout's largest item:
  // its waves' tenant lists) is read only when a decision needs it. Items of an older definition
  // (an execution started before it was deployed) read it every time.
  const planned = input.wave !== undefined && input.pass !== undefined && input.targets !== undefined;
  const view = planned
    ? await deps.store.itemView(input.rolloutId, tenantId, false)
    : await deps.store.itemView(input.rolloutId, tenantId);
  const { progress } = view;
  const { tenant } = view;
  if (progress && isProgressEnded(progress.status)) return answer(true, progress.status, progress.status);
  if (progress?.status === 'running') return runUpdate(deps, input.rolloutId, progress, answer);

  // Not admitted yet (or busy last pass): what this pass would run.
  const isolation = (tenant?.isolation ?? 'pool') as Isolation;
  let rollout = view.rollout;
  let toVersion = rollout ? undefined : input.targets?.[isolation];
  if (!toVersion) {
    rollout ??= await deps.store.require(input.rolloutId);
    toVersion = rollout.tenantTargets?.[tenantId] ?? rollout.targets[isolation] ?? '';
  }
  const wave = rollout ? rollout.waves.findIndex((w) => w.tenantIds.includes(tenantId)) : input.wave!;
  if (rollout && (rollout.status !== 'RUNNING' || wave !== rollout.currentWave))
    return answer(true, `rollout ${rollout.status}`, 'halted');
  const candidate: RolloutTenant = {
    rolloutId: input.rolloutId,
    tenantId,
    wave,
    status: 'running',
    toVersion,
    ...(tenant?.templateVersion ? { fromVersion: tenant.templateVersion } : {}),
    busyPasses: progress?.busyPasses ?? 0,
    pass: rollout?.passes ?? input.pass!,
    startedAt: now(deps),
  };
  /** No slot (or the rollout stopped or moved on): halted, or wait for a slot. */
  const refused = async () => {
    const r = await deps.store.require(input.rolloutId);
    if (r.status !== 'RUNNING' || r.currentWave !== wave)
      return answer(true, `rollout ${r.status}`, 'halted');
    return answer(false, 'waiting for a rollout slot (concurrency or failure budget)');
  };
  /** Admitted by another execution meanwhile: carry on with its record. */
  const already = async () => {
    const p = await deps.store.tenant(input.rolloutId, tenantId);
    if (!p || isProgressEnded(p.status)) return answer(true, p?.status ?? 'gone', p?.status);
    return runUpdate(deps, input.rolloutId, p, answer);
  };

  const current = tenant?.stacks.find((s) => s.role === 'current');
  const gone = !tenant || tenant.state === 'OFFBOARDED' || tenant.state === 'OFFBOARDING';
  const atVersion = current?.templateVersion === toVersion && tenant?.templateVersion === toVersion;
  if (gone || atVersion) {
    // Nothing to start: admitted on its own, then recorded at once (runUpdate).
    const admitted = await deps.store.admit(candidate, wave);
    if (admitted === 'refused') return refused();
    if (admitted === 'already') return already();
    return runUpdate(deps, input.rolloutId, candidate, answer, tenant);
  }
  /** Busy before any admission: recorded without a count, tried again next pass. */
  const busy = async (error: NonNullable<RolloutTenant['error']>) =>
    (await deps.store.markBusy(candidate, error))
      ? answer(true, 'busy: tried again later', 'busy')
      : already();
  if (tenant.currentOperationId)
    return busy({
      code: 'OPERATION_IN_PROGRESS',
      message: `tenant ${tenantId} has operation ${tenant.currentOperationId} in flight`,
    });
  let operationId: string;
  try {
    const op = await deps.startUpdate(
      tenantId,
      {
        rolloutId: input.rolloutId,
        templateVersion: toVersion,
        ...(candidate.fromVersion ? { fromVersion: candidate.fromVersion } : {}),
      },
      `rollout:${input.rolloutId}`,
      {
        tenant,
        alongside: {
          items: (operation) =>
            deps.store.admission({ ...candidate, operationId: operation.operationId }, wave),
          cancelled: (indexes) => new AdmissionCancelled(admissionResult(indexes) ?? 'refused'),
        },
      },
    );
    operationId = op.operationId;
  } catch (e) {
    if (e instanceof AdmissionCancelled) return e.result === 'already' ? already() : refused();
    if (!isBusyError(e)) throw e;
    return busy({ code: (e as ControlPlaneError).code, message: (e as Error).message });
  }
  return runUpdate(deps, input.rolloutId, { ...candidate, operationId }, answer);
}

/** An admission its conditions refused, inside the transaction that would have started the update. */
class AdmissionCancelled extends Error {
  constructor(readonly result: 'refused' | 'already') {
    super(`rollout admission ${result}`);
  }
}

/**
 * A running tenant's update: started once, then awaited. `admittedWith` is the tenant as read just
 * before this call admitted it: no update can have started for it, and it is not read again.
 */
async function runUpdate(
  deps: RolloutTaskDeps,
  rolloutId: string,
  progress: RolloutTenant,
  answer: (done: boolean, detail: string, outcome?: string) => ItemAnswer,
  admittedWith?: Tenant | undefined,
): Promise<ItemAnswer> {
  const { tenantId } = progress;
  let operationId = progress.operationId;
  if (!operationId) {
    const tenant = admittedWith ?? (await deps.registry.getTenant(tenantId));
    if (!tenant || tenant.state === 'OFFBOARDED' || tenant.state === 'OFFBOARDING') {
      await deps.store.finish(progress, 'failed', {
        error: { code: 'TENANT_NOT_FOUND', message: `tenant ${tenantId} is gone or leaving` },
      });
      return answer(true, 'tenant gone', 'failed');
    }
    // After a crash: the update this rollout started before its id was recorded.
    operationId = admittedWith ? undefined : await findStartedUpdate(deps, tenant, rolloutId);
    if (!operationId) {
      const current = tenant.stacks.find((s) => s.role === 'current');
      if (current?.templateVersion === progress.toVersion && tenant.templateVersion === progress.toVersion) {
        await deps.store.finish(progress, 'succeeded');
        return answer(true, 'already at the version', 'succeeded');
      }
      try {
        const op = await deps.startUpdate(
          tenantId,
          {
            rolloutId: rolloutId,
            templateVersion: progress.toVersion,
            ...(progress.fromVersion ? { fromVersion: progress.fromVersion } : {}),
          },
          `rollout:${rolloutId}`,
        );
        operationId = op.operationId;
      } catch (e) {
        if (!isBusyError(e)) throw e;
        await deps.store.finish(progress, 'busy', {
          busyPasses: progress.busyPasses + 1,
          error: { code: (e as ControlPlaneError).code, message: (e as Error).message },
        });
        return answer(true, 'busy: tried again later', 'busy');
      }
    }
    await deps.store.setOperation(rolloutId, tenantId, operationId);
  }
  const op = await deps.awaitOperation(operationId, AWAIT_UPDATE_MS).catch(() => undefined);
  if (!op || (op.status !== 'SUCCEEDED' && op.status !== 'FAILED'))
    return answer(false, `update ${operationId} ${op?.status ?? 'starting'}`);
  if (op.status === 'SUCCEEDED') {
    await deps.store.finish(progress, 'succeeded', { operationId });
    return answer(true, 'updated', 'succeeded');
  }
  const recorded = await deps.store.finish(progress, 'failed', {
    operationId,
    error: op.error ?? { code: 'WORKFLOW_FAILED', message: `operation ${operationId} failed` },
  });
  if (recorded) {
    const after = await deps.store.require(rolloutId);
    const wave = after.waves[progress.wave];
    if (after.status === 'RUNNING' && (wave?.canary || budgetTripped(after.counts.failed, after.cap)))
      await trip(
        deps,
        after,
        wave?.canary
          ? `canary tenant ${tenantId} failed: ${op.error?.message ?? 'update failed'}`
          : `failure budget exceeded: ${after.counts.failed} failed, ${after.budget} tolerated`,
      );
  }
  return answer(true, 'update failed', 'failed');
}

const HANDLERS: Record<
  RolloutTaskName,
  (deps: RolloutTaskDeps, input: RolloutTaskInput) => Promise<unknown>
> = {
  RolloutBegin: begin,
  RolloutPlanWave: planWave,
  RolloutTenant: updateTenant,
};

/** Dispatches a rollout Task state; errors leave named by their catalogue code (for Retry). */
export function createRolloutTaskRunner(deps: RolloutTaskDeps) {
  return async (input: RolloutTaskInput): Promise<unknown> => {
    const handler = HANDLERS[input.task as RolloutTaskName];
    if (!handler)
      throw toTaskError(new ControlPlaneError('WORKFLOW_FAILED', `unknown rollout task ${input.task}`));
    try {
      return await handler(deps, input);
    } catch (e) {
      throw toTaskError(e);
    }
  };
}

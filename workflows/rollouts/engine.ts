import { StateMachine } from 'aws-local-stepfunctions';
import type { RolloutStore } from '../../core/rollouts/store.js';
import { substitute } from '../definitions/index.js';
import { LOCAL_TASK_ARN } from '../engine/local.js';
import { rolloutDefinition } from './definition.js';
import type { RolloutEngine } from './stepfunctions-engine.js';
import type { RolloutTaskInput } from './tasks.js';

export interface RolloutEngineOptions {
  readonly store: RolloutStore;
  readonly runTask: (input: RolloutTaskInput) => Promise<unknown>;
  /** Every Wait (item polls, bakes, busy retries) lasts this long locally; the plan is asked again after it. */
  readonly pollMs: number;
  readonly log?: { error(obj: unknown, msg?: string): void };
}

/**
 * Runs the rollout state machine on the embedded engine (aws-local-stepfunctions), the same ASL
 * Step Functions runs. Durable through the registry: `resumeOpen()` at start-up starts every
 * RUNNING rollout again, and every task reads the record first, so a new execution carries on
 * where a crashed one stopped. One execution per rollout per process; a resume that arrives while
 * the last execution drains starts a new one as soon as it ends.
 */
export class LocalRolloutEngine implements RolloutEngine {
  private readonly machine: StateMachine;
  private readonly waits: Record<string, number>;
  private readonly tasks: string[];
  private readonly running = new Map<string, { abort: () => void; done: Promise<void>; again: boolean }>();
  private closed = false;

  constructor(private readonly options: RolloutEngineOptions) {
    const definition = JSON.parse(substitute(JSON.stringify(rolloutDefinition()), LOCAL_TASK_ARN));
    this.machine = new StateMachine(definition, { validationOptions: { checkPaths: true, checkArn: true } });
    this.waits = { Bake: options.pollMs, 'UpdateTenant: wait': options.pollMs };
    this.tasks = ['Begin', 'PlanWave', 'UpdateTenant'];
  }

  start(rolloutId: string): void {
    if (this.closed) return;
    const current = this.running.get(rolloutId);
    if (current) {
      current.again = true;
      return;
    }
    const execution = this.machine.run(
      { rolloutId, pollSeconds: Math.max(1, Math.ceil(this.options.pollMs / 1000)) },
      {
        noThrowOnAbort: true,
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(
            this.tasks.map((name) => [
              name,
              (i: unknown) => this.options.runTask(i as RolloutTaskInput) as Promise<never>,
            ]),
          ),
          waitTimeOverrides: this.waits,
          retryIntervalOverrides: Object.fromEntries(this.tasks.map((name) => [name, 200])),
        },
      },
    );
    const entry = {
      abort: () => execution.abort(),
      again: false,
      done: execution.result.then(
        () => undefined,
        (e: unknown) =>
          this.options.log?.error(
            { rolloutId, err: e },
            'rollout execution stopped; it resumes on next start',
          ),
      ),
    };
    this.running.set(rolloutId, entry);
    void entry.done.finally(() => {
      this.running.delete(rolloutId);
      if (entry.again && !this.closed) this.start(rolloutId);
    });
  }

  /** Starts every RUNNING rollout; answers how many. */
  async resumeOpen(): Promise<number> {
    let started = 0;
    for (const entry of await this.options.store.entries())
      if (entry.status === 'RUNNING' && !this.running.has(entry.rolloutId)) {
        this.start(entry.rolloutId);
        started += 1;
      }
    return started;
  }

  runsHere(rolloutId: string): boolean {
    return this.running.has(rolloutId);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.running.values()) r.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}

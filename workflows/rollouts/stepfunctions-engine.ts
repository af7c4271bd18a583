import {
  DescribeExecutionCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Rollout } from '../../core/rollouts/records.js';
import type { RolloutStore } from '../../core/rollouts/store.js';

/** The rollout state machine is `<prefix>-rollout`: STATE_MACHINE_ARN_PREFIX + this. */
export const ROLLOUT_MACHINE = 'rollout';

/** What runs rollout executions: the embedded engine (LocalRolloutEngine) or Step Functions. */
export interface RolloutEngine {
  /** Makes sure an execution runs the rollout (PENDING or RUNNING); starting twice starts once. */
  start(rolloutId: string): Promise<void> | void;
  /** Starts (or makes sure of) an execution for every RUNNING rollout; answers how many. */
  resumeOpen(): Promise<number>;
  /** True while this process runs the rollout's execution (the embedded engine only). */
  runsHere(rolloutId: string): boolean;
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One execution name per execution the record counts: the rollout id, then
 * `<id>-execution-<n>` after a resume (or after an execution ended with the record still open).
 * Names are unique per state machine for 90 days, so starting the same one twice starts it once.
 */
export function rolloutExecutionName(rollout: Pick<Rollout, 'rolloutId' | 'executions'>): string {
  return rollout.executions > 1 ? `${rollout.rolloutId}-execution-${rollout.executions}` : rollout.rolloutId;
}

/** `arn:…:stateMachine:<name>` → `arn:…:execution:<name>:<executionName>` (the documented form). */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export interface StepFunctionsRolloutEngineOptions {
  readonly sfn: SFNClient;
  readonly store: RolloutStore;
  /** The deployed rollout state machine (`<prefix>-rollout`). */
  readonly stateMachineArn: string;
  /** Seconds between an item's polls of its update, and between passes over busy tenants. */
  readonly pollSeconds: number;
}

/**
 * Rollouts on Step Functions: the rollout state machine (a Distributed Map per wave pass) runs
 * every execution; this process only starts them. The record stays the authority, as on the
 * embedded engine: pause and abort are status changes the next PlanWave (and every unadmitted
 * item) reads, so updates in flight still finish and are recorded; nothing is stopped here for
 * them. StopExecution is used for one thing: a resume stops the previous execution if it still
 * drains, so one execution at a time plans the rollout (the new one polls the tenants the old
 * one left running, from the record).
 */
export class StepFunctionsRolloutEngine implements RolloutEngine {
  constructor(private readonly options: StepFunctionsRolloutEngineOptions) {}

  async start(rolloutId: string): Promise<void> {
    const { sfn, store, stateMachineArn } = this.options;
    const input = JSON.stringify({ rolloutId, pollSeconds: this.options.pollSeconds });
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const rollout = await store.require(rolloutId);
      if (rollout.status !== 'PENDING' && rollout.status !== 'RUNNING') return;
      if (rollout.executions > 1)
        await this.stopIfRunning(
          rolloutExecutionName({ rolloutId, executions: rollout.executions - 1 }),
          `superseded by execution ${rollout.executions}`,
        );
      const name = rolloutExecutionName(rollout);
      try {
        // Same name and input while it runs: Step Functions answers with the running execution.
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input }));
        return;
      } catch (e) {
        if ((e as Error).name !== 'ExecutionAlreadyExists') throw e;
      }
      if ((await this.status(name)) === 'RUNNING') return;
      // That execution ended (failed, timed out, stopped) with the record still open: the next
      // one carries on from the record. Counted on the record first, so two callers start one.
      await store.update(rolloutId, (r) =>
        r.executions === rollout.executions ? { executions: r.executions + 1 } : undefined,
      );
    }
  }

  /** The resume schedule (and a server start): every RUNNING rollout has a running execution. */
  async resumeOpen(): Promise<number> {
    let started = 0;
    for (const entry of await this.options.store.entries())
      if (entry.status === 'RUNNING') {
        await this.start(entry.rolloutId);
        started += 1;
      }
    return started;
  }

  runsHere(): boolean {
    return false;
  }

  async idle(): Promise<void> {}
  async close(): Promise<void> {}

  private async status(name: string): Promise<string | undefined> {
    try {
      const out = await this.options.sfn.send(
        new DescribeExecutionCommand({ executionArn: executionArn(this.options.stateMachineArn, name) }),
      );
      return out.status;
    } catch (e) {
      if ((e as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw e;
    }
  }

  private async stopIfRunning(name: string, cause: string): Promise<void> {
    if ((await this.status(name)) !== 'RUNNING') return;
    await this.options.sfn
      .send(
        new StopExecutionCommand({
          executionArn: executionArn(this.options.stateMachineArn, name),
          error: 'Superseded',
          cause,
        }),
      )
      .catch((e: Error) => {
        // It ended between the two calls: nothing to stop.
        if (e.name !== 'ExecutionDoesNotExist') throw e;
      });
  }
}

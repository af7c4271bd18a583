import { StateMachine } from 'aws-local-stepfunctions';
import type { OperationType } from '../../core/lifecycle.js';
import type { OperationClaims } from '../../core/registry/claims.js';
import type { Operation } from '../../core/registry/records.js';
import type { Registry } from '../../core/registry/registry.js';
import { type AslDefinition, substitute, workflowDefinitions } from '../definitions/index.js';
import type { TaskInput, TaskRunner } from '../tasks/index.js';
import type { ExecutionInput, WorkflowEngine } from './types.js';

/** Stands in for the task Lambda's ARN; Task states are bound to local functions instead. */
export const LOCAL_TASK_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:tenant-control-plane-tasks';

export interface LocalEngineOptions {
  readonly registry: Registry;
  readonly runTask: TaskRunner;
  /** Wait between polls of a long-running step. */
  readonly pollMs: number;
  /** Pause before an ASL Retry; the definitions' own intervals are seconds, far too slow for moto. */
  readonly retryMs?: number;
  readonly log?: { error(obj: unknown, msg?: string): void; info?(obj: unknown, msg?: string): void };
  /**
   * Cross-process claims on operations. With them, an operation runs in one process only, and
   * every ttl/3 this engine renews its heartbeat and takes over open operations whose runner died.
   */
  readonly claims?: OperationClaims;
}

interface Running {
  readonly abort: () => void;
  readonly done: Promise<void>;
}

/**
 * The embedded engine: runs the very ASL definitions Step Functions runs, in-process, with every
 * Task bound to the task runner (moto's own executor cannot run Wait states). Durable through the
 * registry: an execution lost to a crash is started again by resumeOpen(), and every step is
 * idempotent, so a re-run converges.
 */
export class LocalEngine implements WorkflowEngine {
  readonly kind = 'local' as const;
  private readonly running = new Map<string, Running>();
  private readonly machines: Record<OperationType, { machine: StateMachine; definition: AslDefinition }>;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: LocalEngineOptions) {
    const definitions = workflowDefinitions();
    this.machines = Object.fromEntries(
      Object.entries(definitions).map(([type, def]) => {
        const definition = JSON.parse(substitute(JSON.stringify(def), LOCAL_TASK_ARN)) as AslDefinition;
        return [
          type,
          {
            machine: new StateMachine(definition as never, {
              validationOptions: { checkPaths: true, checkArn: true },
            }),
            definition,
          },
        ];
      }),
    ) as LocalEngine['machines'];
  }

  get runnerId(): string | undefined {
    return this.options.claims?.runnerId;
  }

  /** First heartbeat, then one every ttl/3 with a sweep for operations whose runner died. */
  private begin(): Promise<void> {
    const claims = this.options.claims;
    if (!claims) return Promise.resolve();
    // Nothing runs here before this runner's heartbeat is recorded: without it, another process
    // would count this one dead and run the same operations. A failed first heartbeat is retried.
    if (!this.ready) {
      const ready = claims.heartbeat().then(() => {
        if (this.closed) return;
        const ttlMs = claims.ttlSeconds * 1000;
        let lastBeat = Date.now();
        this.heartbeat = setInterval(
          () => {
            void claims
              .heartbeat()
              .then(() => {
                lastBeat = Date.now();
                return this.resumeOpen();
              })
              .catch((e: unknown) => {
                this.options.log?.error({ err: e }, 'operation claim heartbeat failed');
                // Unable to prove it is alive, this runner will soon count as dead to the others,
                // which then take its operations over: stop them here first (they resume there).
                if (Date.now() - lastBeat >= (ttlMs * 2) / 3)
                  for (const r of this.running.values()) r.abort();
              });
          },
          Math.max(1000, ttlMs / 3),
        );
        this.heartbeat.unref();
      });
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
      this.ready = ready;
    }
    return this.ready;
  }

  /**
   * Runs the operation here unless it runs already, here or (with claims) in another live
   * process. True when this call started it.
   */
  async start(operation: Operation, sweep?: Map<string, boolean>): Promise<boolean> {
    if (this.closed || this.running.has(operation.operationId)) return false;
    const claims = this.options.claims;
    if (claims) {
      await this.begin();
      if (!(await claims.claim(operation.operationId, operation.runner, sweep))) return false;
      if (this.closed || this.running.has(operation.operationId)) return false;
    }
    const { machine, definition } = this.machines[operation.type];
    const taskStates = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    const waitStates = Object.entries(definition.States).filter(([, s]) => s.Type === 'Wait');
    const input: ExecutionInput = {
      operationId: operation.operationId,
      tenantId: operation.tenantId,
      pollSeconds: Math.max(1, Math.ceil(this.options.pollMs / 1000)),
    };
    const execution = machine.run(
      { ...input },
      {
        noThrowOnAbort: true,
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(
            taskStates.map(([name]) => [
              name,
              (i: unknown) => this.options.runTask(i as TaskInput) as Promise<never>,
            ]),
          ),
          waitTimeOverrides: Object.fromEntries(waitStates.map(([name]) => [name, this.options.pollMs])),
          retryIntervalOverrides: Object.fromEntries(
            taskStates.map(([name]) => [name, this.options.retryMs ?? 200]),
          ),
        },
      },
    );
    const done = execution.result.then(
      () => undefined,
      (e: unknown) => this.onExecutionError(operation, e),
    );
    this.running.set(operation.operationId, { abort: () => execution.abort(), done });
    void done.finally(() => this.running.delete(operation.operationId));
    return true;
  }

  /**
   * An execution that ends in a Fail state has recorded its failure already (RecordFailure). One
   * that failed anywhere else (the registry unreachable while recording) stays open in the
   * registry and is resumed on the next start; here it is only logged.
   */
  private async onExecutionError(operation: Operation, e: unknown): Promise<void> {
    if ((e as { cause?: { name?: string } }).cause?.name === 'OperationFailed') return;
    const latest = await this.options.registry.getOperation(operation.operationId).catch(() => undefined);
    if (latest?.status === 'FAILED' || latest?.status === 'SUCCEEDED') return;
    this.options.log?.error(
      { operationId: operation.operationId, err: e },
      'workflow execution stopped before recording an outcome; it resumes on next start',
    );
  }

  /** Starts the open operations no live process runs; answers how many it started. */
  async resumeOpen(): Promise<number> {
    if (this.closed) return 0;
    await this.begin();
    const open = await this.options.registry.listOpenOperations();
    // One liveness read per other runner per sweep, however many operations it holds.
    const sweep = new Map<string, boolean>();
    let started = 0;
    for (const op of open) if (await this.start(op, sweep)) started++;
    return started;
  }

  runsHere(operationId: string): boolean {
    return this.running.has(operationId);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Running executions in this process. */
  get inFlight(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const r of this.running.values()) r.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
    // What this process held can be taken over at once, not after the heartbeat lapses.
    if (this.ready)
      await this.options.claims
        ?.retire()
        .catch((e: unknown) => this.options.log?.error({ err: e }, 'could not retire the runner'));
  }
}

import { hostname } from 'node:os';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws/errors.js';
import { newRunnerId } from '../ids.js';
import { operationKey, runnerKey } from './keys.js';

/**
 * Which process runs an operation, so that two control planes on one registry (replicas, or a
 * restart overlapping the old process) never run the same operation at once.
 *
 *   RUNNER#<id> / #RUNNER   host, pid, aliveUntil (a heartbeat, renewed every ttl/3)
 *   OP#<id>     / #OP       runner: the id of the runner that claimed the operation
 *
 * A claim is taken once per operation (with the operation's own record when this process creates
 * it) and kept while its runner is alive. A runner is dead when its heartbeat lapsed, when it said
 * so on close, or at once when it ran on this host under a process id that no longer exists (a
 * crash, then a restart). An operation whose runner is dead is taken over with a conditional write,
 * so of two processes trying, one wins.
 */
export interface OperationClaimsOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  /** A runner whose heartbeat is older than this is presumed dead. */
  readonly ttlSeconds: number;
  readonly clock?: () => Date;
  /** Overridable for tests; default: this host and process. */
  readonly host?: string;
  readonly pid?: number;
  readonly isProcessAlive?: (pid: number) => boolean;
}

interface RunnerItem {
  readonly host?: string;
  readonly pid?: number;
  readonly aliveUntil?: number;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class OperationClaims {
  readonly runnerId = newRunnerId();
  private readonly host: string;
  private readonly pid: number;
  private readonly clock: () => Date;
  private readonly isProcessAlive: (pid: number) => boolean;

  constructor(private readonly options: OperationClaimsOptions) {
    this.host = options.host ?? hostname();
    this.pid = options.pid ?? process.pid;
    this.clock = options.clock ?? (() => new Date());
    this.isProcessAlive = options.isProcessAlive ?? processAlive;
  }

  /** A runner whose heartbeat is older than this is presumed dead. */
  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  private nowSeconds(): number {
    return Math.floor(this.clock().getTime() / 1000);
  }

  /** Writes this runner's heartbeat (at start, then every ttl/3 from the engine). */
  async heartbeat(): Promise<void> {
    await this.options.documents.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: {
          ...runnerKey(this.runnerId),
          kind: 'runner',
          host: this.host,
          pid: this.pid,
          aliveUntil: this.nowSeconds() + this.options.ttlSeconds,
        },
      }),
    );
  }

  /** Says this runner is gone, so its open operations can be taken over at once. */
  async retire(): Promise<void> {
    await this.options.documents.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: { ...runnerKey(this.runnerId), kind: 'runner', host: this.host, pid: this.pid, aliveUntil: 0 },
      }),
    );
  }

  /** Whether another runner still runs what it claimed. `cache` spares re-reads within one sweep. */
  async isAlive(runnerId: string, cache?: Map<string, boolean>): Promise<boolean> {
    if (runnerId === this.runnerId) return true;
    const known = cache?.get(runnerId);
    if (known !== undefined) return known;
    const out = await this.options.documents.send(
      new GetCommand({ TableName: this.options.tableName, Key: runnerKey(runnerId), ConsistentRead: true }),
    );
    const item = out.Item as RunnerItem | undefined;
    const alive =
      !!item &&
      (item.aliveUntil ?? 0) >= this.nowSeconds() &&
      !(item.host === this.host && item.pid !== undefined && !this.isProcessAlive(item.pid));
    cache?.set(runnerId, alive);
    return alive;
  }

  /**
   * Takes the operation for this runner, unless a live runner holds it. `holder` is the runner the
   * caller read on the operation (undefined: none). True when this runner holds it now.
   */
  async claim(
    operationId: string,
    holder: string | undefined,
    cache?: Map<string, boolean>,
  ): Promise<boolean> {
    if (holder === this.runnerId) return true;
    if (holder && (await this.isAlive(holder, cache))) return false;
    try {
      await this.options.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: operationKey(operationId),
          UpdateExpression: 'SET runner = :me',
          // The holder read must still be the holder: of two processes taking over, one wins.
          ConditionExpression: `attribute_exists(pk) AND #st IN (:pending, :running) AND ${
            holder ? 'runner = :holder' : 'attribute_not_exists(runner)'
          }`,
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: {
            ':me': this.runnerId,
            ':pending': 'PENDING',
            ':running': 'RUNNING',
            ...(holder ? { ':holder': holder } : {}),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw e;
    }
  }
}

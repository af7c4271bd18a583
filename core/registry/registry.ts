import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ControlPlaneError } from '../errors.js';
import { fingerprint, newEventId, newOperationId, newTenantId } from '../ids.js';
import {
  assertTransition,
  endState,
  OPERATION_RULES,
  type OperationType,
  startState,
  type TenantState,
} from '../lifecycle.js';
import { decodeCursor, type Key, mergeShards } from './list-merge.js';
import {
  type AuditEvent,
  AuditEventSchema,
  type ErrorInfo,
  type Operation,
  OperationSchema,
  type Page,
  type Step,
  type Tenant,
  TenantSchema,
} from './records.js';
import { LIST_INDEXES, LIST_SHARDS, type ListIndex, OPEN_OPERATIONS_INDEX } from './table.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export interface RegistryOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock?: () => Date;
}

export interface NewTenant {
  readonly slug: string;
  readonly name: string;
  readonly tier: string;
  readonly isolation: Tenant['isolation'];
  readonly adminEmail: string;
  readonly region: string;
  readonly allowedPrincipals?: readonly string[];
}

export interface OperationRequest {
  readonly actor: string;
  readonly input?: Record<string, unknown>;
  readonly idempotencyKey?: string;
  /** Reject the start when the tenant changed since this version was read. */
  readonly expectedVersion?: number;
  /** The runner (local engine process) that will run it: its claim, written with the record. */
  readonly runner?: string;
}

/** Fields of a tenant that workflows record as they go. */
export type TenantPatch = Partial<
  Pick<
    Tenant,
    | 'tier'
    | 'isolation'
    | 'accountId'
    | 'accountRequestId'
    | 'accountClosedAt'
    | 'stacks'
    | 'outputs'
    | 'access'
    | 'templateVersion'
    | 'offboardedAt'
  >
>;

/** A step that a tenant patch completes (see patchTenant): written whole, with its start. */
export interface StepEnd {
  readonly name: string;
  readonly startedAt: string;
  readonly detail?: string | undefined;
}

export type IdempotencyClaim =
  | { readonly status: 'claimed' }
  | { readonly status: 'completed'; readonly response: unknown }
  | { readonly status: 'in-flight' };

const TENANT_SK = '#TENANT';
const OP_SK = '#OP';
const tenantPk = (id: string) => `TENANT#${id}`;
const opPk = (id: string) => `OP#${id}`;
const slugPk = (slug: string) => `SLUG#${slug}`;

/** Shard of a tenant in the list indexes: stable, spread by the ULID's random tail. */
export function listShard(tenantId: string): number {
  let h = 0;
  for (let i = tenantId.length - 6; i < tenantId.length; i++) h = (h * 31 + tenantId.charCodeAt(i)) >>> 0;
  return h % LIST_SHARDS;
}

function listKeys(t: Pick<Tenant, 'tenantId' | 'tier' | 'state'>): Record<string, string> {
  const shard = listShard(t.tenantId);
  const parts: Record<ListIndex, string> = {
    byTierState: `T#${t.tier}#S#${t.state}`,
    byState: `S#${t.state}`,
    byTier: `T#${t.tier}`,
    byAll: 'ALL',
  };
  const keys: Record<string, string> = {};
  for (const [index, { pk, sk }] of Object.entries(LIST_INDEXES)) {
    keys[pk] = `${parts[index as ListIndex]}#${shard}`;
    keys[sk] = t.tenantId;
  }
  return keys;
}

/** The stored form of a tenant record: its attributes plus the table and list-index keys. */
export function toTenantItem(t: Tenant): Record<string, unknown> {
  return { pk: tenantPk(t.tenantId), sk: TENANT_SK, kind: 'tenant', ...t, ...listKeys(t) };
}

function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) {
    if (
      k === 'pk' ||
      k === 'sk' ||
      k === 'kind' ||
      k.startsWith('gsi') ||
      k.startsWith('open') ||
      k === 'rev'
    )
      continue;
    out[k] = v;
  }
  return out;
}

/**
 * Operations keep their steps as a map by step name (`stepMap`), so a step is recorded with one
 * UpdateItem and no read; readers get the ordered `steps` list.
 */
let stepSeq = 0;
export function nextStepSeq(): number {
  stepSeq = (stepSeq + 1) % 1000;
  return Date.now() * 1000 + stepSeq;
}

function toOperationItem(op: Operation): Record<string, unknown> {
  const { steps, ...rest } = op;
  const stepMap: Record<string, unknown> = {};
  steps.forEach((s, i) => {
    stepMap[s.name] = { ...s, seq: i };
  });
  return { pk: opPk(op.operationId), sk: OP_SK, kind: 'operation', ...rest, stepMap };
}

function fromOperationItem(item: Record<string, unknown>): Operation {
  const stepMap = (item.stepMap ?? {}) as Record<string, Step & { seq?: number }>;
  const steps = Object.values(stepMap)
    .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || a.startedAt.localeCompare(b.startedAt))
    .map(({ seq: _seq, ...step }) => step);
  const { stepMap: _m, ...rest } = stripKeys(item);
  return OperationSchema.parse({ ...rest, steps });
}

/** Which item of a cancelled transaction failed its condition. */
function cancelledAt(e: unknown): number[] {
  if (!(e instanceof TransactionCanceledException)) return [];
  return (e.CancellationReasons ?? []).flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
}

/**
 * The tenant registry on DynamoDB. Every state change writes its audit event in the same
 * transaction; every write to a tenant is conditioned on its version (optimistic lock) and, for
 * operations, on no other operation being in flight.
 */
export class Registry {
  private readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  private readonly clock: () => Date;

  constructor(options: RegistryOptions) {
    this.db = options.documents;
    this.tableName = options.tableName;
    this.clock = options.clock ?? (() => new Date());
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private eventPut(e: Omit<AuditEvent, 'eventId' | 'at'> & { at?: string }): TransactItem {
    const event: AuditEvent = { eventId: newEventId(), at: e.at ?? this.now(), ...e };
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk: tenantPk(event.tenantId), sk: `EVENT#${event.eventId}`, kind: 'event', ...event },
      },
    };
  }

  private async transact(items: TransactItem[]): Promise<void> {
    await this.db.send(
      new TransactWriteCommand({
        TableName: this.tableName,
        TransactItems: items,
      } as TransactWriteCommandInput),
    );
  }

  // ---------------------------------------------------------------- tenants

  /**
   * Creates the tenant in PROVISIONING with its onboard operation, claiming the slug in the same
   * transaction: of N concurrent creates with one slug exactly one wins, the rest get TENANT_EXISTS.
   */
  async createTenant(
    input: NewTenant,
    op: OperationRequest,
  ): Promise<{ tenant: Tenant; operation: Operation }> {
    const at = this.now();
    const tenantId = newTenantId();
    const operationId = newOperationId();
    const state = OPERATION_RULES.onboard.during;
    const tenant: Tenant = TenantSchema.parse({
      tenantId,
      slug: input.slug,
      name: input.name,
      tier: input.tier,
      isolation: input.isolation,
      state,
      adminEmail: input.adminEmail,
      region: input.region,
      allowedPrincipals: [...(input.allowedPrincipals ?? [])],
      stacks: [],
      outputs: {},
      access: {},
      version: 1,
      createdAt: at,
      updatedAt: at,
      currentOperationId: operationId,
    });
    const operation = this.newOperation(operationId, tenantId, 'onboard', op, at);
    try {
      await this.transact([
        {
          Put: {
            TableName: this.tableName,
            Item: { pk: slugPk(tenant.slug), sk: '#SLUG', kind: 'slug', tenantId, createdAt: at },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: toTenantItem(tenant),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        this.operationPut(operation),
        this.eventPut({
          tenantId,
          actor: op.actor,
          action: 'tenant.created',
          operationId,
          to: state,
          at,
          detail: { tier: tenant.tier },
        }),
        this.eventPut({
          tenantId,
          actor: op.actor,
          action: 'operation.started',
          operationId,
          at,
          detail: { type: 'onboard' },
        }),
      ]);
    } catch (e) {
      if (cancelledAt(e).includes(0)) {
        // The SDK retried a transaction whose first answer was lost: the slug names our own tenant.
        const claim = await this.db.send(
          new GetCommand({
            TableName: this.tableName,
            Key: { pk: slugPk(tenant.slug), sk: '#SLUG' },
            ConsistentRead: true,
          }),
        );
        if (claim.Item?.tenantId === tenantId) return { tenant, operation };
        throw new ControlPlaneError(
          'TENANT_EXISTS',
          `a tenant with slug "${tenant.slug}" exists already; choose another slug`,
          {
            details: { slug: tenant.slug },
            cause: e,
          },
        );
      }
      throw e;
    }
    return { tenant, operation };
  }

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: tenantPk(tenantId), sk: TENANT_SK } }),
    );
    return out.Item ? TenantSchema.parse(stripKeys(out.Item)) : undefined;
  }

  async getTenantBySlug(slug: string): Promise<Tenant | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: slugPk(slug), sk: '#SLUG' } }),
    );
    return out.Item ? this.getTenant(String(out.Item.tenantId)) : undefined;
  }

  /** By tenant id (`t_…`) or slug; TENANT_NOT_FOUND otherwise. */
  async requireTenant(idOrSlug: string): Promise<Tenant> {
    const tenant = idOrSlug.startsWith('t_')
      ? await this.getTenant(idOrSlug)
      : await this.getTenantBySlug(idOrSlug);
    if (!tenant) throw new ControlPlaneError('TENANT_NOT_FOUND', `no tenant with id or slug "${idOrSlug}"`);
    return tenant;
  }

  /** One page of tenants, newest first, filtered by tier and/or state through a GSI (never a Scan). */
  async listTenants(query: {
    tier?: string;
    state?: TenantState;
    limit?: number;
    cursor?: string;
  }): Promise<Page<Tenant>> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const index: ListIndex =
      query.tier && query.state ? 'byTierState' : query.state ? 'byState' : query.tier ? 'byTier' : 'byAll';
    const prefix = listKeys({ tenantId: 't_', tier: query.tier ?? '', state: query.state ?? 'ACTIVE' })[
      LIST_INDEXES[index].pk
    ]!;
    const base = prefix.slice(0, prefix.lastIndexOf('#'));
    const { pk, sk } = LIST_INDEXES[index];
    // Every shard position is checked, finished shards included: a cursor from another query
    // (or a forged one) is refused whatever its shards say.
    const checkPosition = (shard: number, after: Key | undefined) => {
      const partition = `${base}#${shard}`;
      if (
        after &&
        (after[pk] !== partition ||
          typeof after[sk] !== 'string' ||
          typeof after.pk !== 'string' ||
          typeof after.sk !== 'string')
      ) {
        throw new ControlPlaneError(
          'VALIDATION_FAILED',
          'cursor belongs to a different query; pass the same filters as the first page',
          {
            details: [
              { path: 'cursor', message: 'a nextCursor from a page with the same tier and state filters' },
            ],
          },
        );
      }
    };
    if (query.cursor) {
      for (const [shard, position] of decodeCursor(query.cursor, LIST_SHARDS).entries())
        checkPosition(shard, position.after);
    }
    const page = await mergeShards<Tenant>(LIST_SHARDS, limit, query.cursor, async (shard, after, max) => {
      const partition = `${base}#${shard}`;
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': pk },
          ExpressionAttributeValues: { ':pk': partition },
          ScanIndexForward: false,
          Limit: max,
          ...(after ? { ExclusiveStartKey: after } : {}),
        }),
      );
      const items = (out.Items ?? []).map((item) => ({
        item: TenantSchema.parse(stripKeys(item)),
        key: { pk: item.pk, sk: item.sk, [pk]: item[pk], [sk]: item[sk] } as Key,
        sortKey: String(item[sk]),
      }));
      return { items, exhausted: !out.LastEvaluatedKey };
    });
    return page;
  }

  /**
   * Records workflow progress on the tenant (stacks, outputs, access records) without a state
   * change. Conditioned on the operation still owning the tenant.
   */
  async patchTenant(
    tenant: Tenant | string,
    operationId: string,
    patch: TenantPatch,
    options: {
      readonly actor?: string;
      /** The step this patch completes, recorded as SUCCEEDED in the same transaction. */
      readonly endsStep?: StepEnd | undefined;
    } = {},
  ): Promise<Tenant> {
    const actor = options.actor ?? 'workflow';
    // Callers that just read the tenant pass it, saving a read; the version condition keeps it safe.
    const current = typeof tenant === 'string' ? await this.requireTenant(tenant) : tenant;
    if (current.currentOperationId !== operationId) {
      throw new ControlPlaneError(
        'OPERATION_IN_PROGRESS',
        `tenant ${current.tenantId} is owned by operation ${current.currentOperationId ?? '(none)'}, not ${operationId}`,
      );
    }
    const next: Tenant = { ...current, ...patch, version: current.version + 1, updatedAt: this.now() };
    for (const [k, v] of Object.entries(patch))
      if (v === undefined) delete (next as Record<string, unknown>)[k];
    await this.writeTenant(current, next, [
      this.eventPut({
        tenantId: current.tenantId,
        actor,
        action: 'tenant.updated',
        operationId,
        detail: { fields: Object.keys(patch) },
      }),
      ...(options.endsStep
        ? [
            {
              Update: this.stepUpdate(
                operationId,
                {
                  name: options.endsStep.name,
                  status: 'SUCCEEDED',
                  startedAt: options.endsStep.startedAt,
                  endedAt: next.updatedAt,
                  ...(options.endsStep.detail ? { detail: options.endsStep.detail } : {}),
                },
                'put',
              ),
            },
          ]
        : []),
    ]);
    return next;
  }

  /** Conditional replace of a tenant record at `current.version`, plus extra items in one transaction. */
  private async writeTenant(
    current: Tenant,
    next: Tenant,
    extra: TransactItem[],
    extraCondition?: { expression: string; values?: Record<string, unknown> },
  ): Promise<void> {
    try {
      await this.transact([
        {
          Put: {
            TableName: this.tableName,
            Item: toTenantItem(next),
            ConditionExpression: `#v = :v${extraCondition ? ` AND ${extraCondition.expression}` : ''}`,
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': current.version, ...(extraCondition?.values ?? {}) },
          },
        },
        ...extra,
      ]);
    } catch (e) {
      if (cancelledAt(e).includes(0)) {
        throw new ControlPlaneError(
          'VERSION_CONFLICT',
          `tenant ${current.tenantId} changed since version ${current.version} was read; read it again and retry`,
          {
            details: { tenantId: current.tenantId, expectedVersion: current.version },
            cause: e,
          },
        );
      }
      throw e;
    }
  }

  // ---------------------------------------------------------------- operations

  private newOperation(
    operationId: string,
    tenantId: string,
    type: OperationType,
    op: OperationRequest,
    at: string,
  ): Operation {
    return OperationSchema.parse({
      operationId,
      tenantId,
      type,
      status: 'PENDING',
      steps: [],
      actor: op.actor,
      ...(op.idempotencyKey ? { idempotencyKey: op.idempotencyKey } : {}),
      ...(op.runner ? { runner: op.runner } : {}),
      input: op.input ?? {},
      createdAt: at,
      updatedAt: at,
    });
  }

  private operationPut(operation: Operation): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          ...toOperationItem(operation),
          rev: 0,
          [OPEN_OPERATIONS_INDEX.pk]: 'OPEN',
          [OPEN_OPERATIONS_INDEX.sk]: operation.operationId,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /**
   * Starts an operation on an existing tenant: the lifecycle must allow it, no other operation may
   * be in flight, and (when given) the version must match. Tenant state, operation and audit events
   * are written in one transaction.
   */
  async startOperation(
    tenantIdOrSlug: string,
    type: Exclude<OperationType, 'onboard'>,
    op: OperationRequest,
  ): Promise<{ tenant: Tenant; operation: Operation }> {
    const current = await this.requireTenant(tenantIdOrSlug);
    if (current.currentOperationId) {
      throw new ControlPlaneError(
        'OPERATION_IN_PROGRESS',
        `tenant ${current.tenantId} has operation ${current.currentOperationId} in flight; wait for it to finish`,
        {
          details: { operationId: current.currentOperationId },
        },
      );
    }
    // The lifecycle's refusal and an operation in flight say more than a stale version, so they go first.
    startState(type, current.state);
    if (op.expectedVersion !== undefined && op.expectedVersion !== current.version) {
      throw new ControlPlaneError(
        'VERSION_CONFLICT',
        `tenant ${current.tenantId} is at version ${current.version}, not ${op.expectedVersion}`,
      );
    }
    const during = startState(type, current.state);
    const at = this.now();
    const operation = this.newOperation(newOperationId(), current.tenantId, type, op, at);
    const next: Tenant = {
      ...current,
      state: during,
      currentOperationId: operation.operationId,
      version: current.version + 1,
      updatedAt: at,
    };
    try {
      await this.writeTenant(
        current,
        next,
        [
          this.operationPut(operation),
          this.eventPut({
            tenantId: current.tenantId,
            actor: op.actor,
            action: 'state.changed',
            operationId: operation.operationId,
            from: current.state,
            to: during,
            at,
          }),
          this.eventPut({
            tenantId: current.tenantId,
            actor: op.actor,
            action: 'operation.started',
            operationId: operation.operationId,
            at,
            detail: { type, ...(op.input ?? {}) },
          }),
        ],
        { expression: 'attribute_not_exists(currentOperationId)' },
      );
    } catch (e) {
      if (e instanceof ControlPlaneError && e.code === 'VERSION_CONFLICT') {
        // Lost a race: say why in the terms the caller cares about.
        const now = await this.requireTenant(current.tenantId);
        if (now.currentOperationId) {
          throw new ControlPlaneError(
            'OPERATION_IN_PROGRESS',
            `tenant ${now.tenantId} has operation ${now.currentOperationId} in flight; wait for it to finish`,
            {
              details: { operationId: now.currentOperationId },
            },
          );
        }
      }
      throw e;
    }
    return { tenant: next, operation };
  }

  /** The tenant and one of its operations in one BatchGetItem (what every workflow step reads). */
  async getScope(tenantId: string, operationId: string): Promise<{ tenant: Tenant; operation: Operation }> {
    let keys: Record<string, unknown>[] = [
      { pk: tenantPk(tenantId), sk: TENANT_SK },
      { pk: opPk(operationId), sk: OP_SK },
    ];
    const items: Record<string, unknown>[] = [];
    for (let attempt = 0; keys.length > 0; attempt++) {
      const out = await this.db.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      items.push(...((out.Responses?.[this.tableName] ?? []) as Record<string, unknown>[]));
      keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      if (keys.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
    }
    const tenantItem = items.find((i) => i.sk === TENANT_SK);
    const opItem = items.find((i) => i.sk === OP_SK);
    if (!tenantItem)
      throw new ControlPlaneError('TENANT_NOT_FOUND', `no tenant with id or slug "${tenantId}"`);
    if (!opItem) throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation with id "${operationId}"`);
    return { tenant: TenantSchema.parse(stripKeys(tenantItem)), operation: fromOperationItem(opItem) };
  }

  async getOperation(operationId: string): Promise<Operation | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: opPk(operationId), sk: OP_SK } }),
    );
    return out.Item ? fromOperationItem(out.Item) : undefined;
  }

  async requireOperation(operationId: string): Promise<Operation> {
    const op = await this.getOperation(operationId);
    if (!op) throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation with id "${operationId}"`);
    return op;
  }

  /**
   * Updates an operation's progress (steps, status RUNNING, waitingFor). Read-modify-write on the
   * operation's revision, retried on a lost race, so concurrent step writers never drop a step.
   */
  async updateOperation(
    operationId: string,
    change: (
      op: Operation,
    ) => Partial<Pick<Operation, 'status' | 'waitingFor' | 'waitingSince' | 'callback'>>,
  ): Promise<Operation> {
    for (let attempt = 0; ; attempt++) {
      const out = await this.db.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: opPk(operationId), sk: OP_SK },
          ConsistentRead: true,
        }),
      );
      if (!out.Item)
        throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation with id "${operationId}"`);
      const rev = Number(out.Item.rev ?? 0);
      const current = fromOperationItem(out.Item);
      const patch = change(current);
      const next: Operation = { ...current, ...patch, updatedAt: this.now() };
      if ('waitingFor' in patch && patch.waitingFor === undefined) {
        delete next.waitingFor;
        delete next.waitingSince;
      }
      const names: Record<string, string> = { '#u': 'updatedAt' };
      const values: Record<string, unknown> = { ':u': next.updatedAt, ':rev': rev, ':next': rev + 1 };
      const sets = ['#u = :u', 'rev = :next'];
      const removes: string[] = [];
      for (const key of ['status', 'waitingFor', 'waitingSince', 'callback'] as const) {
        if (!(key in patch) && !(key === 'waitingSince' && 'waitingFor' in patch)) continue;
        names[`#${key}`] = key;
        if (next[key] === undefined) removes.push(`#${key}`);
        else {
          sets.push(`#${key} = :${key}`);
          values[`:${key}`] = next[key];
        }
      }
      try {
        // Only the changed attributes: step records written meanwhile are never overwritten.
        await this.db.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: opPk(operationId), sk: OP_SK },
            UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
            ConditionExpression: 'rev = :rev',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        );
        return next;
      } catch (e) {
        if ((e as Error).name !== 'ConditionalCheckFailedException' || attempt >= 20) throw e;
      }
    }
  }

  /**
   * The UpdateItem that writes one step of an operation (no read). `mode`:
   * - `start`: the step begins (kept as is if already there, e.g. a poll's later calls);
   * - `detail`: a running step's latest detail;
   * - `end`: a recorded step's status, end time, detail and error, keeping its start and order;
   * - `put`: the whole step (a quick step written once when it ended, or a failure).
   * Conditioned on the operation still being open, so a late writer cannot reopen it.
   */
  private stepUpdate(operationId: string, step: Step, mode: 'start' | 'detail' | 'end' | 'put') {
    const names: Record<string, string> = {
      '#m': 'stepMap',
      '#n': step.name,
      '#st': 'status',
      '#u': 'updatedAt',
    };
    const values: Record<string, unknown> = {
      ':u': this.now(),
      ':pending': 'PENDING',
      ':running': 'RUNNING',
    };
    const sets: string[] = [];
    const setField = (field: keyof Step, value: unknown) => {
      names[`#f_${field}`] = field;
      values[`:f_${field}`] = value;
      sets.push(`#m.#n.#f_${field} = :f_${field}`);
    };
    if (mode === 'detail') setField('detail', step.detail ?? '');
    else if (mode === 'end') {
      setField('status', step.status);
      if (step.endedAt) setField('endedAt', step.endedAt);
      if (step.detail) setField('detail', step.detail);
      if (step.error) setField('error', step.error);
    } else {
      values[':s'] = { ...step, seq: nextStepSeq() };
      sets.push('#m.#n = :s');
    }
    // `start` keeps a step already there (a poll's later calls, a resumed step): a condition rather
    // than if_not_exists on the nested path, which moto ignores.
    const exists =
      mode === 'detail' || mode === 'end'
        ? ' AND attribute_exists(#m.#n)'
        : mode === 'start'
          ? ' AND attribute_not_exists(#m.#n)'
          : '';
    return {
      TableName: this.tableName,
      Key: { pk: opPk(operationId), sk: OP_SK },
      UpdateExpression: `SET ${sets.join(', ')}, #st = :running, #u = :u`,
      ConditionExpression: `#st IN (:pending, :running)${exists}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /** Writes one step in a single UpdateItem (see stepUpdate); false when its condition did not hold. */
  async recordStep(
    operationId: string,
    step: Step,
    mode: 'start' | 'detail' | 'end' | 'put',
  ): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand(this.stepUpdate(operationId, step, mode)));
      return true;
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      return false;
    }
  }

  /** Marks a step started (or restarted after a crash). */
  async stepStarted(operationId: string, name: string, detail?: string): Promise<void> {
    await this.recordStep(
      operationId,
      { name, status: 'RUNNING', startedAt: this.now(), ...(detail ? { detail } : {}) },
      'put',
    );
  }

  /**
   * Marks a step ended. With `startedAt` (a quick step) the whole step is written; without, the
   * recorded step is closed in place, keeping its start (one write, no read).
   */
  async stepEnded(
    operationId: string,
    name: string,
    status: Step['status'],
    error?: ErrorInfo,
    detail?: string,
    startedAt?: string,
  ): Promise<void> {
    const at = this.now();
    const step: Step = {
      name,
      status,
      startedAt: startedAt ?? at,
      endedAt: at,
      ...(error ? { error } : {}),
      ...(detail ? { detail } : {}),
    };
    if (startedAt) {
      await this.recordStep(operationId, step, 'put');
      return;
    }
    // Not recorded as started (only if its start write was lost): written whole, started now.
    if (!(await this.recordStep(operationId, step, 'end'))) await this.recordStep(operationId, step, 'put');
  }

  /**
   * Ends an operation: operation status, the tenant's end state, its lastError and the audit events,
   * in one transaction conditioned on the operation still owning the tenant.
   */
  async finishOperation(args: {
    operationId: string;
    outcome: 'succeeded' | 'rolled-back' | 'failed';
    error?: ErrorInfo;
    patch?: TenantPatch;
    actor?: string;
    /** What the caller read already (saves two reads). */
    scope?: { tenant: Tenant; operation: Operation };
    /** The step finishing the operation, recorded in the same write. */
    step?: { name: string; startedAt: string };
  }): Promise<{ tenant: Tenant; operation: Operation }> {
    const operation = args.scope?.operation ?? (await this.requireOperation(args.operationId));
    const current = args.scope?.tenant ?? (await this.requireTenant(operation.tenantId));
    if (operation.status === 'SUCCEEDED' || operation.status === 'FAILED')
      return { tenant: current, operation };
    if (current.currentOperationId !== operation.operationId) {
      throw new ControlPlaneError(
        'OPERATION_IN_PROGRESS',
        `tenant ${current.tenantId} is not owned by operation ${operation.operationId}`,
      );
    }
    const to = endState(operation.type, args.outcome);
    assertTransition(current.state, to);
    const at = this.now();
    const actor = args.actor ?? 'workflow';
    const next: Tenant = {
      ...current,
      ...(args.patch ?? {}),
      state: to,
      version: current.version + 1,
      updatedAt: at,
    };
    delete next.currentOperationId;
    if (args.error) next.lastError = args.error;
    else if (args.outcome === 'succeeded') delete next.lastError;
    const status = args.outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED';
    // Steps still open are closed here, with the finishing step, so no reader ever sees a finished
    // operation with a step still running.
    const steps: Step[] = operation.steps.map((s) =>
      s.status === 'RUNNING' ? { ...s, status: 'SUCCEEDED' as const, endedAt: at } : s,
    );
    if (args.step && !steps.some((s) => s.name === args.step!.name)) {
      steps.push({ name: args.step.name, status: 'SUCCEEDED', startedAt: args.step.startedAt, endedAt: at });
    }
    const ended: Operation = {
      ...operation,
      steps,
      status,
      updatedAt: at,
      endedAt: at,
      ...(args.error ? { error: args.error } : {}),
    };
    delete ended.waitingFor;
    delete ended.waitingSince;
    await this.writeTenant(
      current,
      next,
      [
        {
          Put: {
            TableName: this.tableName,
            // Dropping the open-index keys takes the operation out of the resume list; rev moves
            // forward, never back to a value a concurrent writer may hold.
            Item: { ...toOperationItem(ended), rev: Date.now() },
          },
        },
        this.eventPut({
          tenantId: current.tenantId,
          actor,
          action: 'state.changed',
          operationId: operation.operationId,
          from: current.state,
          to,
          at,
        }),
        this.eventPut({
          tenantId: current.tenantId,
          actor,
          action: status === 'SUCCEEDED' ? 'operation.succeeded' : 'operation.failed',
          operationId: operation.operationId,
          at,
          detail: { type: operation.type, ...(args.error ? { error: args.error } : {}) },
        }),
      ],
      { expression: 'currentOperationId = :op', values: { ':op': operation.operationId } },
    );
    return { tenant: next, operation: ended };
  }

  /** Operations not yet finished (PENDING or RUNNING), oldest first: what a restart resumes. */
  async listOpenOperations(): Promise<Operation[]> {
    const items: Operation[] = [];
    let after: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: OPEN_OPERATIONS_INDEX.name,
          KeyConditionExpression: '#pk = :open',
          ExpressionAttributeNames: { '#pk': OPEN_OPERATIONS_INDEX.pk },
          ExpressionAttributeValues: { ':open': 'OPEN' },
          ...(after ? { ExclusiveStartKey: after } : {}),
        }),
      );
      for (const item of out.Items ?? []) items.push(fromOperationItem(item));
      after = out.LastEvaluatedKey;
    } while (after);
    return items;
  }

  // ---------------------------------------------------------------- audit trail

  async listEvents(
    tenantId: string,
    query: { limit?: number; cursor?: string } = {},
  ): Promise<Page<AuditEvent>> {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 500);
    let start: Record<string, unknown> | undefined;
    if (query.cursor) {
      const sk = Buffer.from(query.cursor, 'base64url').toString('utf8');
      if (!/^EVENT#[0-9A-Z]{26}$/.test(sk)) {
        throw new ControlPlaneError('VALIDATION_FAILED', 'cursor is not one this API returned', {
          details: [{ path: 'cursor', message: 'an opaque cursor from nextCursor' }],
        });
      }
      start = { pk: tenantPk(tenantId), sk };
    }
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
        ExpressionAttributeValues: { ':pk': tenantPk(tenantId), ':e': 'EVENT#' },
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (out.Items ?? []).map((i) => AuditEventSchema.parse(stripKeys(i)));
    const last = out.LastEvaluatedKey?.sk;
    return { items, nextCursor: last ? Buffer.from(String(last)).toString('base64url') : undefined };
  }

  // ---------------------------------------------------------------- idempotency

  /**
   * Claims an idempotency key for a request (conditional put). The first caller gets `claimed`;
   * later callers with the same request get the stored response (`completed`) or `in-flight`; a
   * different request under the same key is IDEMPOTENCY_KEY_REUSED.
   */
  async claimIdempotencyKey(
    scope: string,
    key: string,
    request: unknown,
    ttlSeconds = 24 * 3600,
  ): Promise<IdempotencyClaim> {
    const hash = fingerprint(request);
    const pk = `IDEMP#${scope}#${key}`;
    const now = this.clock();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk,
            sk: '#IDEMP',
            kind: 'idempotency',
            requestHash: hash,
            status: 'in-flight',
            createdAt: now.toISOString(),
            expiresAt: Math.floor(now.getTime() / 1000) + ttlSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
        }),
      );
      return { status: 'claimed' };
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk: '#IDEMP' }, ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return this.claimIdempotencyKey(scope, key, request, ttlSeconds);
    if (item.requestHash !== hash) {
      throw new ControlPlaneError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key "${key}" was used before with a different request; use a new key for a new request`,
        {
          details: { key },
        },
      );
    }
    return item.status === 'completed'
      ? { status: 'completed', response: item.response }
      : { status: 'in-flight' };
  }

  async completeIdempotencyKey(scope: string, key: string, response: unknown): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `IDEMP#${scope}#${key}`, sk: '#IDEMP' },
        UpdateExpression: 'SET #s = :c, #r = :r',
        ExpressionAttributeNames: { '#s': 'status', '#r': 'response' },
        ExpressionAttributeValues: { ':c': 'completed', ':r': response },
      }),
    );
  }

  /** Forgets a claim whose request failed before writing anything, so a retry can run again. */
  async releaseIdempotencyKey(scope: string, key: string): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `IDEMP#${scope}#${key}`, sk: '#IDEMP' },
          UpdateExpression: 'SET expiresAt = :zero',
          ConditionExpression: '#s = :f',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':zero': 0, ':f': 'in-flight' },
        }),
      )
      .catch(() => undefined);
  }
}

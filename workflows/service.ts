import type { NewTenant } from '../core/registry/changes.js';
import type { IdempotencyLink } from '../core/registry/idempotency.js';
import type { Operation, Tenant } from '../core/registry/records.js';

/**
 * What the API (and the CLI through it) asks of the lifecycle: start an operation, answer a
 * callback. Each call validates against the tier catalog and the lifecycle, writes the registry
 * records (tenant, operation, audit event) and hands the operation to the workflow engine; it
 * returns as soon as the operation is recorded (the API answers 202).
 */
/**
 * An onboarding as the lifecycle service takes it: a new tenant's fields, with the slug derived
 * from the name and the region defaulted when absent (control-plane/schemas.ts OnboardInputSchema
 * is what the API validates; schemas.test.ts checks it fits this type).
 */
export type OnboardRequest = Omit<NewTenant, 'slug' | 'isolation' | 'region' | 'allowedPrincipals'> & {
  readonly slug?: NewTenant['slug'] | undefined;
  readonly region?: NewTenant['region'] | undefined;
  readonly allowedPrincipals?: NewTenant['allowedPrincipals'] | undefined;
};

export interface CallContext {
  /** Who asked: `key:<name>`, `jwt:<sub>`, `webhook:signup`. Goes into the audit trail. */
  readonly actor: string;
  readonly idempotencyKey?: string | undefined;
  /** The idempotency record the caller took: linked to the operation in its own transaction. */
  readonly idempotency?: IdempotencyLink | undefined;
}

export interface Started {
  readonly tenant: Tenant;
  readonly operation: Operation;
}

/** What PATCH /v1/tenants/{id} may change; at least one field (control-plane/schemas.ts UpdateTenantSchema). */
export interface TenantUpdate {
  readonly name?: string | undefined;
  readonly adminEmail?: string | undefined;
  readonly allowedPrincipals?: readonly string[] | undefined;
}

export interface CallbackAnswer {
  readonly status: 'succeeded' | 'failed';
  readonly reason?: string | undefined;
}

export interface LifecycleService {
  onboard(request: OnboardRequest, ctx: CallContext): Promise<Started>;
  changeTier(tenantIdOrSlug: string, tier: string, ctx: CallContext): Promise<Started>;
  suspend(tenantIdOrSlug: string, reason: string, ctx: CallContext): Promise<Started>;
  resume(tenantIdOrSlug: string, ctx: CallContext): Promise<Started>;
  offboard(tenantIdOrSlug: string, ctx: CallContext): Promise<Started>;
  /** Name, admin email, allowed principals: a recorded `update` operation (a stack update for a silo's principals). */
  update(tenantIdOrSlug: string, changes: TenantUpdate, ctx: CallContext): Promise<Started>;
  /** Runs an ACTIVE tenant's idempotent ensure steps again (a `repair` operation, docs/reconcile.md). */
  repair(tenantIdOrSlug: string, ctx: CallContext): Promise<Started>;
  /**
   * The operation once it has ended (SUCCEEDED or FAILED), with `since` as soon as its version
   * differs from it (a step started or ended), or as it stands after `timeoutMs`: long polling for
   * watchers. OPERATION_NOT_FOUND when there is no such operation.
   */
  awaitOperation(operationId: string, timeoutMs: number, since?: number): Promise<Operation>;
  /**
   * Runs a FAILED operation again (its next attempt), once its cause is fixed: the tenant re-enters
   * the operation's state and the workflow runs from the top, where every step is an idempotent
   * ensure, so what is done settles at once and the run picks up at the step that failed.
   */
  retry(operationId: string, ctx: CallContext): Promise<Started>;
  /**
   * Asks a running operation to stop: its next step fails with OPERATION_CANCELLED and its
   * compensation runs. Asking again answers the same; an ended, offboarding or past-cut-over
   * operation is OPERATION_NOT_CANCELLABLE.
   */
  cancel(operationId: string, ctx: CallContext): Promise<Operation>;
  /** Answers the step an operation waits on (migration hand-off); NOT_WAITING_FOR_CALLBACK otherwise. */
  callback(operationId: string, answer: CallbackAnswer, ctx: CallContext): Promise<Operation>;
}

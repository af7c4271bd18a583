import type { StackRef, Tenant } from '../registry/records.js';
import { classifyDrift, type DriftAnswer } from './drift.js';
import { type Finding, finding } from './findings.js';

/**
 * Per tenant: the registry's record against what AWS has, every difference classified
 * (./findings.ts). Pure: the adapter (workflows/reconcile) reads AWS into an `Observed`, this
 * decides what differs. What is compared depends on the tenant's state: an ACTIVE tenant's users and
 * key are enabled, a SUSPENDED tenant's disabled; a tenant with an operation in flight, or in a
 * state no operation has settled, is not compared (the finding says why).
 */

export interface LiveStack {
  readonly stackId: string;
  readonly status: string;
  /** The stack's TemplateVersion tag. */
  readonly templateVersion?: string | undefined;
  readonly parameters: Readonly<Record<string, string>>;
}

export interface ObservedStack {
  readonly ref: StackRef;
  /** Undefined: CloudFormation has no such stack (or only a DELETE_COMPLETE one). */
  readonly live?: LiveStack | undefined;
  /** The parameters the registry's record implies (its tier, its slug, …), to compare with the live ones. */
  readonly expectedParameters?: Readonly<Record<string, string>> | undefined;
  readonly drift?: DriftAnswer | undefined;
}

export interface Observed {
  readonly stacks: readonly ObservedStack[];
  /** Whether the tenant's Cognito group exists. */
  readonly group: boolean;
  readonly users: readonly { readonly username: string; readonly enabled: boolean }[];
  /** The tenant's API key; null: none found. */
  readonly apiKey: {
    readonly id: string;
    readonly enabled: boolean;
    readonly usagePlanIds: readonly string[];
  } | null;
  /** The usage plan of the tenant's tier. */
  readonly expectedUsagePlanId?: string | undefined;
  /** The dedicated account (tenants with one): its Organizations status; null: not found. */
  readonly account?: { readonly status: string } | null | undefined;
}

/** Stack statuses a settled, serving stack may have. */
const SERVING = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
/** Parameters compared elsewhere (version skew) or never answered in clear (NoEcho). */
const NOT_COMPARED = new Set(['TemplateVersion']);
const MASKED = '****';

/**
 * A list parameter as CloudFormation answers it: `a,b`. moto answers the Python text of the list
 * (`['a', 'b']`); both read the same here, so an emulator's spelling is no drift.
 */
export function parameterValue(v: string | undefined): string | undefined {
  if (v === undefined || !/^\[.*\]$/s.test(v)) return v;
  return v
    .slice(1, -1)
    .split(',')
    .map((x) => x.trim().replace(/^'(.*)'$/, '$1'))
    .join(',');
}

/** States whose AWS side the reconciler knows what to expect of. */
export const COMPARED_STATES = ['ACTIVE', 'SUSPENDED'] as const;

/** Why a tenant is not compared, or undefined when it is. */
export function notComparedBecause(tenant: Tenant): string | undefined {
  if (tenant.currentOperationId) return `operation ${tenant.currentOperationId} is in flight`;
  if (!(COMPARED_STATES as readonly string[]).includes(tenant.state))
    return tenant.state === 'FAILED'
      ? 'the tenant is FAILED: retry its operation or offboard it'
      : `the tenant is ${tenant.state}`;
  return undefined;
}

export function classifyTenant(tenant: Tenant, observed: Observed, at: string): Finding[] {
  const out: Finding[] = [];
  const add = (f: Parameters<typeof finding>[0]) => out.push(finding(f, at));
  const active = tenant.state === 'ACTIVE';

  for (const { ref, live, expectedParameters, drift } of observed.stacks) {
    const where = ref.accountId ? ` in account ${ref.accountId}` : '';
    if (!live) {
      add({
        class: 'missing',
        resource: 'stack',
        ref: ref.stackName,
        message: `the ${ref.role} stack ${ref.stackName}${where} is recorded but CloudFormation has no such stack`,
        expected: ref.status,
        actual: 'absent',
        repairable: ref.role === 'current',
      });
      continue;
    }
    if (!SERVING.has(live.status))
      add({
        class: 'state-mismatch',
        resource: 'stack',
        ref: ref.stackName,
        severity:
          /FAILED|ROLLBACK_COMPLETE$/.test(live.status) && !live.status.startsWith('UPDATE_')
            ? 'error'
            : 'warning',
        message: `stack ${ref.stackName}${where} is ${live.status}, not settled and serving`,
        expected: 'CREATE_COMPLETE or UPDATE_COMPLETE',
        actual: live.status,
        repairable: ref.role === 'current',
      });
    else if (live.status !== ref.status)
      add({
        class: 'state-mismatch',
        resource: 'stack',
        ref: ref.stackName,
        message: `the registry records stack ${ref.stackName} as ${ref.status}, CloudFormation says ${live.status}`,
        expected: ref.status,
        actual: live.status,
        repairable: ref.role === 'current',
      });
    if (live.templateVersion !== undefined && live.templateVersion !== ref.templateVersion)
      add({
        class: 'version-skew',
        resource: 'stack',
        ref: ref.stackName,
        message: `stack ${ref.stackName} runs template version ${live.templateVersion}, the registry records ${ref.templateVersion}`,
        expected: ref.templateVersion,
        actual: live.templateVersion,
        repairable: ref.role === 'current',
      });
    if (expectedParameters) {
      const differ = Object.entries(expectedParameters).filter(
        ([k, v]) =>
          !NOT_COMPARED.has(k) && live.parameters[k] !== MASKED && parameterValue(live.parameters[k]) !== v,
      );
      if (differ.length)
        add({
          class: 'state-mismatch',
          resource: 'parameters',
          ref: ref.stackName,
          message: `stack ${ref.stackName} runs with other parameters than its record implies: ${differ.map(([k]) => k).join(', ')}`,
          expected: differ.map(([k, v]) => `${k}=${v}`).join(', '),
          actual: differ.map(([k]) => `${k}=${live.parameters[k] ?? '(absent)'}`).join(', '),
          repairable: ref.role === 'current',
        });
    }
    if (drift) out.push(...classifyDrift(ref.stackName, drift, at));
  }

  const group = tenant.access.groupName ?? `tenant-${tenant.tenantId}`;
  if (!observed.group)
    add({
      class: 'missing',
      resource: 'group',
      ref: group,
      message: `the Cognito group ${group} does not exist`,
      repairable: true,
    });
  const admin = tenant.access.adminUsername;
  if (admin && !observed.users.some((u) => u.username === admin))
    add({
      class: 'missing',
      resource: 'user',
      ref: admin,
      message: `the admin user ${admin} is not in the tenant's group`,
      repairable: true,
    });
  for (const user of observed.users) {
    if (user.enabled === active) continue;
    add({
      class: 'state-mismatch',
      resource: 'user',
      ref: user.username,
      severity: 'error',
      message: active
        ? `user ${user.username} is disabled, but the tenant is ACTIVE: it cannot sign in`
        : `user ${user.username} is enabled, but the tenant is SUSPENDED: it can still sign in`,
      expected: active ? 'enabled' : 'disabled',
      actual: user.enabled ? 'enabled' : 'disabled',
      repairable: true,
    });
  }

  const key = observed.apiKey;
  if (!key)
    add({
      class: 'missing',
      resource: 'api-key',
      ref: tenant.access.apiKeyId ?? `(no key) ${tenant.tenantId}`,
      message: `the tenant's API key ${tenant.access.apiKeyId ?? ''} does not exist in API Gateway`.replace(
        '  ',
        ' ',
      ),
      expected: 'exists',
      actual: 'absent',
      repairable: true,
    });
  else {
    if (key.enabled !== active)
      add({
        class: 'state-mismatch',
        resource: 'api-key',
        ref: key.id,
        severity: 'error',
        message: active
          ? `API key ${key.id} is disabled, but the tenant is ACTIVE`
          : `API key ${key.id} is enabled, but the tenant is SUSPENDED`,
        expected: active ? 'enabled' : 'disabled',
        actual: key.enabled ? 'enabled' : 'disabled',
        repairable: true,
      });
    const plan = observed.expectedUsagePlanId;
    if (plan && (!key.usagePlanIds.includes(plan) || key.usagePlanIds.length > 1))
      add({
        class: 'state-mismatch',
        resource: 'usage-plan',
        ref: key.id,
        message: `API key ${key.id} is in usage plans [${key.usagePlanIds.join(', ')}], not only in its tier's ${plan}`,
        expected: plan,
        actual: key.usagePlanIds.join(', ') || '(none)',
        repairable: true,
      });
  }

  if (tenant.accountId && !tenant.accountClosedAt && observed.account !== undefined) {
    const status = observed.account?.status;
    if (status !== 'ACTIVE')
      add({
        class: observed.account ? 'state-mismatch' : 'missing',
        resource: 'account',
        ref: tenant.accountId,
        severity: 'error',
        message: `the tenant's dedicated account ${tenant.accountId} is ${status ?? 'not found in the organization'}`,
        expected: 'ACTIVE',
        actual: status ?? 'absent',
        repairable: false,
      });
  }
  return out;
}

/** A CloudFormation stack carrying a TenantId tag, as the orphan search lists it. */
export interface TaggedStack {
  readonly stackName: string;
  readonly stackId: string;
  readonly status: string;
  readonly tenantId: string;
  readonly accountId?: string | undefined;
  readonly region: string;
}

/**
 * Stacks tagged with a TenantId whose tenant does not exist or is OFFBOARDED, or that the tenant's
 * record does not list (left by something outside the control plane). Reported, never deleted here.
 * Tenants with an operation in flight are left out: their record may be one step behind.
 */
export function classifyOrphans(
  stacks: readonly TaggedStack[],
  tenants: ReadonlyMap<string, Tenant | undefined>,
  at: string,
): (Finding & { readonly tenantId: string; readonly stackId: string })[] {
  const out: (Finding & { tenantId: string; stackId: string })[] = [];
  for (const s of stacks) {
    const tenant = tenants.get(s.tenantId);
    let why: string | undefined;
    if (!tenant) why = `tagged TenantId ${s.tenantId}, a tenant the registry does not have`;
    else if (tenant.state === 'OFFBOARDED')
      why = `tagged TenantId ${s.tenantId}, a tenant OFFBOARDED at ${tenant.offboardedAt ?? '?'}`;
    else if (
      !tenant.currentOperationId &&
      !tenant.stacks.some(
        (r) =>
          r.arn === s.stackId ||
          (r.stackName === s.stackName &&
            (r.accountId ?? '') === (s.accountId ?? '') &&
            (!r.region || r.region === s.region)),
      )
    )
      why = `tagged TenantId ${s.tenantId}, but not in that tenant's record`;
    if (!why) continue;
    const f = finding(
      {
        class: 'orphan',
        resource: 'stack',
        ref: s.stackId,
        message: `stack ${s.stackName} (${s.status})${s.accountId ? ` in account ${s.accountId}` : ''} is ${why}`,
        repairable: false,
      },
      at,
    );
    out.push({ ...f, tenantId: s.tenantId, stackId: s.stackId });
  }
  return out;
}

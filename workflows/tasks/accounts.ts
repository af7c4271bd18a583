import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  DescribeCreateAccountStatusCommand,
  ListAccountsCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  MoveAccountCommand,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { AwsClients } from '../../core/aws/clients.js';
import { ControlPlaneError } from '../../core/errors.js';
import type { Tenant } from '../../core/registry/records.js';
import { type HandlerOf, loadScope, type PollResult, type TaskDeps, tierFor } from './context.js';

/**
 * Dedicated AWS accounts for tenants whose tier asks for one, vended through Organizations.
 * Organizations allows 5 account creations in flight: a registry lease (capacity 5, FIFO) gates
 * them across every workflow and control-plane instance.
 */

export const ACCOUNT_GATE = 'account-vending';
export const CLOSED_OU = 'closed';

export function accountEmail(pattern: string, tenant: Tenant): string {
  return pattern.replace('{slug}', tenant.slug);
}

async function rootId(deps: TaskDeps): Promise<string> {
  const out = await deps.clients.organizations.send(new ListRootsCommand({})).catch(async (e) => {
    // A fresh emulator has no organization; on AWS the management account has one already.
    if ((e as Error).name !== 'AWSOrganizationsNotInUseException' || deps.target !== 'moto') throw e;
    await deps.clients.organizations
      .send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }))
      .catch((err) => {
        if ((err as Error).name !== 'AlreadyInOrganizationException') throw err;
      });
    return deps.clients.organizations.send(new ListRootsCommand({}));
  });
  const root = out.Roots?.[0]?.Id;
  if (!root)
    throw new ControlPlaneError(
      'ACCOUNT_CREATION_FAILED',
      'the organization has no root; is this the management account?',
    );
  return root;
}

/** The OU at `path` (e.g. `tenants/silo`), created level by level when missing. */
export async function ensureOuPath(deps: TaskDeps, path: string): Promise<string> {
  let parent = await rootId(deps);
  for (const name of path.split('/').filter(Boolean)) {
    let found: string | undefined;
    let token: string | undefined;
    do {
      const out = await deps.clients.organizations.send(
        new ListOrganizationalUnitsForParentCommand({ ParentId: parent, NextToken: token }),
      );
      found = out.OrganizationalUnits?.find((ou) => ou.Name === name)?.Id;
      token = found ? undefined : out.NextToken;
    } while (token);
    if (!found) {
      try {
        found = (
          await deps.clients.organizations.send(
            new CreateOrganizationalUnitCommand({ ParentId: parent, Name: name }),
          )
        ).OrganizationalUnit?.Id;
      } catch (e) {
        if ((e as Error).name !== 'DuplicateOrganizationalUnitException') throw e;
        return ensureOuPath(deps, path);
      }
    }
    parent = found!;
  }
  return parent;
}

async function moveInto(deps: TaskDeps, accountId: string, ouId: string): Promise<void> {
  const parents = await deps.clients.organizations.send(new ListParentsCommand({ ChildId: accountId }));
  const current = parents.Parents?.[0]?.Id;
  if (!current || current === ouId) return;
  await deps.clients.organizations.send(
    new MoveAccountCommand({ AccountId: accountId, SourceParentId: current, DestinationParentId: ouId }),
  );
}

async function findAccountByEmail(deps: TaskDeps, email: string): Promise<string | undefined> {
  let token: string | undefined;
  do {
    const out = await deps.clients.organizations.send(new ListAccountsCommand({ NextToken: token }));
    const hit = out.Accounts?.find(
      (a) => a.Email === email && a.Status !== 'SUSPENDED' && a.Status !== 'PENDING_CLOSURE',
    );
    if (hit?.Id) return hit.Id;
    token = out.NextToken;
  } while (token);
  return undefined;
}

/**
 * VendAccount: CreateAccount → wait for it → move it into the tenants OU → record its id. Waits
 * for one of the 5 account slots first ("waiting for account slot"). Idempotent: the request id is
 * recorded before waiting, and an account created by a crashed attempt is found by its email.
 */
export const vendAccount: HandlerOf<'VendAccount'> = async (input, deps): Promise<PollResult> => {
  const scope = await loadScope(deps, input);
  const { operation } = scope;
  let tenant = scope.tenant;
  // A closed account (the tenant left a dedicated tier before) is never reused: vend a new one.
  const closed = Boolean(tenant.accountClosedAt);
  if (tenant.accountId && !closed) return { done: true, detail: `account ${tenant.accountId}` };
  const holder = operation.operationId;
  let requestId = closed ? undefined : tenant.accountRequestId;
  if (!requestId) {
    const slot = await deps.accountGate.acquire(holder, operation.createdAt);
    if (!slot.acquired) return { done: false, detail: 'waiting for account slot' };
    const email = accountEmail(deps.accounts.emailPattern, tenant);
    // The OU first: it also proves this is an organization's management account before anything is made.
    await ensureOuPath(deps, deps.accounts.ouPath);
    const out = await deps.clients.organizations.send(
      new CreateAccountCommand({
        Email: email,
        AccountName: `${deps.prefix}-${tenant.slug}`,
        RoleName: deps.accounts.roleName,
        IamUserAccessToBilling: 'DENY',
        Tags: [
          { Key: 'TenantId', Value: tenant.tenantId },
          { Key: 'Tier', Value: tierFor(deps, scope, input.args.which).name },
        ],
      }),
    );
    requestId = out.CreateAccountStatus?.Id;
    if (!requestId)
      throw new ControlPlaneError('ACCOUNT_CREATION_FAILED', 'CreateAccount returned no request id');
    tenant = await deps.registry.patchTenant(tenant, operation.operationId, {
      accountRequestId: requestId,
      accountId: undefined,
      accountClosedAt: undefined,
    });
  }
  const status = (
    await deps.clients.organizations.send(
      new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: requestId }),
    )
  ).CreateAccountStatus;
  if (status?.State === 'IN_PROGRESS') return { done: false, detail: 'creating the tenant account' };
  let accountId = status?.AccountId;
  if (status?.State === 'FAILED') {
    const email = accountEmail(deps.accounts.emailPattern, tenant);
    // A crash after CreateAccount but before its id was recorded: the retry collides with our own account.
    accountId =
      status.FailureReason === 'EMAIL_ALREADY_EXISTS' && tenant.accountRequestId === undefined
        ? await findAccountByEmail(deps, email)
        : undefined;
    if (!accountId) {
      await deps.accountGate.release(holder);
      throw new ControlPlaneError(
        'ACCOUNT_CREATION_FAILED',
        `Organizations could not create the account for ${email}: ${status.FailureReason ?? 'no reason given'}`,
      );
    }
  }
  if (!accountId) return { done: false, detail: 'creating the tenant account' };
  await moveInto(deps, accountId, await ensureOuPath(deps, deps.accounts.ouPath));
  await deps.registry.patchTenant(tenant, operation.operationId, { accountId });
  await deps.accountGate.release(holder);
  return { done: true, detail: `account ${accountId}` };
};

/**
 * CloseAccount: close the tenant's dedicated account (offboarding, or compensation of an onboarding
 * that created it) and park it in the `closed` OU. The record keeps the account id for audit.
 */
export const closeAccount: HandlerOf<'CloseAccount'> = async (input, deps) => {
  const { tenant, operation } = await loadScope(deps, input);
  await deps.accountGate.release(operation.operationId);
  if (!tenant.accountId || tenant.accountClosedAt) return { closed: tenant.accountId ?? null };
  await moveInto(deps, tenant.accountId, await ensureOuPath(deps, CLOSED_OU));
  await deps.clients.organizations
    .send(new CloseAccountCommand({ AccountId: tenant.accountId }))
    .catch((e) => {
      if (!/AccountAlreadyClosed/.test((e as Error).name)) throw e;
    });
  await deps.registry.patchTenant(tenant, operation.operationId, {
    accountClosedAt: deps.clock().toISOString(),
  });
  return { closed: tenant.accountId };
};

const sessions = new WeakMap<AwsClients, Map<string, { clients: AwsClients; expires: number }>>();

/**
 * SDK clients acting in the tenant's account (STS AssumeRole into the vended account's role), or
 * the control plane's own for tenants without one. Sessions are reused until 5 minutes before expiry.
 */
export async function clientsFor(
  deps: TaskDeps,
  tenant: Pick<Tenant, 'accountId' | 'tenantId'>,
): Promise<AwsClients> {
  if (!tenant.accountId) return deps.clients;
  let cache = sessions.get(deps.clients);
  if (!cache) {
    cache = new Map();
    sessions.set(deps.clients, cache);
  }
  const hit = cache.get(tenant.accountId);
  if (hit && hit.expires - 5 * 60_000 > Date.now()) return hit.clients;
  const out = await deps.clients.sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${tenant.accountId}:role/${deps.accounts.roleName}`,
      RoleSessionName: `tcp-${tenant.tenantId}`.slice(0, 64),
      DurationSeconds: 3600,
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey)
    throw new ControlPlaneError('AWS_ERROR', `AssumeRole into ${tenant.accountId} returned no credentials`);
  const clients = deps.clients.withCredentials({
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
  });
  cache.set(tenant.accountId, { clients, expires: c.Expiration?.getTime() ?? Date.now() + 3600_000 });
  return clients;
}

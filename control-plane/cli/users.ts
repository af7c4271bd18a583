import type { z } from 'zod';
import type { TenantCredentialsSchema, TenantUserSchema } from '../routes/tenant-users.js';
import { type ParsedCommand, str, UsageError } from './args.js';
import type { CommandEnv } from './commands.js';
import { table } from './render.js';

/**
 * `tenantctl users add|list|disable <tenant>` (the tenant's users: /v1/tenants/{id}/users) and
 * `tenantctl credentials <tenant>` (POST /v1/tenants/{id}/credentials).
 */

type TenantUser = z.output<typeof TenantUserSchema>;
type Credentials = z.output<typeof TenantCredentialsSchema>;

const base = (tenant: string) => `/v1/tenants/${encodeURIComponent(tenant)}`;

export function renderUsers(users: readonly TenantUser[]): string {
  if (users.length === 0) return 'no users\n';
  return table(
    ['USERNAME', 'EMAIL', 'ENABLED', 'STATUS', 'CREATED'],
    users.map((u) => [u.username, u.email, u.enabled ? 'yes' : 'no', u.status, u.createdAt ?? '-']),
  );
}

export async function usersCommand(
  env: CommandEnv,
  { positionals, options }: ParsedCommand,
): Promise<number> {
  const [action, tenant] = positionals as [string, string];
  const print = (value: unknown, text: string) =>
    env.stdout.write(env.json ? `${JSON.stringify(value, null, 2)}\n` : text);
  if (action === 'list') {
    const { items } = await env.client.request<{ items: TenantUser[] }>('GET', `${base(tenant)}/users`);
    print(items, renderUsers(items));
    return 0;
  }
  if (action === 'add') {
    const email = str(options.email);
    if (!email) throw new UsageError('users add needs --email');
    const user = await env.client.request<TenantUser>('POST', `${base(tenant)}/users`, {
      body: { email },
      idempotencyKey: str(options['idempotency-key']),
    });
    print(
      user,
      `added ${user.username} to ${tenant} (${user.status}; Cognito emails a temporary password)\n`,
    );
    return 0;
  }
  if (action === 'disable') {
    const username = str(options.user);
    if (!username) throw new UsageError('users disable needs --user <username>');
    const user = await env.client.request<TenantUser>(
      'POST',
      `${base(tenant)}/users/${encodeURIComponent(username)}/disable`,
    );
    print(user, `disabled ${user.username} of ${tenant} and signed it out everywhere\n`);
    return 0;
  }
  throw new UsageError(`users takes add, list or disable; got ${JSON.stringify(action)}`);
}

export async function credentialsCommand(
  env: CommandEnv,
  { positionals: [tenant] }: ParsedCommand,
): Promise<number> {
  const c = await env.client.request<Credentials>('POST', `${base(tenant!)}/credentials`);
  // The shell form is what a back-office job evaluates: eval "$(tenantctl credentials acme)".
  env.stdout.write(
    env.json
      ? `${JSON.stringify(c, null, 2)}\n`
      : [
          `# ${c.tenantId} via ${c.via} ${c.roleArn} (session ${c.sessionName}), expires ${c.expiration}`,
          `export AWS_ACCESS_KEY_ID=${c.accessKeyId}`,
          `export AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`,
          `export AWS_SESSION_TOKEN=${c.sessionToken}`,
          // The tenant's resources are in its region: the job's SDK calls go there.
          ...(c.region ? [`export AWS_REGION=${c.region}`] : []),
          '',
        ].join('\n'),
  );
  return 0;
}

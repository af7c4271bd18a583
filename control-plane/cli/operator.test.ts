import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { startListeningTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { runCaptured } from '../../test/support/cli.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { parseCommandLine, UsageError, usage } from './args.js';
import { renderTenant, renderTiers } from './render.js';

/** The operator's tenantctl commands against a running API (registry-only lifecycle). */

let t: TestApp;
let url: string;

beforeAll(async () => {
  ({ t, url } = await startListeningTestApp());
});
afterAll(async () => t?.close());

async function cli(
  argv: string[],
  /** null: no key given (tenantctl looks for the local admin key). */
  key: string | null = t.adminKey,
  sleep: () => Promise<void> = async () => undefined,
  cwd?: string,
) {
  return runCaptured(argv, {
    env: key === null ? { TENANTCTL_URL: url } : { TENANTCTL_URL: url, TENANTCTL_KEY: key },
    sleep,
    ...(cwd ? { cwd } : {}),
  });
}

describe('tenantctl keys', () => {
  it('create prints the secret once; list, rotate, revoke and events', async () => {
    const created = await cli([
      'keys',
      'create',
      'ci-bot',
      '--scope',
      'tenants:read',
      '--scope',
      'tenants:write',
    ]);
    expect(created.code).toBe(0);
    const secret = /^ {4}(tcp_\S+)$/m.exec(created.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(created.stdout).toMatch(/^created API key ci-bot \(tenants:read, tenants:write\):/);

    const listed = await cli(['keys', 'list']);
    expect(listed.stdout.split('\n')[0]).toMatch(
      /^NAME\s+SCOPES\s+CREATED\s+LAST USED\s+PREVIOUS SECRET UNTIL$/,
    );
    expect(listed.stdout).toMatch(/\nci-bot\s+tenants:read,tenants:write\s+\S+\s+never\s+-\n/);
    expect(listed.stdout).not.toContain('tcp_');

    expect((await cli(['tiers', '--json'], secret)).code).toBe(0);
    const rotated = await cli(['keys', 'rotate', 'ci-bot', '--overlap', '0']);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('the previous secret no longer works');
    const fresh = /^ {4}(tcp_\S+)$/m.exec(rotated.stdout)?.[1];
    expect((await cli(['tiers'], secret)).stderr).toMatch(/^error: UNAUTHENTICATED/);
    expect((await cli(['tiers', '--json'], fresh)).code).toBe(0);

    const revoked = await cli(['keys', 'revoke', 'ci-bot']);
    expect(revoked.stdout).toBe('revoked API key ci-bot: it gets 401 from now on\n');
    expect((await cli(['tiers'], fresh)).code).toBe(1);

    const events = await cli(['keys', 'events']);
    expect(events.stdout.split('\n').slice(1, 4)).toEqual([
      expect.stringMatching(/^\S+\s+key:admin\s+revoked\s+ci-bot$/),
      expect.stringMatching(/^\S+\s+key:admin\s+rotated\s+ci-bot\s+previous secret revoked at once$/),
      expect.stringMatching(/^\S+\s+key:admin\s+created\s+ci-bot$/),
    ]);
    const gone = await cli(['keys', 'revoke', 'ci-bot']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: API_KEY_NOT_FOUND: /);
  });

  it('keys needs a subcommand, create needs --scope', async () => {
    const bare = await cli(['keys']);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(
      /^tenantctl: keys needs a subcommand: list, create, revoke, rotate, events\n/,
    );
    expect(() => parseCommandLine(['keys', 'create', 'x'])).toThrow(/keys create needs --scope/);
    expect(() => parseCommandLine(['keys', 'frob'])).toThrow(UsageError);
  });
});

describe('tenantctl migration complete|fail', () => {
  async function handOff(slug: string): Promise<Operation> {
    await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) });
    const tenant = await t.registry.requireTenant(slug);
    await t.registry.finishOperation({ operationId: tenant.currentOperationId!, outcome: 'succeeded' });
    const { operation } = (
      await t.call({ method: 'POST', url: `/v1/tenants/${slug}/tier`, payload: { tier: 'standard' } })
    ).json() as { operation: Operation };
    return t.registry.updateOperation(operation.operationId, () => ({
      waitingFor: 'callback',
      waitingSince: new Date().toISOString(),
    }));
  }

  it('complete answers the hand-off as succeeded, with a key that has only operations:callback', async () => {
    const op = await handOff('mig-done');
    const callbackOnly = await t.keyWith(['operations:callback']);
    const out = await cli(['migration', 'complete', op.operationId, '--reason', 'copied'], callbackOnly);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      `answered change-tier ${op.operationId}: migration succeeded; the operation is PENDING\nfollow it: tenantctl watch ${op.operationId}\n`,
    );
    expect((await t.registry.requireOperation(op.operationId)).waitingFor).toBeUndefined();
    const twice = await cli(['migration', 'complete', op.operationId]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^error: NOT_WAITING_FOR_CALLBACK: /);
  });

  it('fail answers it as failed: the change rolls back', async () => {
    const op = await handOff('mig-fail');
    const out = await cli(['migration', 'fail', op.operationId, '--reason', 'schema mismatch', '--json']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      operationId: op.operationId,
      status: 'FAILED',
      error: { code: 'MIGRATION_REJECTED', message: 'schema mismatch' },
    });
  });
});

describe('tenantctl update and onboard --allowed-principal', () => {
  it('onboard sends the principals; update sends only the fields given and follows with --wait', async () => {
    const principal = 'arn:aws:iam::123456789012:root';
    const onboarded = await cli([
      'onboard',
      '--name',
      'Silo Cli',
      '--tier',
      'enterprise',
      '--email',
      'a@silo-cli.example.com',
      '--slug',
      'silo-cli',
      '--allowed-principal',
      principal,
      '--json',
    ]);
    expect(onboarded.code, onboarded.stderr).toBe(0);
    expect(JSON.parse(onboarded.stdout).tenant.allowedPrincipals).toEqual([principal]);
    const tenant = await t.registry.requireTenant('silo-cli');
    await t.registry.finishOperation({ operationId: tenant.currentOperationId!, outcome: 'succeeded' });

    const second = 'arn:aws:iam::210987654321:role/consumer';
    const finish = async () => {
      const current = await t.registry.requireTenant('silo-cli');
      if (current.currentOperationId)
        await t.registry.finishOperation({ operationId: current.currentOperationId, outcome: 'succeeded' });
    };
    const updated = await cli(
      ['update', 'silo-cli', '--allowed-principal', principal, '--allowed-principal', second, '--wait'],
      t.adminKey,
      finish,
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/^update of silo-cli \(t_\w+\) accepted\n/);
    expect(updated.stdout).toMatch(/update op_\w+ SUCCEEDED/);
    const ops = await t.registry.listOperations({ tenantId: tenant.tenantId, type: 'update' });
    expect(ops.items[0]!.input).toEqual({ allowedPrincipals: [principal, second] });

    const nothing = await cli(['update', 'silo-cli']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(
      /^tenantctl: update needs at least one of --name, --email, --allowed-principal/,
    );
  });
});
describe('tenantctl ops', () => {
  it('lists operations newest first, per tenant, with case-insensitive filters', async () => {
    await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('ops-one') });
    const all = await cli(['ops']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^OPERATION\s+TYPE\s+STATUS\s+TENANT\s+CREATED\s+ENDED$/);
    expect(lines[1]).toMatch(/^op_\w+\s+onboard\s+PENDING\s+t_\w+\s+\S+\s+-$/);

    const tenant = await t.registry.requireTenant('ops-one');
    const mine = await cli([
      'ops',
      '--tenant',
      'ops-one',
      '--status',
      'pending',
      '--type',
      'ONBOARD',
      '--json',
    ]);
    expect(mine.code).toBe(0);
    const page = JSON.parse(mine.stdout) as { items: Operation[]; nextCursor: string | null };
    expect(page.items.map((o) => o.tenantId)).toEqual([tenant.tenantId]);
    expect(page.nextCursor).toBeNull();

    const paged = await cli(['ops', '--limit', '1']);
    expect(paged.stdout).toMatch(/\nmore: --cursor \S+\n$/);
    const none = await cli(['ops', '--tenant', 'ops-one', '--status', 'failed']);
    expect(none.stdout).toBe('no operations\n');
  });
});

describe('tenantctl polish', () => {
  it('prints VALIDATION_FAILED once, with each field below it', async () => {
    const out = await cli(['onboard', '--name', 'Bad', '--tier', 'basic', '--email', 'nope']);
    expect(out.code).toBe(1);
    expect(out.stderr.match(/VALIDATION_FAILED/g)).toHaveLength(1);
    expect(out.stderr.match(/adminEmail/g)).toHaveLength(1);
    expect(out.stderr).toMatch(
      /^error: VALIDATION_FAILED: invalid request\n {2}- body adminEmail: an email address/,
    );
  });

  it('refuses an unknown tier filter as onboard does; enums are case-insensitive', async () => {
    const gold = await cli(['list', '--tier', 'gold']);
    expect(gold.code).toBe(1);
    expect(gold.stderr).toMatch(/^error: UNKNOWN_TIER: unknown tier "gold"; the catalog has basic, /);
    await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('case-one') });
    const listed = await cli(['list', '--state', 'provisioning', '--tier', 'BASIC']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/\ncase-one\s+basic\s+PROVISIONING/);
  });

  it('finds the admin key from a subdirectory, or prints a hint', async () => {
    const project = mkdtempSync(join(tmpdir(), 'tcp-project-'));
    mkdirSync(join(project, '.data'));
    writeFileSync(join(project, '.data', 'admin-key'), `${t.adminKey}\n`);
    const deep = join(project, 'src', 'deep');
    mkdirSync(deep, { recursive: true });
    const found = await cli(['tiers'], null, undefined, deep);
    expect(found.code, found.stderr).toBe(0);

    const elsewhere = mkdtempSync(join(tmpdir(), 'tcp-nowhere-'));
    const none = await cli(['tiers'], null, undefined, elsewhere);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^error: UNAUTHENTICATED: .*\nhint: no API key was given and none was found in .*admin-key/,
    );
  });

  it('a replayed onboarding prints the operation as it is now', async () => {
    const argv = [
      'onboard',
      '--name',
      'Replay',
      '--tier',
      'basic',
      '--email',
      'a@replay.example.com',
      '--idempotency-key',
      'replay-1',
    ];
    const first = await cli(argv);
    expect(first.stdout).toMatch(/PENDING\nfollow it: tenantctl watch op_/);
    const tenant = await t.registry.requireTenant('replay');
    await t.registry.finishOperation({ operationId: tenant.currentOperationId!, outcome: 'succeeded' });
    const again = await cli(argv);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^onboard of replay \(t_\w+\) accepted: operation op_\w+ SUCCEEDED\n$/);
  });

  it('shows the suspension reason in get and events', async () => {
    await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('reasoned') });
    const tenant = await t.registry.requireTenant('reasoned');
    await t.registry.finishOperation({ operationId: tenant.currentOperationId!, outcome: 'succeeded' });
    expect((await cli(['suspend', 'reasoned', '--reason', 'unpaid invoice'])).code).toBe(0);
    const got = await cli(['get', 'reasoned']);
    expect(got.stdout).toMatch(/state:\s+SUSPENDING\nreason:\s+unpaid invoice\n/);
    const events = await cli(['events', 'reasoned']);
    expect(events.stdout.split('\n')[0]).toMatch(/OPERATION\s+DETAIL$/);
    expect(events.stdout).toContain('reason="unpaid invoice"');
  });

  it("an OFFBOARDED tenant's get shows no ids of deleted resources", () => {
    const base = {
      tenantId: 't_01ARZ3NDEKTSV4RRFFQ69G5FAV',
      slug: 'gone-co',
      name: 'Gone Co',
      tier: 'enterprise-dedicated',
      isolation: 'silo',
      adminEmail: 'a@gone.example.com',
      region: 'us-east-1',
      accountId: '123456789012',
      allowedPrincipals: [],
      stacks: [
        {
          role: 'current',
          stackName: 'tcp-gone-co',
          arn: 'arn:aws:cloudformation:x',
          templateVersion: 'v',
          status: 'DELETE_COMPLETE',
          region: 'us-east-1',
        },
      ],
      outputs: {},
      access: {},
      version: 9,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
    } as unknown as Tenant;
    const active = renderTenant({ ...base, state: 'ACTIVE' });
    expect(active).toContain('tcp-gone-co');
    expect(active).toContain('123456789012');
    const gone = renderTenant({ ...base, state: 'OFFBOARDED', offboardedAt: '2026-01-02T00:00:00.000Z' });
    expect(gone).not.toContain('tcp-gone-co');
    expect(gone).not.toContain('123456789012');
    expect(gone).toMatch(/offboarded:\s+2026-01-02/);
  });
});

describe('tenantctl tiers', () => {
  it("shows each tier's noisy-neighbour controls, '-' for none", () => {
    const enterprise = TierCatalog.load().get('enterprise');
    const out = renderTiers([
      enterprise,
      { ...enterprise, name: 'fenced', noisyNeighbour: { reservedConcurrency: 50 } },
      {
        ...enterprise,
        name: 'queued',
        noisyNeighbour: {
          reservedConcurrency: 5,
          tenantQueue: { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 },
        },
      },
    ]);
    const cell = (tier: string) => new RegExp(`\\n${tier}\\s.*\\sno\\s+(.+?)\\s{2,}`).exec(`\n${out}`)?.[1];
    expect(cell('enterprise')).toBe('-');
    expect(cell('fenced')).toBe('reserved 50');
    expect(cell('queued')).toBe('reserved 5, queue');
  });
});

describe('tenantctl help', () => {
  it('lays flags out as `--flag <value>  description`, aligned, with required flags marked', () => {
    const help = usage('onboard');
    const lines = help.split('\n');
    expect(lines[0]).toBe('usage: tenantctl onboard --name <name> --tier <tier> --email <email> [options]');
    const flagLines = lines.filter((l) => /^ {2}(-\w, )?--/.test(l));
    expect(flagLines.length).toBeGreaterThan(8);
    // Every description starts in one column, at least two spaces after the longest flag.
    const column = (l: string) => /^ {2}\S.*?\S {2,}(?=\S)/.exec(l)![0].length;
    expect(new Set(flagLines.map(column)).size).toBe(1);
    expect(help).toMatch(/\n {2}--name <name> {2,}tenant display name \(required\)\n/);
    expect(help).toMatch(/\n {2}--idempotency-key <key> {2,}send this Idempotency-Key/);
    expect(help).toMatch(/\n {2}--allowed-principal <arn> {2,}.*\(repeatable\)\n/);
    expect(help).toMatch(
      /\n {2}--slug <slug> {2,}DNS-safe tenant slug \(derived from the name when absent\)\n/,
    );
    expect(help).toMatch(/\n {2}-h, --help {2,}show help\n/);

    const top = usage();
    expect(top).toMatch(/\n {2}keys rotate <name> {2,}a new secret for an API key/);
    expect(top).toMatch(/\n {2}migration complete <operationId> {2,}answer a migration hand-off/);
    const group = usage('keys');
    expect(group).toContain('keys list');
    expect(group).not.toContain('onboard');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListeningTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { tenantctl as tenantctlAt } from '../../test/support/cli.js';
import { configPatch, parseFlags } from './config.js';

let t: TestApp;
let url: string;

beforeAll(async () => {
  ({ t, url } = await startListeningTestApp());
  const res = await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody('cli-config') });
  await t.registry.finishOperation({ operationId: res.json().operation.operationId, outcome: 'succeeded' });
});
afterAll(async () => t?.close());

const tenantctl = (...argv: string[]) => tenantctlAt(url, t.adminKey, argv);
/** `config set cli-config --flags <flags> --if-match <etag>` */
const setIfMatch = (flags: string, etag: string) =>
  tenantctl('config', 'set', 'cli-config', '--flags', flags, '--if-match', etag);

describe('tenantctl config', () => {
  it('get shows the resolved flags with their sources and the ETag; set sends a merge patch', async () => {
    const got = await tenantctl('config', 'get', 'cli-config');
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toMatch(/^tenant {3}t_[0-9A-Z]{26} \(tier basic\)\nversion {2}0 {2}etag "0-/);
    expect(got.stdout).toMatch(/\n {2}max-projects {13}3 {10}tier\n/);

    const set = await tenantctl(
      'config',
      'set',
      'cli-config',
      '--flags',
      'sso=true,theme=dark,max-projects=7',
      '--patch',
      '{"branding":{"name":"Cli Co","colours":{"primary":"#0a0b0c"}}}',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/\n {2}sso {22}true {7}tenant\n/);
    expect(set.stdout).toMatch(/branding:\n {2}name {6}Cli Co\n {2}primary {3}#0a0b0c\n/);

    const json = JSON.parse((await tenantctl('config', 'get', 'cli-config', '--json')).stdout);
    expect(json).toMatchObject({ version: 1, overrides: { sso: true, theme: 'dark', 'max-projects': 7 } });
    expect(json.etag).toMatch(/^"1-/);

    const stale = await setIfMatch('sso=null', '"0-stale"');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/VERSION_CONFLICT/);
    const fresh = await setIfMatch('sso=null', json.etag);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toMatch(/\n {2}sso {22}false {6}tier\n/);
  });

  it('set --domain shows the DNS records to add; usage errors name what is wrong', async () => {
    const set = await tenantctl('config', 'set', 'cli-config', '--domain', 'app.cli-config.example.com');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(
      /domain: {3}app\.cli-config\.example\.com {2}PENDING_VALIDATION {2}arn:aws:acm:/,
    );
    expect(set.stdout).toMatch(/\n {2}add DNS: _\S+ CNAME \S+\n/);
    expect((await tenantctl('config', 'show', 'cli-config')).stderr).toMatch(/config takes get or set/);
    expect((await tenantctl('config', 'set', 'cli-config')).stderr).toMatch(
      /needs --flags, --domain or --patch/,
    );
    expect((await tenantctl('config', 'get', 'cli-config', '--flags', 'a=1')).stderr).toMatch(
      /config get takes no/,
    );
  });

  it('parses --flags values as JSON where they are JSON', () => {
    expect(parseFlags('a=true,b=3,c=dark,d=null,e="7"')).toEqual({
      a: true,
      b: 3,
      c: 'dark',
      d: null,
      e: '7',
    });
    expect(() => parseFlags('oops')).toThrow(/name=value/);
    expect(configPatch({ domain: 'none', flags: 'x=1' })).toEqual({ domain: null, flags: { x: 1 } });
  });
});

describe('tenantctl quotas', () => {
  it('prints one row per quota with usage, limit, headroom and status', async () => {
    const out = await tenantctl('quotas');
    expect(out.code, out.stderr).toBe(0);
    const [region, ...lines] = out.stdout.trimEnd().split('\n');
    expect(region).toBe('quotas of us-east-1');
    expect(lines[0]).toMatch(/^QUOTA\s+USAGE\s+LIMIT\s+HEADROOM\s+STATUS\s+NOTE$/);
    expect(lines.find((l) => l.startsWith('cloudformation.stacks'))).toMatch(
      /not-available\s+CloudFormation DescribeAccountLimits is not available on this endpoint/,
    );
    expect(lines.find((l) => l.startsWith('vpc.vpcs'))).toMatch(/^vpc\.vpcs\s+\d+\s+5\s+-?\d+\s+(ok|full)/);
    // The harness turns the pre-checks off: said once, under the table.
    expect(lines.at(-1)).toMatch(/quota pre-checks are off/);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, ENV_VARS, loadConfig } from './config.js';
import { ControlPlaneError } from './errors.js';

describe('configuration', () => {
  it('has defaults for a fresh machine', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({
      target: 'local',
      dataDir: '.data',
      host: '127.0.0.1',
      port: 3000,
      engine: 'local',
    });
    expect(c.awsEndpoint).toBeUndefined();
  });

  it('reads env over the config file, --aws over both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ port: 4000, region: 'eu-west-1' }));
    const c = loadConfig({ env: { CONTROL_PLANE_CONFIG: file, PORT: '5000' } });
    expect(c.port).toBe(5000);
    expect(c.region).toBe('eu-west-1');
    expect(loadConfig({ env: {}, argv: ['node', 'main', '--aws'] }).target).toBe('aws');
  });

  it('lists every bad field with its source', () => {
    let err: unknown;
    try {
      loadConfig({ env: { PORT: '70000', SIGNUP_WEBHOOK_SECRET: 'short', CONTROL_PLANE_TARGET: 'mars' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ControlPlaneError);
    const e = err as ControlPlaneError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('port (PORT)');
    expect(e.message).toContain('signupWebhookSecret (SIGNUP_WEBHOOK_SECRET)');
    expect(e.message).toContain('target (CONTROL_PLANE_TARGET)');
    expect((e.details as unknown[]).length).toBe(3);
  });

  it('refuses a non-loopback endpoint in local mode', () => {
    expect(() => loadConfig({ env: { AWS_ENDPOINT_URL: 'http://10.0.0.5:4566' } })).toThrow(/loopback/);
    expect(loadConfig({ env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' } }).awsEndpoint).toBe(
      'http://127.0.0.1:4566',
    );
  });

  it('reads QUOTA_LIMITS as a JSON object of known quotas, naming what is wrong', () => {
    expect(loadConfig({ env: {} })).toMatchObject({
      quotaPrecheck: true,
      quotaCacheSeconds: 30,
      quotaLimits: {},
    });
    const c = loadConfig({
      env: { QUOTA_LIMITS: '{"cloudformation.stacks":200,"rds.instances":0}', QUOTA_PRECHECK: 'false' },
    });
    expect(c.quotaLimits).toEqual({ 'cloudformation.stacks': 200, 'rds.instances': 0 });
    expect(c.quotaPrecheck).toBe(false);
    for (const bad of ['{"stacks":1}', '{"vpc.vpcs":-1}', 'not json', '[1]'])
      expect(() => loadConfig({ env: { QUOTA_LIMITS: bad } }), bad).toThrow(/quotaLimits.* \(QUOTA_LIMITS\)/);
  });

  it('reads BUNDLED_TEMPLATE_VERSIONS as version ids by isolation, naming what is wrong', () => {
    expect(loadConfig({ env: {} }).bundledTemplateVersions).toEqual({});
    expect(
      loadConfig({ env: { BUNDLED_TEMPLATE_VERSIONS: 'pool=0123456789ab, silo=ba9876543210' } })
        .bundledTemplateVersions,
    ).toEqual({ pool: '0123456789ab', silo: 'ba9876543210' });
    for (const bad of ['pool=latest', 'platform=0123456789ab', 'pool'])
      expect(() => loadConfig({ env: { BUNDLED_TEMPLATE_VERSIONS: bad } }), bad).toThrow(
        /bundledTemplateVersions.*\(BUNDLED_TEMPLATE_VERSIONS\)/,
      );
  });

  it('rejects unknown keys in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ env: { CONTROL_PLANE_CONFIG: file } })).toThrow(/prot/);
  });

  it('documents every setting and variable in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    for (const key of Object.keys(ConfigSchema.shape)) {
      expect(doc, key).toContain(`| ${key} |`);
      expect(doc, key).toContain(`\`${ENV_VARS[key as keyof typeof ENV_VARS]}\``);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../core/errors.js';
import { resolveSettings, settingsFromValues } from './settings.js';

describe('infra settings', () => {
  it('defaults to the control plane’s own defaults, esbuild bundling, a prefixed registry table', () => {
    expect(settingsFromValues({})).toMatchObject({
      prefix: 'tcp',
      bundling: 'esbuild',
      registryTable: 'tcp-registry',
      accountRoleName: 'OrganizationAccountAccessRole',
      logLevel: 'info',
      tierCatalogFile: undefined,
      allowedRegions: [],
    });
  });

  it('takes the allowed regions as the functions do (ALLOWED_REGIONS, comma-separated), once each', () => {
    expect(settingsFromValues({ allowedRegions: 'us-east-1, eu-west-1,us-east-1' }).allowedRegions).toEqual([
      'us-east-1',
      'eu-west-1',
    ]);
    const fromEnv = resolveSettings(({ env }) => ({ ALLOWED_REGIONS: 'eu-west-1' })[env]);
    expect(fromEnv.allowedRegions).toEqual(['eu-west-1']);
  });

  it('CDK context wins over the environment', () => {
    const context: Record<string, string> = { prefix: 'ctx' };
    const env: Record<string, string> = { RESOURCE_PREFIX: 'envp', TCP_FUNCTION_BUNDLING: 'prebuilt-stub' };
    const settings = resolveSettings(({ context: c, env: e }) => context[c] ?? env[e]);
    expect(settings).toMatchObject({
      prefix: 'ctx',
      bundling: 'prebuilt-stub',
      registryTable: 'ctx-registry',
    });
  });

  it.each([
    [{ prefix: 'Bad_Prefix' }, /prefix: got "Bad_Prefix"; accepted: lowercase letters/],
    [{ bundling: 'docker' }, /bundling: got "docker"; accepted: esbuild, prebuilt-stub/],
    [{ tierCatalogFile: '/nonexistent/tiers.json' }, /tierCatalogFile: got "\/nonexistent\/tiers.json"/],
    [{ accountOuPath: 'a//b' }, /accountOuPath/],
    [{ alarmEmail: 'not-an-email' }, /alarmEmail/],
    [
      { allowedRegions: 'us-east-1,Europe' },
      /allowedRegions: got "us-east-1,Europe"; accepted: comma-separated/,
    ],
  ])('rejects %j before synthesizing anything', (values, message) => {
    const attempt = () => settingsFromValues(values);
    expect(attempt).toThrow(ControlPlaneError);
    expect(attempt).toThrow(message);
  });
});

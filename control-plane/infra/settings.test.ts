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
    });
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
  ])('rejects %j before synthesizing anything', (values, message) => {
    const attempt = () => settingsFromValues(values);
    expect(attempt).toThrow(ControlPlaneError);
    expect(attempt).toThrow(message);
  });
});

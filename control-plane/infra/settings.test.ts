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

  it('takes the Stripe secrets as complete secret ARNs, from context or the environment', () => {
    const key = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/stripe-key-AbC123';
    const env: Record<string, string> = { STRIPE_SECRET_KEY_SECRET_ARN: key };
    expect(resolveSettings(({ env: e }) => env[e])).toMatchObject({
      stripeSecretKeyArn: key,
      stripeWebhookSecretArn: undefined,
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
    // A partial ARN (no six-character suffix) names no secret an IAM grant can match.
    [
      { stripeSecretKeyArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe' },
      /stripeSecretKeyArn: got .*; accepted: a Secrets Manager secret ARN/,
    ],
    [{ stripeWebhookSecretArn: 'whsec_1234567890abcdef' }, /stripeWebhookSecretArn/],
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

import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { ControlPlaneError } from '../../core/errors.js';
import { buildInfra } from './infra.js';
import { resolveSettings } from './settings.js';
import { prepareTemplates } from './templates.js';

/**
 * The CDK app of the control plane (docs/deploy.md).
 *
 *   npm run deploy        cdk deploy --all, through `npx aws-cdk@2` (runs this file with tsx)
 *   npm run synth:infra   this file alone: templates and assets in cdk.out/, no CDK CLI needed
 *
 * Settings come from CDK context (`-c prefix=acme`) or the environment (RESOURCE_PREFIX=acme);
 * see settings.ts. Under the CLI, CDK_OUTDIR and the target account/region come from the CLI.
 */
try {
  const app = new App({
    outdir: process.env.CDK_OUTDIR ?? resolve('cdk.out'),
    // CDK's built-in template validation adds ~25 s here; `cfn-lint cdk.out/*.template.json` checks
    // the same rules and more (docs/deploy.md).
    builtinCloudFormationValidation: false,
  });
  const settings = resolveSettings(({ context, env }) => {
    const fromContext: unknown = app.node.tryGetContext(context);
    return fromContext === undefined ? process.env[env] : String(fromContext);
  });
  const templates = await prepareTemplates(settings.templateCacheDir);
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const { platform, regionalPlatforms, controlPlane } = buildInfra({
    app,
    settings,
    templates,
    ...(account || region ? { env: { account, region } } : {}),
  });
  const assembly = app.synth();
  if (!process.env.CDK_OUTDIR) {
    console.error(
      `synthesized ${[platform, ...Object.values(regionalPlatforms)].map((s) => `${s.stackName} (${s.region})`).join(', ')} and ${controlPlane.stackName} (bundling: ${settings.bundling}) into ${assembly.directory}`,
    );
  }
} catch (e) {
  if (e instanceof ControlPlaneError) {
    console.error(`${e.code}: ${e.message}`);
    process.exit(1);
  }
  throw e;
}

import { join } from 'node:path';
import { App, type Environment } from 'aws-cdk-lib';
import type { CfnTemplate } from '../../templates/index.js';
import { ControlPlaneStack } from './control-plane-stack.js';
import { PlatformDeploymentStack } from './platform-stack.js';
import type { InfraSettings } from './settings.js';
import { type PreparedTemplates, writePlatformTemplate } from './templates.js';

export interface ControlPlaneInfra {
  readonly app: App;
  readonly platform: PlatformDeploymentStack;
  readonly controlPlane: ControlPlaneStack;
}

export interface BuildInfraOptions {
  readonly settings: InfraSettings;
  readonly templates: PreparedTemplates;
  /** @default a new App; its outdir (cdk.out) also holds the staged bundle files */
  readonly app?: App;
  readonly env?: Environment;
}

/** Construct ids of the two stacks (`cdk deploy Platform ControlPlane`, or `--all`). */
export const STACK_IDS = { platform: 'Platform', controlPlane: 'ControlPlane' } as const;

/**
 * The whole deployment: `<prefix>-platform` (the platform template) and `<prefix>-control-plane`
 * (everything that runs), the second depending on the first. Nothing is synthesized yet.
 */
export function buildInfra(options: BuildInfraOptions): ControlPlaneInfra {
  const { settings, templates } = options;
  const app = options.app ?? new App();
  const staging = join(app.outdir, '.tcp-staging');
  const env = options.env ? { env: options.env } : {};
  const platform = new PlatformDeploymentStack(app, STACK_IDS.platform, {
    ...env,
    prefix: settings.prefix,
    templates,
    templateFile: writePlatformTemplate(staging, templates),
  });
  const controlPlane = new ControlPlaneStack(app, STACK_IDS.controlPlane, {
    ...env,
    stackName: `${settings.prefix}-control-plane`,
    settings,
    templates,
    platform,
    stagingDir: staging,
  });
  return { app, platform, controlPlane };
}

/** Synthesizes both stacks and returns their CloudFormation templates. */
export function synthesizeInfra(infra: ControlPlaneInfra): {
  platform: CfnTemplate;
  controlPlane: CfnTemplate;
} {
  const assembly = infra.app.synth();
  return {
    platform: assembly.getStackArtifact(infra.platform.artifactId).template as CfnTemplate,
    controlPlane: assembly.getStackArtifact(infra.controlPlane.artifactId).template as CfnTemplate,
  };
}

import { join } from 'node:path';
import { App, type Environment, Token } from 'aws-cdk-lib';
import { ControlPlaneError } from '../../core/errors.js';
import type { CfnTemplate } from '../../templates/index.js';
import { TierCatalog } from '../../tiers/catalog.js';
import { ControlPlaneStack } from './control-plane-stack.js';
import { PlatformDeploymentStack } from './platform-stack.js';
import type { InfraSettings } from './settings.js';
import { type PreparedTemplates, writePlatformTemplate } from './templates.js';

export interface ControlPlaneInfra {
  readonly app: App;
  readonly platform: PlatformDeploymentStack;
  /** The platform of every allowed region besides home, by region. */
  readonly regionalPlatforms: Readonly<Record<string, PlatformDeploymentStack>>;
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

/** The construct id of another region's platform stack. */
export const regionalPlatformId = (region: string): string => `${STACK_IDS.platform}-${region}`;

/**
 * The allowed regions besides home, which need a platform of their own. Naming them needs the home
 * region by name: an environment-agnostic app (no region) can only place tenants at home.
 */
export function otherRegions(settings: InfraSettings, env: Environment | undefined): string[] {
  const home = env?.region;
  const known = home !== undefined && !Token.isUnresolved(home);
  const others = settings.allowedRegions.filter((r) => r !== home);
  if (others.length > 0 && !known)
    throw new ControlPlaneError(
      'CONFIG_INVALID',
      `control-plane infra: allowedRegions: ${settings.allowedRegions.join(',')} needs the home region by name (CDK_DEFAULT_REGION, or cdk deploy under a profile with a region), to tell which regions need a platform of their own`,
      { details: { field: 'allowedRegions', received: settings.allowedRegions } },
    );
  return others;
}

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
  const others = otherRegions(settings, options.env);
  const catalog = TierCatalog.load(settings.tierCatalogFile);
  const regionalPlatforms = Object.fromEntries(
    others.map((region) => [
      region,
      new PlatformDeploymentStack(app, regionalPlatformId(region), {
        env: { ...options.env, region },
        prefix: settings.prefix,
        templates,
        templateFile: writePlatformTemplate(staging, templates),
        tenantAccess: { catalog, bundling: settings.bundling },
      }),
    ]),
  );
  const controlPlane = new ControlPlaneStack(app, STACK_IDS.controlPlane, {
    ...env,
    stackName: `${settings.prefix}-control-plane`,
    settings,
    templates,
    platform,
    otherRegions: others,
    stagingDir: staging,
  });
  // Deployed first (`cdk deploy --all` orders them): no reference crosses a region.
  for (const stack of Object.values(regionalPlatforms)) controlPlane.addStackDependency(stack);
  return { app, platform, regionalPlatforms, controlPlane };
}

/** Synthesizes both stacks and returns their CloudFormation templates. */
export function synthesizeInfra(infra: ControlPlaneInfra): {
  platform: CfnTemplate;
  controlPlane: CfnTemplate;
  /** Every other region's platform stack, by region. */
  regionalPlatforms: Record<string, CfnTemplate>;
} {
  const assembly = infra.app.synth();
  const template = (id: string) => assembly.getStackArtifact(id).template as CfnTemplate;
  return {
    platform: template(infra.platform.artifactId),
    controlPlane: template(infra.controlPlane.artifactId),
    regionalPlatforms: Object.fromEntries(
      Object.entries(infra.regionalPlatforms).map(([region, stack]) => [region, template(stack.artifactId)]),
    ),
  };
}

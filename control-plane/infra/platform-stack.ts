import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import type { Construct } from 'constructs';
import { platformAcknowledgements, platformStackName, platformStackTags } from '../../templates/index.js';
import type { TierCatalog } from '../../tiers/catalog.js';
import {
  declarePreTokenTrigger,
  declareTenantUserPool,
  declareUsagePlans,
} from './constructs/tenant-access.js';
import type { FunctionBundling } from './settings.js';
import type { PreparedTemplates } from './templates.js';

export interface PlatformDeploymentStackProps extends StackProps {
  readonly prefix: string;
  readonly templates: PreparedTemplates;
  /** The platform template written to a file (see writePlatformTemplate). */
  readonly templateFile: string;
  /**
   * A region other than the control plane's: the tenants' user pool (with its pre-token trigger)
   * and one usage plan per tier, attached to this platform's tenant API, declared here from the
   * definitions the control-plane stack declares at home. @default none (the home platform)
   */
  readonly tenantAccess?: { readonly catalog: TierCatalog; readonly bundling: FunctionBundling };
}

/**
 * `<prefix>-platform`: the platform template (shared VPC, pooled table, artifact bucket, lifecycle
 * event bus) exactly as `ensurePlatform` deploys it locally, with its TemplateVersion parameter
 * fixed to the template's version id. So `readPlatform` in the functions finds the same stack and
 * outputs on AWS as locally, and a later `ensurePlatform` against this account sees it up to date.
 *
 * The app declares one per allowed region (`Platform` at home, `Platform-<region>` elsewhere,
 * each named `<prefix>-platform` in its region). Another region's also holds what the
 * control-plane stack holds for tenants at home (user pool, usage plans): the task function finds
 * them by name there (readPlatform) and is granted them, but deploys no platform itself.
 */
export class PlatformDeploymentStack extends Stack {
  readonly template: CfnInclude;
  readonly versionId: string;

  constructor(scope: Construct, id: string, props: PlatformDeploymentStackProps) {
    const versionId = props.templates.platform.versionId;
    super(scope, id, {
      ...props,
      stackName: platformStackName(props.prefix),
      description: `Tenant control plane: platform (template ${versionId})`,
      terminationProtection: props.terminationProtection ?? true,
      tags: Object.fromEntries(platformStackTags(versionId).map((t) => [t.Key, t.Value])),
    });
    this.versionId = versionId;
    this.template = new CfnInclude(this, 'Platform', {
      templateFile: props.templateFile,
      parameters: { TemplateVersion: versionId },
    });
    // Included resources carry no construct metadata: the template's acknowledged findings again.
    const bucket = this.template.node.children
      .map((c) => c.node.id)
      .find((id) => /^Artifacts[0-9A-F]{8}$/.test(id));
    if (bucket) Validations.of(this.template).acknowledge(...platformAcknowledgements(bucket));
    if (props.tenantAccess) {
      const { catalog, bundling } = props.tenantAccess;
      const userPool = declareTenantUserPool(this, props.prefix);
      declareUsagePlans(this, props.prefix, catalog, this.template.getOutput('TenantApiId').value);
      declarePreTokenTrigger(this, userPool, props.prefix, bundling, catalog);
    }
  }

  /** The platform's exports (`<stack>-<output>`), for the control-plane stack. */
  exportName(output: string): string {
    return `${this.stackName}-${output}`;
  }
}

import { CfnOutput, CfnParameter, Fn, type Stack, Tags } from 'aws-cdk-lib';
import type { Isolation } from '../../tiers/catalog.js';
import {
  PARAMETER_SPECS,
  type ParameterName,
  type ParameterSpec,
  TEMPLATE_PARAMETERS,
} from '../parameter-specs.js';
import type { TemplateKind } from '../types.js';
import { applyTenantPermissionsBoundary } from './permissions-boundary.js';
import type { TenantRoleProps } from './tenant-role.js';

/** Looks up a declared parameter by name. */
export type DeclaredParameters = (name: ParameterName) => CfnParameter;

/**
 * Declares the kind's CloudFormation Parameters from PARAMETER_SPECS (construct id = parameter
 * name, so logical ids are the names the parameter builder emits). Asking for a parameter the
 * kind does not declare is a programming error.
 */
export function declareParameters(stack: Stack, kind: TemplateKind): DeclaredParameters {
  const declared = new Map<ParameterName, CfnParameter>();
  for (const name of TEMPLATE_PARAMETERS[kind]) {
    const spec: ParameterSpec = PARAMETER_SPECS[name];
    declared.set(
      name,
      new CfnParameter(stack, name, {
        type: spec.type,
        description: spec.description,
        constraintDescription: spec.accepted,
        // CloudFormation applies AllowedPattern to String values only; lists are checked by the builder.
        ...(spec.type === 'String' && spec.pattern ? { allowedPattern: spec.pattern } : {}),
        ...(spec.allowedValues ? { allowedValues: [...spec.allowedValues] } : {}),
        ...(spec.minValue !== undefined ? { minValue: spec.minValue } : {}),
        ...(spec.maxValue !== undefined ? { maxValue: spec.maxValue } : {}),
        ...(spec.default !== undefined ? { default: spec.default } : {}),
      }),
    );
  }
  return (name) => {
    const parameter = declared.get(name);
    if (!parameter) throw new Error(`template ${kind} declares no parameter ${name}`);
    return parameter;
  };
}

export interface CostTags {
  readonly tenantId: string;
  readonly tier: string;
  readonly isolation: string;
  readonly templateVersion: string;
}

/**
 * Resource types CDK can tag that stay untagged. ELBv2 listeners: CDK's newer resource spec gives
 * them Tags, the CloudFormation schema cfn-lint 1.51 checks against does not, and a listener
 * accrues no cost of its own (its load balancer is tagged).
 */
export const UNTAGGED_RESOURCE_TYPES: readonly string[] = ['AWS::ElasticLoadBalancingV2::Listener'];

/** The four cost-allocation tags on every taggable resource of the stack (values may be Refs). */
export function applyCostTags(stack: Stack, tags: CostTags): void {
  const options = { excludeResourceTypes: [...UNTAGGED_RESOURCE_TYPES] };
  Tags.of(stack).add('TenantId', tags.tenantId, options);
  Tags.of(stack).add('Tier', tags.tier, options);
  Tags.of(stack).add('Isolation', tags.isolation, options);
  Tags.of(stack).add('TemplateVersion', tags.templateVersion, options);
}

/** Echoes the TemplateVersion parameter, so a caller can tell which template a stack runs from its outputs. */
export function outputTemplateVersion(stack: Stack, parameters: DeclaredParameters): void {
  const output = new CfnOutput(stack, 'TemplateVersionOutput', {
    value: parameters('TemplateVersion').valueAsString,
    description: 'Version id of the template this stack runs',
  });
  // Outputs have a namespace of their own; the construct id only has to differ from the parameter's.
  output.overrideLogicalId('TemplateVersion');
}

/** Declares outputs from a table, name → [value, description], in table order. */
export function addOutputs(stack: Stack, outputs: Readonly<Record<string, readonly [string, string]>>): void {
  for (const [name, [value, description]] of Object.entries(outputs)) {
    new CfnOutput(stack, name, { value, description });
  }
}

/** What every tenant stack starts with, in this order: its parameters, the boundary, the cost tags. */
export function beginTenantStack(
  stack: Stack,
  isolation: Isolation,
): { readonly p: DeclaredParameters; readonly tenantId: string } {
  const p = declareParameters(stack, isolation);
  applyTenantPermissionsBoundary(stack, p);
  const tenantId = p('TenantId').valueAsString;
  applyCostTags(stack, {
    tenantId,
    tier: p('TierName').valueAsString,
    isolation,
    templateVersion: p('TemplateVersion').valueAsString,
  });
  return { p, tenantId };
}

/** The tenant role of a stack; pool and bridge tenants also reach their own part of the pooled data. */
export function tenantRoleProps(
  p: DeclaredParameters,
  tenantId: string,
  isolation: Isolation,
): TenantRoleProps {
  const description = Fn.join('', [`Data access of ${isolation} tenant `, p('TenantSlug').valueAsString]);
  if (isolation === 'silo')
    return { tenantId, description, controlPlaneAccountId: p('ControlPlaneAccountId').valueAsString };
  return {
    tenantId,
    description,
    pooled: {
      tableArn: p('PooledTableArn').valueAsString,
      bucketName: p('ArtifactBucketName').valueAsString,
    },
  };
}

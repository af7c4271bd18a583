import { Aspects, Aws, CfnCondition, CfnResource, Fn, type IAspect, type Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { DeclaredParameters } from './common.js';

/** Logical id of the condition "a boundary was given" in every tenant template. */
export const HAS_PERMISSIONS_BOUNDARY = 'HasPermissionsBoundary';

const IAM_ROLE = 'AWS::IAM::Role';

/**
 * Sets `PermissionsBoundary` on every AWS::IAM::Role in its scope (the L1 of an L2 role, a raw
 * CfnRole, or a generic CfnResource of that type): whoever adds a role later (a construct's
 * flow-log role, say) gets the boundary without knowing about it.
 */
class RolePermissionsBoundary implements IAspect {
  constructor(private readonly boundary: string) {}

  visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole) node.permissionsBoundary = this.boundary;
    else if (CfnResource.isCfnResource(node) && node.cfnResourceType === IAM_ROLE)
      node.addPropertyOverride('PermissionsBoundary', this.boundary);
  }
}

/**
 * Every IAM role of a tenant stack carries the PermissionsBoundaryArn parameter as its permissions
 * boundary, or none when the parameter is empty (`Fn::If [HasPermissionsBoundary, Ref
 * PermissionsBoundaryArn, Ref AWS::NoValue]`). On AWS the control plane's CloudFormation role may
 * create roles only under the tenant boundary (docs/deploy.md), so a role without it fails the stack.
 */
export function applyTenantPermissionsBoundary(stack: Stack, parameters: DeclaredParameters): void {
  const arn = parameters('PermissionsBoundaryArn');
  const condition = new CfnCondition(stack, HAS_PERMISSIONS_BOUNDARY, {
    expression: Fn.conditionNot(Fn.conditionEquals(arn.valueAsString, '')),
  });
  const boundary = Token.asString(Fn.conditionIf(condition.logicalId, arn.valueAsString, Aws.NO_VALUE));
  Aspects.of(stack).add(new RolePermissionsBoundary(boundary));
}

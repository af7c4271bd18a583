import type { CfnElement } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';

const GROUP = Symbol.for('tenant-control-plane.ResourceGroup');

/**
 * A construct that groups resources without taking part in their CloudFormation logical ids: a
 * stack that honours it (`logicalIdScopes`, used by ControlPlaneStack.allocateLogicalId) names a
 * grouped resource as if it were created in the stack itself. So moving resources into a group
 * replaces none of them on the next deploy (control-plane/infra/stack.test.ts pins the ids).
 */
export abstract class ResourceGroup extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    Object.defineProperty(this, GROUP, { value: true });
  }

  static isResourceGroup(x: unknown): x is ResourceGroup {
    return typeof x === 'object' && x !== null && GROUP in x;
  }
}

/** The element's scopes without resource groups: what the stack computes its logical id from. */
export function logicalIdScopes(element: CfnElement): IConstruct[] {
  return element.node.scopes.filter((s) => !ResourceGroup.isResourceGroup(s));
}

import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { addOutputs, beginTenantStack, outputTemplateVersion, tenantRoleProps } from './common.js';
import { templateStackProps } from './stack-props.js';
import { TenantRole } from './tenant-role.js';

/** A pool tenant: shared infrastructure, reached through a role scoped to the tenant's own data. */
export class PoolTenantStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(
      scope,
      id,
      templateStackProps(
        'Tenant control plane: pool tenant (IAM role scoped to its items and objects in pooled resources)',
      ),
    );
    const { p, tenantId } = beginTenantStack(this, 'pool');
    const tenant = new TenantRole(this, 'TenantRole', tenantRoleProps(p, tenantId, 'pool'));
    outputTemplateVersion(this, p);
    addOutputs(this, { TenantRoleArn: [tenant.roleArn, 'Role the tenant workloads assume'] });
  }
}

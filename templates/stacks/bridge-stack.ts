import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  addOutputs,
  beginTenantStack,
  type DeclaredParameters,
  outputTemplateVersion,
  tenantRoleProps,
} from './common.js';
import { NoisyNeighbourControls } from './noisy-neighbour.js';
import { templateStackProps } from './stack-props.js';
import { TenantDataStores } from './tenant-data-stores.js';
import { databaseProps, TenantDatabase } from './tenant-database.js';
import { TenantRole } from './tenant-role.js';

/** A bridge tenant: pool access plus a dedicated PostgreSQL instance in the shared VPC. */
export class BridgeTenantStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(
      scope,
      id,
      templateStackProps(
        'Tenant control plane: bridge tenant (pool access plus a dedicated database in the shared VPC)',
      ),
    );
    const { p, tenantId } = beginTenantStack(this, 'bridge');
    const tenant = new TenantRole(this, 'TenantRole', tenantRoleProps(p, tenantId, 'bridge'));
    const database = new TenantDatabase(
      this,
      'Database',
      databaseProps(p, { vpcId: p('VpcId').valueAsString, subnetIds: p('SubnetIds').valueAsList }),
    );
    completeDedicatedStack(this, p, tenant, database);
  }
}

/**
 * What bridge and silo stacks end with: the tenant role reads the database credentials, the
 * tenant's own data stores (encrypted with the database's key), and the outputs they share.
 */
export function completeDedicatedStack(
  stack: Stack,
  p: DeclaredParameters,
  tenant: TenantRole,
  database: TenantDatabase,
): void {
  database.grantCredentialsRead(tenant.role);
  outputTemplateVersion(stack, p);
  addDatabaseOutputs(stack, tenant, database);
  const data = new TenantDataStores(stack, 'Data', { key: database.key });
  data.grantReadWrite(tenant.role, database.key);
  data.addOutputs(stack);
  new NoisyNeighbourControls(stack, 'NoisyNeighbour', {
    parameters: p,
    key: database.key,
    tenantRole: tenant.role,
  });
}

/** The outputs bridge and silo share; names are a contract with the workflows (docs/templates.md). */
function addDatabaseOutputs(stack: Stack, tenant: TenantRole, database: TenantDatabase): void {
  addOutputs(stack, {
    TenantRoleArn: [tenant.roleArn, 'Role the tenant workloads assume'],
    DbInstanceIdentifier: [database.instance.ref, 'RDS instance identifier'],
    DbEndpointAddress: [database.instance.attrEndpointAddress, 'Database host name'],
    DbClientSecurityGroupId: [
      database.clientSecurityGroup.attrGroupId,
      'Security group to attach to the tenant compute that reaches the database',
    ],
    KmsKeyArn: [database.key.keyArn, "The tenant's own KMS key"],
    DbSecretArn: [database.secret.secretArn, 'Secret with the master credentials'],
  });
}

import { CfnOutput, Fn, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { applyCostTags, declareParameters, outputTemplateVersion } from './common.js';
import { applyTenantPermissionsBoundary } from './permissions-boundary.js';
import { templateStackProps } from './stack-props.js';
import { TenantDataStores } from './tenant-data-stores.js';
import { TenantDatabase } from './tenant-database.js';
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
    const p = declareParameters(this, 'bridge');
    applyTenantPermissionsBoundary(this, p);
    const tenantId = p('TenantId').valueAsString;
    applyCostTags(this, {
      tenantId,
      tier: p('TierName').valueAsString,
      isolation: 'bridge',
      templateVersion: p('TemplateVersion').valueAsString,
    });
    const tenant = new TenantRole(this, 'TenantRole', {
      tenantId,
      description: Fn.join('', ['Data access of bridge tenant ', p('TenantSlug').valueAsString]),
      pooled: {
        tableArn: p('PooledTableArn').valueAsString,
        bucketName: p('ArtifactBucketName').valueAsString,
      },
    });
    const database = new TenantDatabase(this, 'Database', {
      vpcId: p('VpcId').valueAsString,
      subnetIds: p('SubnetIds').valueAsList,
      tenantSlug: p('TenantSlug').valueAsString,
      instanceClass: p('DbInstanceClass').valueAsString,
      allocatedStorage: p('DbAllocatedStorage').valueAsString,
      multiAz: p('DbMultiAz').value,
      backupRetentionDays: p('DbBackupRetentionDays').valueAsNumber,
    });
    database.grantCredentialsRead(tenant.role);
    outputTemplateVersion(this, p);
    addDatabaseOutputs(this, tenant, database);
    const data = new TenantDataStores(this, 'Data', { key: database.key });
    data.grantReadWrite(tenant.role, database.key);
    data.addOutputs(this);
  }
}

/** The outputs bridge and silo share; names are a contract with the workflows (docs/templates.md). */
export function addDatabaseOutputs(stack: Stack, tenant: TenantRole, database: TenantDatabase): void {
  new CfnOutput(stack, 'TenantRoleArn', {
    value: tenant.roleArn,
    description: 'Role the tenant workloads assume',
  });
  new CfnOutput(stack, 'DbInstanceIdentifier', {
    value: database.instance.ref,
    description: 'RDS instance identifier',
  });
  new CfnOutput(stack, 'DbEndpointAddress', {
    value: database.instance.attrEndpointAddress,
    description: 'Database host name',
  });
  new CfnOutput(stack, 'DbClientSecurityGroupId', {
    value: database.clientSecurityGroup.attrGroupId,
    description: 'Security group to attach to the tenant compute that reaches the database',
  });
  new CfnOutput(stack, 'KmsKeyArn', { value: database.key.keyArn, description: "The tenant's own KMS key" });
  new CfnOutput(stack, 'DbSecretArn', {
    value: database.secret.secretArn,
    description: 'Secret with the master credentials',
  });
}

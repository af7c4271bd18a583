import { CfnOutput, Fn, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { addDatabaseOutputs } from './bridge-stack.js';
import { applyCostTags, declareParameters, outputTemplateVersion } from './common.js';
import { IsolatedVpc } from './isolated-vpc.js';
import { applyTenantPermissionsBoundary } from './permissions-boundary.js';
import { PrivateLinkService } from './private-link.js';
import { templateStackProps } from './stack-props.js';
import { TenantDataStores } from './tenant-data-stores.js';
import { TenantDatabase } from './tenant-database.js';
import { TenantRole } from './tenant-role.js';

/**
 * A silo tenant: its own VPC (isolated subnets only), database, KMS key and PrivateLink endpoint
 * service. No VPC endpoints: nothing in this stack calls AWS APIs from inside the VPC (RDS, KMS and
 * Secrets Manager integrate on the AWS side), and each interface endpoint costs per AZ-hour; tenant
 * workloads that need AWS APIs add the endpoints they use.
 */
export class SiloTenantStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(
      scope,
      id,
      templateStackProps(
        'Tenant control plane: silo tenant (own VPC, database, KMS key and PrivateLink service)',
      ),
    );
    const p = declareParameters(this, 'silo');
    applyTenantPermissionsBoundary(this, p);
    const tenantId = p('TenantId').valueAsString;
    applyCostTags(this, {
      tenantId,
      tier: p('TierName').valueAsString,
      isolation: 'silo',
      templateVersion: p('TemplateVersion').valueAsString,
    });
    const network = new IsolatedVpc(this, 'Network', { cidr: '10.0.0.0/16' });
    const database = new TenantDatabase(this, 'Database', {
      vpcId: network.vpc.vpcId,
      subnetIds: network.isolatedSubnetIds,
      tenantSlug: p('TenantSlug').valueAsString,
      instanceClass: p('DbInstanceClass').valueAsString,
      allocatedStorage: p('DbAllocatedStorage').valueAsString,
      multiAz: p('DbMultiAz').value,
      backupRetentionDays: p('DbBackupRetentionDays').valueAsNumber,
    });
    const privateLink = new PrivateLinkService(this, 'PrivateLink', {
      vpc: network.vpc,
      allowedPrincipals: p('AllowedPrincipals').valueAsList,
    });
    const tenant = new TenantRole(this, 'TenantRole', {
      tenantId,
      description: Fn.join('', ['Data access of silo tenant ', p('TenantSlug').valueAsString]),
    });
    database.grantCredentialsRead(tenant.role);

    outputTemplateVersion(this, p);
    addDatabaseOutputs(this, tenant, database);
    const data = new TenantDataStores(this, 'Data', { key: database.key });
    data.grantReadWrite(tenant.role, database.key);
    data.addOutputs(this);
    new CfnOutput(this, 'VpcId', { value: network.vpc.vpcId, description: "The tenant's own VPC" });
    new CfnOutput(this, 'IsolatedSubnetIds', {
      value: Fn.join(',', network.isolatedSubnetIds),
      description: 'Its isolated subnets',
    });
    new CfnOutput(this, 'LoadBalancerArn', {
      value: privateLink.loadBalancer.loadBalancerArn,
      description: 'Internal NLB behind the endpoint service',
    });
    new CfnOutput(this, 'TargetGroupArn', {
      value: privateLink.targetGroup.targetGroupArn,
      description: "Where the application plane registers the tenant service's IP targets",
    });
    new CfnOutput(this, 'EndpointServiceName', {
      value: privateLink.serviceName,
      description: 'PrivateLink service name for consumers',
    });
  }
}

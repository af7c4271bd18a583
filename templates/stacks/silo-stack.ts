import { Fn, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { completeDedicatedStack } from './bridge-stack.js';
import { addOutputs, beginTenantStack, tenantRoleProps } from './common.js';
import { IsolatedVpc } from './isolated-vpc.js';
import { PrivateLinkService } from './private-link.js';
import { templateStackProps } from './stack-props.js';
import { databaseProps, TenantDatabase } from './tenant-database.js';
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
    const { p, tenantId } = beginTenantStack(this, 'silo');
    const network = new IsolatedVpc(this, 'Network', { cidr: '10.0.0.0/16' });
    const database = new TenantDatabase(
      this,
      'Database',
      databaseProps(p, { vpcId: network.vpc.vpcId, subnetIds: network.isolatedSubnetIds }),
    );
    const privateLink = new PrivateLinkService(this, 'PrivateLink', {
      vpc: network.vpc,
      allowedPrincipals: p('AllowedPrincipals').valueAsList,
    });
    const tenant = new TenantRole(this, 'TenantRole', tenantRoleProps(p, tenantId, 'silo'));
    completeDedicatedStack(this, p, tenant, database);
    addOutputs(this, {
      VpcId: [network.vpc.vpcId, "The tenant's own VPC"],
      IsolatedSubnetIds: [Fn.join(',', network.isolatedSubnetIds), 'Its isolated subnets'],
      LoadBalancerArn: [privateLink.loadBalancer.loadBalancerArn, 'Internal NLB behind the endpoint service'],
      TargetGroupArn: [
        privateLink.targetGroup.targetGroupArn,
        "Where the application plane registers the tenant service's IP targets",
      ],
      EndpointServiceName: [privateLink.serviceName, 'PrivateLink service name for consumers'],
    });
  }
}

import { CfnOutput, Fn, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { applyCostTags, declareParameters, outputTemplateVersion } from './common.js';
import { applyTenantPermissionsBoundary } from './permissions-boundary.js';
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
    const p = declareParameters(this, 'pool');
    applyTenantPermissionsBoundary(this, p);
    const tenantId = p('TenantId').valueAsString;
    applyCostTags(this, {
      tenantId,
      tier: p('TierName').valueAsString,
      isolation: 'pool',
      templateVersion: p('TemplateVersion').valueAsString,
    });
    const tenant = new TenantRole(this, 'TenantRole', {
      tenantId,
      description: Fn.join('', ['Data access of pool tenant ', p('TenantSlug').valueAsString]),
      pooled: {
        tableArn: p('PooledTableArn').valueAsString,
        bucketName: p('ArtifactBucketName').valueAsString,
      },
    });
    outputTemplateVersion(this, p);
    new CfnOutput(this, 'TenantRoleArn', {
      value: tenant.roleArn,
      description: 'Role the tenant workloads assume',
    });
  }
}

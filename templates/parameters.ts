import { ControlPlaneError } from '../core/errors.js';
import { ISOLATION_MODELS, type Isolation, type Tier } from '../tiers/catalog.js';
import { PLATFORM_TAG_VALUE } from './constants.js';
import {
  listProblems,
  PARAMETER_SPECS,
  type ParameterName,
  TEMPLATE_PARAMETERS,
  valueProblem,
} from './parameter-specs.js';
import type { CfnParameterValue, CfnTag, PlatformOutputs } from './types.js';

/**
 * Tenant values reach a template only as CloudFormation Parameters. This module maps (tenant, tier,
 * platform outputs) to them and rejects, before any AWS call, what CloudFormation would reject.
 */

const STACK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]*$/;
/** Tenant stack names double as RDS-style identifiers in places, so they keep to RDS's 63 chars. */
const STACK_NAME_MAX = 63;

export interface TenantParameterInput {
  readonly tenantId: string;
  readonly slug: string;
  readonly tier: Tier;
  /** Silo only: principals allowed to connect to the endpoint service. Ignored by pool and bridge. */
  readonly allowedPrincipals: readonly string[];
  /** Version id of the template these parameters go with. */
  readonly templateVersion: string;
  /**
   * ARN of the managed policy every IAM role of the tenant stack gets as permissions boundary (on
   * AWS, the control plane's `<prefix>-tenant-role-boundary`, env TENANT_ROLE_BOUNDARY_ARN). Absent
   * or empty: no boundary (local mode).
   */
  readonly permissionsBoundaryArn?: string;
}

function invalid(field: string, received: unknown, accepted: string): ControlPlaneError {
  const shown = typeof received === 'string' ? JSON.stringify(received) : String(received);
  return new ControlPlaneError('INVALID_PARAMETER', `${field}: got ${shown}; accepted: ${accepted}`, {
    details: { field, received, accepted },
  });
}

/** Checks one value against its parameter's spec; throws INVALID_PARAMETER naming `field`. */
function checked(name: ParameterName, field: string, value: string | number | boolean): string {
  const problem = valueProblem(name, value);
  if (problem) throw invalid(field, value, problem.accepted);
  return PARAMETER_SPECS[name].type === 'Number' ? String(Number(value)) : String(value);
}

/** Checks a list value (the same rules the API applies, parameter-specs.ts); answers it joined. */
function checkedList(name: ParameterName, field: string, values: readonly string[], min: number): string {
  const [problem] = listProblems(name, values, min);
  if (problem)
    throw invalid(
      problem.index === undefined ? field : `${field}[${problem.index}]`,
      problem.received,
      problem.accepted,
    );
  return values.join(',');
}

/** The account of a stack ARN; INVALID_PARAMETER for anything else (an empty one would drop the trust). */
function accountOfStackArn(stackArn: string): string {
  const account = /^arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:(\d{12}):stack\//.exec(stackArn)?.[1];
  if (!account)
    throw invalid(
      'platform.stackId',
      stackArn,
      'a CloudFormation stack ARN (arn:aws:cloudformation:<region>:<account>:stack/…)',
    );
  return account;
}

/** Deterministic, valid CloudFormation stack name of a tenant's stack for one isolation model. */
export function tenantStackName(prefix: string, slug: string, isolation: Isolation): string {
  checked('TenantSlug', 'slug', slug);
  const name = `${prefix}-${slug}-${isolation}`;
  if (
    !STACK_NAME_PATTERN.test(prefix) ||
    prefix.endsWith('-') ||
    name.length > STACK_NAME_MAX ||
    name.includes('--')
  ) {
    throw invalid(
      'prefix',
      prefix,
      `a prefix starting with a letter, of letters, digits and single hyphens, leaving the stack name (${name.length} chars) at most ${STACK_NAME_MAX} chars`,
    );
  }
  return name;
}

/** The platform stack's name for a resource prefix. */
export function platformStackName(prefix: string): string {
  const name = `${prefix}-platform`;
  if (!STACK_NAME_PATTERN.test(prefix) || prefix.endsWith('-') || name.length > STACK_NAME_MAX) {
    throw invalid('prefix', prefix, 'a prefix starting with a letter, of letters, digits and single hyphens');
  }
  return name;
}

/** The four cost-allocation tags of a tenant stack (CloudFormation copies stack tags to resources). */
export function tenantStackTags(input: {
  tenantId: string;
  tier: string;
  isolation: Isolation;
  templateVersion: string;
}): CfnTag[] {
  if (!ISOLATION_MODELS.includes(input.isolation))
    throw invalid('isolation', input.isolation, ISOLATION_MODELS.join(', '));
  return [
    { Key: 'TenantId', Value: checked('TenantId', 'tenantId', input.tenantId) },
    { Key: 'Tier', Value: checked('TierName', 'tier', input.tier) },
    { Key: 'Isolation', Value: input.isolation },
    { Key: 'TemplateVersion', Value: checked('TemplateVersion', 'templateVersion', input.templateVersion) },
  ];
}

/** The same four tags for the platform stack, whose resources belong to no one tenant. */
export function platformStackTags(templateVersion: string): CfnTag[] {
  return [
    { Key: 'TenantId', Value: PLATFORM_TAG_VALUE },
    { Key: 'Tier', Value: PLATFORM_TAG_VALUE },
    { Key: 'Isolation', Value: PLATFORM_TAG_VALUE },
    { Key: 'TemplateVersion', Value: checked('TemplateVersion', 'templateVersion', templateVersion) },
  ];
}

/**
 * The CloudFormation Parameters of the tenant's template (the one for `tier.isolation`), exactly
 * the names that template declares. Throws INVALID_PARAMETER naming the field and what is accepted.
 */
export function buildTenantParameters(
  input: TenantParameterInput,
  platform: PlatformOutputs,
): CfnParameterValue[] {
  const { tier } = input;
  const { isolation } = tier;
  // [parameter, the input field it comes from (named in errors), value], for this isolation model.
  const scalars: [ParameterName, string, string | number | boolean][] = [
    ['TenantId', 'tenantId', input.tenantId],
    ['TenantSlug', 'slug', input.slug],
    ['TierName', 'tier.name', tier.name],
    ['TemplateVersion', 'templateVersion', input.templateVersion],
    ['PermissionsBoundaryArn', 'permissionsBoundaryArn', input.permissionsBoundaryArn ?? ''],
  ];
  const lists: [ParameterName, string, readonly string[], number][] = [];
  if (isolation === 'pool' || isolation === 'bridge') {
    scalars.push(
      ['PooledTableArn', 'platform.pooledTableArn', platform.pooledTableArn],
      ['ArtifactBucketName', 'platform.artifactBucketName', platform.artifactBucketName],
    );
  }
  if (isolation === 'bridge') {
    scalars.push(['VpcId', 'platform.vpcId', platform.vpcId]);
    lists.push(['SubnetIds', 'platform.isolatedSubnetIds', platform.isolatedSubnetIds, 2]);
  }
  if (isolation === 'bridge' || isolation === 'silo') {
    const db = tier.database;
    if (!db)
      throw invalid(
        'tier.database',
        undefined,
        `${isolation} tiers need a database (instanceClass, allocatedStorageGb, multiAz, backupRetentionDays)`,
      );
    scalars.push(
      ['DbInstanceClass', 'tier.database.instanceClass', db.instanceClass],
      ['DbAllocatedStorage', 'tier.database.allocatedStorageGb', db.allocatedStorageGb],
      ['DbMultiAz', 'tier.database.multiAz', db.multiAz],
      ['DbBackupRetentionDays', 'tier.database.backupRetentionDays', db.backupRetentionDays],
    );
  }
  if (isolation === 'bridge' || isolation === 'silo') {
    const controls = tier.noisyNeighbour;
    const queue = controls?.tenantQueue;
    scalars.push(
      [
        'WorkerReservedConcurrency',
        'tier.noisyNeighbour.reservedConcurrency',
        controls?.reservedConcurrency ?? 0,
      ],
      ['TenantQueue', 'tier.noisyNeighbour.tenantQueue', queue !== undefined],
      [
        'QueueVisibilityTimeout',
        'tier.noisyNeighbour.tenantQueue.visibilityTimeoutSeconds',
        queue?.visibilityTimeoutSeconds ?? PARAMETER_SPECS.QueueVisibilityTimeout.default,
      ],
      [
        'QueueMaxReceiveCount',
        'tier.noisyNeighbour.tenantQueue.maxReceiveCount',
        queue?.maxReceiveCount ?? PARAMETER_SPECS.QueueMaxReceiveCount.default,
      ],
    );
  }
  if (isolation === 'silo') {
    lists.push(['AllowedPrincipals', 'allowedPrincipals', input.allowedPrincipals, 0]);
    // A dedicated account's tenant role trusts the control plane's account, the platform stack's:
    // arn:…:cloudformation:<region>:<account>:stack/…
    const controlPlaneAccount = tier.dedicatedAccount ? accountOfStackArn(platform.stackId) : '';
    scalars.push(['ControlPlaneAccountId', 'platform.stackId', controlPlaneAccount]);
  }
  const values: Partial<Record<ParameterName, string>> = {};
  for (const [name, field, value] of scalars) values[name] = checked(name, field, value);
  for (const [name, field, list, min] of lists) values[name] = checkedList(name, field, list, min);
  return TEMPLATE_PARAMETERS[isolation].map((name) => {
    const value = values[name];
    if (value === undefined)
      throw new ControlPlaneError('INTERNAL', `no value for template parameter ${name}`);
    return { ParameterKey: name, ParameterValue: value };
  });
}

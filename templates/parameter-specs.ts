import { z } from 'zod';
import { SLUG_PATTERN } from '../core/registry/records.js';
import type { TemplateKind } from './types.js';

/**
 * Every CloudFormation Parameter a template declares, in one place: the stacks declare them from
 * here, the parameter-set builder validates tenant values against the same rules, and the API
 * validates the values a caller gives (allowedPrincipals) with `parameterListSchema`, so a value the
 * API accepts is one the builder and CloudFormation accept.
 */
export interface ParameterSpec {
  readonly type:
    | 'String'
    | 'Number'
    | 'CommaDelimitedList'
    | 'AWS::EC2::VPC::Id'
    | 'List<AWS::EC2::Subnet::Id>';
  readonly description: string;
  /** A whole-value pattern (CloudFormation anchors AllowedPattern itself). */
  readonly pattern?: string;
  readonly allowedValues?: readonly string[];
  readonly minValue?: number;
  readonly maxValue?: number;
  readonly default?: string;
  /** What is accepted, in words: CloudFormation's ConstraintDescription and our INVALID_PARAMETER text. */
  readonly accepted: string;
  /** Lists: each value at most once (CloudFormation and IAM refuse repeated principals). */
  readonly unique?: boolean;
}

/** CloudFormation's limit on one parameter value; a list's values count joined with commas. */
export const PARAMETER_VALUE_MAX_BYTES = 4096;

export const PARAMETER_SPECS = {
  TenantId: {
    type: 'String',
    description: 'The tenant id; scopes every policy statement that touches tenant data.',
    pattern: '^t_[0-9A-HJKMNP-TV-Z]{26}$',
    accepted: 't_ followed by a 26-character ULID',
  },
  TenantSlug: {
    type: 'String',
    description: 'The tenant slug, for descriptions humans read.',
    // The registry's one slug rule (core/registry/records.ts).
    pattern: SLUG_PATTERN.source,
    accepted:
      '3 to 32 lowercase letters, digits or single hyphens, starting with a letter, not ending with -',
  },
  TierName: {
    type: 'String',
    description: "The tenant's tier in the tier catalog.",
    pattern: '^[a-z][a-z0-9-]{1,30}[a-z0-9]$',
    accepted: '3 to 32 lowercase letters, digits or -, starting with a letter',
  },
  TemplateVersion: {
    type: 'String',
    description:
      'Version id of this template (first 12 hex digits of its sha256), for the TemplateVersion tag.',
    pattern: '^[0-9a-f]{12}$',
    accepted: '12 lowercase hex digits',
  },
  PooledTableArn: {
    type: 'String',
    description: "ARN of the platform's pooled DynamoDB table.",
    pattern: '^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$',
    accepted: 'a DynamoDB table ARN',
  },
  ArtifactBucketName: {
    type: 'String',
    description: "Name of the platform's artifact bucket (pooled objects live under tenants/<TenantId>/).",
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    accepted: 'an S3 bucket name: 3 to 63 lowercase letters, digits, . or -',
  },
  VpcId: {
    type: 'AWS::EC2::VPC::Id',
    description: "The platform's shared VPC.",
    pattern: '^vpc-[0-9a-f]{8,17}$',
    accepted: 'a VPC id (vpc-…)',
  },
  SubnetIds: {
    type: 'List<AWS::EC2::Subnet::Id>',
    description: "The shared VPC's isolated subnets, in two AZs, for the tenant database.",
    pattern: '^subnet-[0-9a-f]{8,17}$',
    accepted: 'two or more subnet ids (subnet-…) in different AZs',
  },
  DbInstanceClass: {
    type: 'String',
    description: 'RDS instance class of the tenant database.',
    pattern: '^db\\.[a-z0-9]+\\.[a-z0-9]+$',
    accepted: 'an RDS instance class such as db.t4g.micro',
  },
  DbAllocatedStorage: {
    type: 'Number',
    description: 'Allocated gp3 storage of the tenant database, in GiB.',
    minValue: 20,
    maxValue: 65_536,
    accepted: 'an integer from 20 to 65536 (GiB of gp3 storage for PostgreSQL)',
  },
  DbMultiAz: {
    type: 'String',
    description: 'Whether the tenant database has a standby in a second AZ.',
    allowedValues: ['true', 'false'],
    accepted: 'true or false',
  },
  DbBackupRetentionDays: {
    type: 'Number',
    description: 'Days of automated backups of the tenant database.',
    minValue: 1,
    maxValue: 35,
    accepted: 'an integer from 1 to 35',
  },
  AllowedPrincipals: {
    type: 'CommaDelimitedList',
    description: 'IAM principal ARNs allowed to connect to the PrivateLink endpoint service; empty for none.',
    // IAM names may hold commas; these may not, as a comma would split the list.
    pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/[\\w+=.@/-]{1,512}|user/[\\w+=.@/-]{1,512})$',
    default: '',
    unique: true,
    accepted:
      'IAM principal ARNs (arn:aws:iam::<12-digit account>:root, :role/<name> or :user/<name>), no wildcards or commas',
  },
  WorkerReservedConcurrency: {
    type: 'Number',
    description:
      "ReservedConcurrentExecutions of the tenant's worker function (the tier's noisyNeighbour.reservedConcurrency); 0 for no worker function.",
    minValue: 0,
    maxValue: 1_000_000,
    default: '0',
    accepted: 'an integer from 0 (no worker function) to the reservable Lambda concurrency of the account',
  },
  TenantQueue: {
    type: 'String',
    description:
      "Whether the tenant gets its own SQS queue and dead-letter queue (the tier's noisyNeighbour.tenantQueue).",
    allowedValues: ['true', 'false'],
    default: 'false',
    accepted: 'true or false',
  },
  QueueVisibilityTimeout: {
    type: 'Number',
    description: 'Visibility timeout of the tenant queue, in seconds.',
    minValue: 0,
    maxValue: 43_200,
    default: '30',
    accepted: 'an integer from 0 to 43200 (seconds)',
  },
  QueueMaxReceiveCount: {
    type: 'Number',
    description: 'Receives of a message before it moves to the dead-letter queue.',
    minValue: 1,
    maxValue: 1000,
    default: '5',
    accepted: 'an integer from 1 to 1000',
  },
  ControlPlaneAccountId: {
    type: 'String',
    description:
      "The control plane's account, which the tenant role then trusts for token vending; empty unless the stack runs in a dedicated account.",
    pattern: '^$|^[0-9]{12}$',
    default: '',
    accepted: 'empty, or a 12-digit AWS account id',
  },
  PermissionsBoundaryArn: {
    type: 'String',
    description:
      'ARN of the managed policy set as permissions boundary on every IAM role of the stack; empty for none.',
    // Empty, or a customer-managed policy ARN; AWS managed ones (account "aws") never match.
    pattern: '^$|^arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]{1,128}$',
    default: '',
    accepted: 'empty, or an IAM policy ARN (arn:aws:iam::<12-digit account>:policy/<name>)',
  },
} as const satisfies Record<string, ParameterSpec>;

export type ParameterName = keyof typeof PARAMETER_SPECS;

const TENANT_COMMON = [
  'TenantId',
  'TenantSlug',
  'TierName',
  'TemplateVersion',
] as const satisfies readonly ParameterName[];
const POOLED_DATA = ['PooledTableArn', 'ArtifactBucketName'] as const satisfies readonly ParameterName[];
const DATABASE = [
  'DbInstanceClass',
  'DbAllocatedStorage',
  'DbMultiAz',
  'DbBackupRetentionDays',
] as const satisfies readonly ParameterName[];

/** Noisy-neighbour controls of the tier (bridge and silo): defaults provision nothing. */
const NOISY_NEIGHBOUR = [
  'WorkerReservedConcurrency',
  'TenantQueue',
  'QueueVisibilityTimeout',
  'QueueMaxReceiveCount',
] as const satisfies readonly ParameterName[];

/**
 * Every tenant template sets it on each IAM role it creates: on AWS the stacks' CloudFormation role
 * may create roles only under the tenant permissions boundary (docs/deploy.md); locally it is empty.
 */
const BOUNDARY = ['PermissionsBoundaryArn'] as const satisfies readonly ParameterName[];

/** The parameters each template declares, in declaration order. */
export const TEMPLATE_PARAMETERS: Record<TemplateKind, readonly ParameterName[]> = {
  platform: ['TemplateVersion'],
  pool: [...TENANT_COMMON, ...POOLED_DATA, ...BOUNDARY],
  bridge: [
    ...TENANT_COMMON,
    ...POOLED_DATA,
    'VpcId',
    'SubnetIds',
    ...DATABASE,
    ...NOISY_NEIGHBOUR,
    ...BOUNDARY,
  ],
  silo: [
    ...TENANT_COMMON,
    ...DATABASE,
    'AllowedPrincipals',
    ...NOISY_NEIGHBOUR,
    'ControlPlaneAccountId',
    ...BOUNDARY,
  ],
};

// ---------------------------------------------------------------- the rules, applied

/** What is wrong with one value: `index` for a list entry, what was received, what is accepted. */
export interface ParameterProblem {
  readonly index?: number;
  readonly received: unknown;
  readonly accepted: string;
}

const compiled = new Map<string, RegExp>();
function matches(spec: ParameterSpec, value: string): boolean {
  if (spec.pattern === undefined) return true;
  let re = compiled.get(spec.pattern);
  if (!re) {
    re = new RegExp(spec.pattern);
    compiled.set(spec.pattern, re);
  }
  return re.test(value);
}

/** The problem with one value of parameter `name`, or undefined when CloudFormation accepts it. */
export function valueProblem(name: ParameterName, value: unknown): ParameterProblem | undefined {
  const spec: ParameterSpec = PARAMETER_SPECS[name];
  const text = String(value);
  if (spec.type === 'Number') {
    const n = typeof value === 'number' ? value : Number(text);
    const inRange =
      text.trim() !== '' &&
      Number.isInteger(n) &&
      (spec.minValue === undefined || n >= spec.minValue) &&
      (spec.maxValue === undefined || n <= spec.maxValue);
    return inRange ? undefined : { received: value, accepted: spec.accepted };
  }
  const ok =
    (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') &&
    (!spec.allowedValues || spec.allowedValues.includes(text)) &&
    matches(spec, text) &&
    Buffer.byteLength(text) <= PARAMETER_VALUE_MAX_BYTES;
  return ok ? undefined : { received: value, accepted: spec.accepted };
}

/**
 * Every problem with a list value of parameter `name`: each entry against the pattern, repeats
 * (when the spec says unique), fewer than `min` entries, and the joined value over CloudFormation's
 * 4,096 bytes.
 */
export function listProblems(name: ParameterName, values: readonly unknown[], min = 0): ParameterProblem[] {
  const spec: ParameterSpec = PARAMETER_SPECS[name];
  if (values.length < min)
    return [{ received: `[${values.join(', ')}]`, accepted: `at least ${min}: ${spec.accepted}` }];
  const problems: ParameterProblem[] = [];
  const seen = new Set<unknown>();
  values.forEach((v, index) => {
    if (typeof v !== 'string' || !matches(spec, v))
      problems.push({ index, received: v, accepted: spec.accepted });
    else if (spec.unique && seen.has(v)) problems.push({ index, received: v, accepted: 'each value once' });
    seen.add(v);
  });
  const bytes = Buffer.byteLength(values.join(','));
  if (bytes > PARAMETER_VALUE_MAX_BYTES)
    problems.push({
      received: `${values.length} values, ${bytes} bytes`,
      accepted: `at most ${PARAMETER_VALUE_MAX_BYTES} bytes joined with commas`,
    });
  return problems;
}

/**
 * The API's zod check of a list parameter a caller gives, derived from the spec: the same rules the
 * builder applies. Its issues carry `params.parameter` (the template parameter's name), which the
 * API answers as INVALID_PARAMETER.
 */
export function parameterListSchema(name: ParameterName, options: { maxItems: number }) {
  const spec: ParameterSpec = PARAMETER_SPECS[name];
  return z
    .array(
      z
        .string()
        .trim()
        .meta(spec.pattern ? { pattern: spec.pattern } : {}),
    )
    .max(options.maxItems)
    .superRefine((values, ctx) => {
      for (const p of listProblems(name, values)) {
        const shown = typeof p.received === 'string' ? JSON.stringify(p.received) : String(p.received);
        ctx.addIssue({
          code: 'custom',
          path: p.index === undefined ? [] : [p.index],
          message: `got ${shown}; accepted: ${p.accepted}`,
          params: { parameter: name, accepted: p.accepted },
        });
      }
    })
    .meta({
      description: `${spec.description} ${spec.accepted}; at most ${PARAMETER_VALUE_MAX_BYTES} bytes joined.`,
    });
}

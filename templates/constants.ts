/**
 * Bump whenever the stacks (templates/stacks) or the emulator adaptation (templates/emulator.ts)
 * change what they produce. It is part of the synthesis cache key, so a disk cache written by older
 * code is never reused. (The template version id itself is the content hash of the body.)
 */
export const TEMPLATE_CODE_VERSION = '2026-11-24.data';

/**
 * A full minor version, so the template says exactly what runs and cfn-lint's W3691 (deprecated
 * engine version) stays quiet: 17.9 is current in cfn-lint 1.51's RDS data (17.1 and 17.3 are
 * deprecated there, as are the bare majors).
 */
export const POSTGRES_ENGINE_VERSION = '17.9';
export const POSTGRES_PORT = 5432;

/** CloudFormation's limit on an inline TemplateBody; above it a TemplateURL in S3 is required. */
export const TEMPLATE_BODY_LIMIT = 51_200;

/** The cost-allocation tags on every tenant stack and every taggable resource in it. */
export const TAG_KEYS = ['TenantId', 'Tier', 'Isolation', 'TemplateVersion'] as const;
export type TagKey = (typeof TAG_KEYS)[number];

/** Tag values the platform stack carries in place of a tenant's. */
export const PLATFORM_TAG_VALUE = 'platform';

/** Key prefix for pool tenants' objects in the artifact bucket: `tenants/<TenantId>/…`. */
export const TENANT_OBJECT_PREFIX = 'tenants';
/** Key prefix for published templates in the artifact bucket. */
export const TEMPLATE_OBJECT_PREFIX = 'templates';

/**
 * Item actions that always carry a partition key, so dynamodb:LeadingKeys is always present. Also
 * the ceiling of the tenant roles' permissions boundary (control-plane/infra/iam.ts).
 */
export const ITEM_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

/** What a tenant queue's policy fences by TenantId: every action on its messages. */
export const TENANT_QUEUE_DATA_ACTIONS: readonly string[] = [
  'sqs:SendMessage',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:PurgeQueue',
];

/** Runtime of the tenant worker function's placeholder code. */
export const TENANT_WORKER_RUNTIME = 'nodejs22.x';

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ControlPlaneError, issuesToFields } from './errors.js';
import { QUOTA_NAMES } from './quotas/rules.js';
import { IsolationSchema } from './rollouts/records.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
]);

/**
 * Every setting of the control plane, in one schema: validated once at start-up, documented in
 * docs/configuration.md (a test checks every key is there). Sources, lowest precedence first:
 * defaults, the JSON file named by CONTROL_PLANE_CONFIG, environment variables.
 */
/** A comma-separated string as its trimmed, non-empty entries (any other value as it is). */
const splitList = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean)
    : v;

/** A comma-separated list of AWS regions (or an array of them); empty by default. */
const regionList = () =>
  z
    .preprocess(
      splitList,
      z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'AWS regions such as us-east-1,eu-west-1')),
    )
    .default([]);

export const ConfigSchema = z
  .object({
    /** `local`: moto sidecar unless awsEndpoint is set. `aws`: real AWS with the default credential chain. */
    target: z.enum(['local', 'aws']).default('local'),
    /** Explicit AWS endpoint (LocalStack, an already running moto). Loopback only in local mode. */
    awsEndpoint: z.url().optional(),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
      .default('us-east-1'),
    dataDir: z.string().min(1).default('.data'),
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(3000),
    /** Port for the moto sidecar; 0 picks a free one. */
    localAwsPort: port.default(0),
    registryTable: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'a DynamoDB table name')
      .default('tenant-control-plane-registry'),
    /** Name prefix of every resource the control plane creates; tenant stacks are `<prefix>-<slug>-…`. */
    resourcePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,20}$/, 'lowercase letters, digits and -, 2 to 21 chars')
      .default('tcp'),
    adminKey: z.string().min(24, 'at least 24 characters').optional(),
    signupWebhookSecret: z.string().min(16, 'at least 16 characters').optional(),
    /** Largest request body accepted, in bytes. */
    bodyLimit: positiveInt.default(256 * 1024),
    engine: z.enum(['local', 'stepfunctions']).default('local'),
    /** ARN prefix of the deployed state machines, for the stepfunctions engine. */
    stateMachineArnPrefix: z.string().optional(),
    tierCatalogFile: z.string().optional(),
    /** Role CloudFormation assumes for tenant stacks (RoleARN); set by the control-plane stack on AWS. */
    cloudFormationRoleArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN')
      .optional(),
    /** Permissions boundary every role of a tenant stack must carry on AWS. */
    tenantRoleBoundaryArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:policy\/.+$/, 'an IAM policy ARN')
      .optional(),
    /** Stack create/update/delete calls in flight at once, across all workflows. */
    maxStackOperations: positiveInt.default(10),
    /** Cognito user-creating calls per second, across all workflows (AWS allows 50). */
    cognitoUsersPerSecond: positiveInt.max(50).default(50),
    /** First poll interval while waiting on CloudFormation; doubles up to 10x with jitter. */
    stackPollMs: positiveInt.default(2000),
    /**
     * A control plane whose heartbeat is older than this is presumed dead, and the operations it ran
     * are taken over by another (a restart on the same host takes over at once).
     */
    operationClaimSeconds: positiveInt.min(3).default(30),
    /** Registry re-read interval of a long poll on an operation this process does not run. */
    operationWatchPollMs: positiveInt.default(1000),
    /** How long a migration hand-off waits for the application plane. */
    migrationCallbackTimeoutSeconds: positiveInt.default(24 * 3600),
    /** Days an offboarded tenant's data export is kept (its manifest's expiry). */
    tenantExportRetentionDays: positiveInt.max(3650).default(90),
    accountEmailPattern: z
      .string()
      .refine((s) => s.includes('{slug}') && s.includes('@'), 'an email address containing {slug}')
      .default('aws+{slug}@example.com'),
    accountOuPath: z
      .string()
      .regex(/^[A-Za-z0-9 _-]+(\/[A-Za-z0-9 _-]+)*$/, 'an OU path such as tenants/silo')
      .default('tenants/silo'),
    accountRoleName: z.string().min(1).default('OrganizationAccountAccessRole'),
    /** Cognito user pool whose JWTs the API accepts (besides API keys). */
    jwtIssuer: z.url().optional(),
    jwtAudience: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** `auto`: pretty lines on a terminal, JSON lines when piped; or always `pretty` / `json`. */
    logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
    /** Regions tenants may ask for (comma-separated); empty: the control plane's own region only. */
    allowedRegions: regionList(),
    /**
     * WORKFLOW_ENGINE=stepfunctions: the regions besides the control plane's own that the AWS
     * deployment has a platform in and is granted (the CDK app sets it from its allowed regions).
     */
    platformRegions: regionList(),
    /**
     * WORKFLOW_ENGINE=stepfunctions: the template versions the task function's bundle carries, by
     * isolation model (`pool=<id>,bridge=<id>,silo=<id>`; the CDK app sets it). `latest` resolves to
     * them before the task function's first start has registered them.
     */
    bundledTemplateVersions: z
      .preprocess(
        (v) =>
          typeof v === 'string'
            ? Object.fromEntries(
                (splitList(v) as string[]).map((pair) => pair.split('=').map((x) => x.trim())),
              )
            : v,
        z.partialRecord(
          IsolationSchema,
          z
            .string()
            .regex(
              /^[0-9a-f]{12}$/,
              'template version ids (12 hex digits) by isolation: pool=<id>,bridge=<id>,silo=<id>',
            ),
        ),
      )
      .default({}),
    /** After an API key is rotated, how long its previous secret keeps working (0: not at all). */
    apiKeyRotationOverlapSeconds: z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(3600),
    /** Resume operations left RUNNING by a previous process at start-up. */
    resumeOnStart: bool.default(true),
    /** Check AWS quotas before accepting an onboarding (core/quotas). */
    quotaPrecheck: bool.default(true),
    /** How long a quota reading is reused before AWS is asked again. */
    quotaCacheSeconds: z.coerce.number().int().min(0).max(3600).default(30),
    /** Limits per quota (JSON object) that stand in where AWS gives none, or lower AWS's. */
    quotaLimits: z
      .preprocess(
        (v) => {
          if (typeof v !== 'string') return v;
          try {
            return JSON.parse(v);
          } catch {
            return v;
          }
        },
        z.partialRecord(z.enum(QUOTA_NAMES), z.number().int().nonnegative()),
      )
      .default({}),
    /** Stripe secret API key: set, billing runs on Stripe (docs/billing.md); unset, billing steps are skipped. */
    stripeSecretKey: z
      .string()
      .regex(/^(sk|rk)_(test|live)_\w{8,}$/, 'a Stripe secret key (sk_test_…, sk_live_… or rk_…)')
      .optional(),
    /** Stripe's API base URL; tests point it at a local double. Loopback only in local mode. */
    stripeApiBase: z.url().optional(),
    /** Signing secret of the Stripe webhook endpoint (whsec_…): unset, POST /v1/webhooks/stripe answers 503. */
    stripeWebhookSecret: z.string().min(16, 'at least 16 characters').optional(),
    /** Seconds between reconcile runs in the server process (docs/reconcile.md); 0: none scheduled. */
    reconcileIntervalSeconds: z.coerce.number().int().min(0).default(0),
    /** Seconds between usage reports to the billing provider (meter events) in the server process; 0: none. */
    usageReportIntervalSeconds: z.coerce.number().int().min(0).default(3600),
    /** Tenants a reconcile run compares at once. */
    reconcileConcurrency: positiveInt.max(64).default(4),
    /** Stack drift detections in flight at once (CloudFormation throttles DetectStackDrift). */
    reconcileDriftConcurrency: positiveInt.max(20).default(2),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable for each setting. Kept next to the schema so docs and code agree. */
export const ENV_VARS: Record<keyof Config, string> = {
  target: 'CONTROL_PLANE_TARGET',
  awsEndpoint: 'AWS_ENDPOINT_URL',
  region: 'AWS_REGION',
  dataDir: 'CONTROL_PLANE_DATA_DIR',
  host: 'HOST',
  port: 'PORT',
  localAwsPort: 'LOCAL_AWS_PORT',
  registryTable: 'REGISTRY_TABLE',
  resourcePrefix: 'RESOURCE_PREFIX',
  adminKey: 'CONTROL_PLANE_ADMIN_KEY',
  signupWebhookSecret: 'SIGNUP_WEBHOOK_SECRET',
  bodyLimit: 'BODY_LIMIT_BYTES',
  engine: 'WORKFLOW_ENGINE',
  stateMachineArnPrefix: 'STATE_MACHINE_ARN_PREFIX',
  tierCatalogFile: 'TIER_CATALOG_FILE',
  cloudFormationRoleArn: 'CLOUDFORMATION_ROLE_ARN',
  tenantRoleBoundaryArn: 'TENANT_ROLE_BOUNDARY_ARN',
  maxStackOperations: 'MAX_STACK_OPERATIONS',
  cognitoUsersPerSecond: 'COGNITO_USERS_PER_SECOND',
  stackPollMs: 'STACK_POLL_MS',
  operationWatchPollMs: 'OPERATION_WATCH_POLL_MS',
  operationClaimSeconds: 'OPERATION_CLAIM_SECONDS',
  reconcileIntervalSeconds: 'RECONCILE_INTERVAL_SECONDS',
  usageReportIntervalSeconds: 'USAGE_REPORT_INTERVAL_SECONDS',
  reconcileConcurrency: 'RECONCILE_CONCURRENCY',
  reconcileDriftConcurrency: 'RECONCILE_DRIFT_CONCURRENCY',
  migrationCallbackTimeoutSeconds: 'MIGRATION_CALLBACK_TIMEOUT_SECONDS',
  tenantExportRetentionDays: 'TENANT_EXPORT_RETENTION_DAYS',
  accountEmailPattern: 'ACCOUNT_EMAIL_PATTERN',
  accountOuPath: 'ACCOUNT_OU_PATH',
  accountRoleName: 'ACCOUNT_ROLE_NAME',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  logLevel: 'LOG_LEVEL',
  resumeOnStart: 'RESUME_ON_START',
  quotaPrecheck: 'QUOTA_PRECHECK',
  quotaCacheSeconds: 'QUOTA_CACHE_SECONDS',
  quotaLimits: 'QUOTA_LIMITS',
  stripeSecretKey: 'STRIPE_SECRET_KEY',
  stripeApiBase: 'STRIPE_API_BASE',
  stripeWebhookSecret: 'STRIPE_WEBHOOK_SECRET',
  apiKeyRotationOverlapSeconds: 'API_KEY_ROTATION_OVERLAP_SECONDS',
  allowedRegions: 'ALLOWED_REGIONS',
  platformRegions: 'PLATFORM_REGIONS',
  bundledTemplateVersions: 'BUNDLED_TEMPLATE_VERSIONS',
  logFormat: 'LOG_FORMAT',
};

export interface LoadConfigOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly argv?: readonly string[];
  /** Values that win over everything (tests). */
  readonly overrides?: Partial<Record<keyof Config, unknown>>;
}

/**
 * Reads, merges and validates the configuration. Throws CONFIG_INVALID listing every bad field
 * with the variable that set it.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  const file = env.CONTROL_PLANE_CONFIG;
  if (file) {
    const path = resolve(file);
    if (!existsSync(path)) {
      throw new ControlPlaneError(
        'CONFIG_INVALID',
        `CONTROL_PLANE_CONFIG names ${path}, which does not exist`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ControlPlaneError('CONFIG_INVALID', `${path} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ControlPlaneError('CONFIG_INVALID', `${path} must hold a JSON object of settings`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      raw[k] = v;
      source[k] = `${path}#${k}`;
    }
  }
  for (const [key, name] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      raw[key] = v;
      source[key] = name;
    }
  }
  if (options.argv?.includes('--aws')) {
    raw.target = 'aws';
    source.target = '--aws';
  }
  for (const [k, v] of Object.entries(options.overrides ?? {})) {
    if (v !== undefined) {
      raw[k] = v;
      source[k] = 'override';
    }
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const fields = issuesToFields(result.error.issues).map((f) => ({
      ...f,
      source: source[f.path.split('.')[0] ?? ''] ?? 'default',
    }));
    const lines = fields.map((f) => `  - ${f.path} (${f.source}): ${f.message}`).join('\n');
    throw new ControlPlaneError('CONFIG_INVALID', `invalid configuration:\n${lines}`, { details: fields });
  }
  const config = result.data;
  if (config.awsEndpoint && config.target === 'local' && !isLoopbackUrl(config.awsEndpoint)) {
    throw new ControlPlaneError(
      'CONFIG_INVALID',
      `invalid configuration:\n  - awsEndpoint (AWS_ENDPOINT_URL): local mode only talks to loopback (127.0.0.0/8, localhost, [::1]); got ${config.awsEndpoint}. Use CONTROL_PLANE_TARGET=aws for a remote endpoint.`,
    );
  }
  if (config.stripeApiBase && config.target === 'local' && !isLoopbackUrl(config.stripeApiBase)) {
    throw new ControlPlaneError(
      'CONFIG_INVALID',
      `invalid configuration:\n  - stripeApiBase (STRIPE_API_BASE): local mode only talks to loopback (127.0.0.0/8, localhost, [::1]); got ${config.stripeApiBase}. Leave it unset for Stripe's own API.`,
    );
  }
  return config;
}

export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigSchema } from '../../core/config.js';
import { ControlPlaneError } from '../../core/errors.js';

/**
 * How the task and API functions get their code.
 * - `esbuild`: NodejsFunction bundles the entry with esbuild (what `cdk deploy` ships).
 * - `prebuilt-stub`: a few bytes of inline code that throws; synthesizes in milliseconds, needs no
 *   asset bucket. For tests and for deploying the infrastructure to an emulator only.
 */
export type FunctionBundling = 'esbuild' | 'prebuilt-stub';
export const FUNCTION_BUNDLINGS: readonly FunctionBundling[] = ['esbuild', 'prebuilt-stub'];

/** Everything the control-plane CDK app is configured with (see docs/deploy.md). */
export interface InfraSettings {
  /** The control plane's resource prefix (`RESOURCE_PREFIX`): tenant stacks are `<prefix>-<slug>-<isolation>`. */
  readonly prefix: string;
  /** @default 'esbuild' */
  readonly bundling: FunctionBundling;
  /** The registry table's name. @default `<prefix>-registry` */
  readonly registryTable: string;
  /** A tier catalog JSON file shipped with both functions. @default the built-in catalog */
  readonly tierCatalogFile?: string | undefined;
  /** Where the tenant templates are synthesized before they are copied into the task bundle. */
  readonly templateCacheDir: string;
  /** Subscribed to the alarm topic when set. */
  readonly alarmEmail?: string | undefined;
  /** Dedicated-account settings passed to the task function (config keys of the same names). */
  readonly accountEmailPattern?: string | undefined;
  readonly accountOuPath?: string | undefined;
  readonly accountRoleName: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Billing on Stripe (docs/billing.md): Secrets Manager secrets the operator created holding the
   * Stripe secret key (sk_…) and the webhook signing secret (whsec_…). Unset: no billing on AWS.
   */
  readonly stripeSecretKeyArn?: string | undefined;
  readonly stripeWebhookSecretArn?: string | undefined;
  /**
   * Regions tenants may live in (`ALLOWED_REGIONS`, the functions' setting of the same name): the
   * app declares a platform in each and grants the functions each. @default [] (the home region only)
   */
  readonly allowedRegions: readonly string[];
}

/** Context keys (`cdk deploy -c key=value`) and the environment variables that back them. */
export const SETTING_SOURCES = {
  prefix: { context: 'prefix', env: 'RESOURCE_PREFIX' },
  bundling: { context: 'bundling', env: 'TCP_FUNCTION_BUNDLING' },
  registryTable: { context: 'registryTable', env: 'REGISTRY_TABLE' },
  tierCatalogFile: { context: 'tierCatalogFile', env: 'TIER_CATALOG_FILE' },
  templateCacheDir: { context: 'templateCacheDir', env: 'TCP_TEMPLATE_CACHE_DIR' },
  alarmEmail: { context: 'alarmEmail', env: 'ALARM_EMAIL' },
  accountEmailPattern: { context: 'accountEmailPattern', env: 'ACCOUNT_EMAIL_PATTERN' },
  accountOuPath: { context: 'accountOuPath', env: 'ACCOUNT_OU_PATH' },
  accountRoleName: { context: 'accountRoleName', env: 'ACCOUNT_ROLE_NAME' },
  logLevel: { context: 'logLevel', env: 'LOG_LEVEL' },
  stripeSecretKeyArn: { context: 'stripeSecretKeyArn', env: 'STRIPE_SECRET_KEY_SECRET_ARN' },
  stripeWebhookSecretArn: { context: 'stripeWebhookSecretArn', env: 'STRIPE_WEBHOOK_SECRET_SECRET_ARN' },
  allowedRegions: { context: 'allowedRegions', env: 'ALLOWED_REGIONS' },
} as const satisfies Record<keyof InfraSettings, { context: string; env: string }>;

/** A complete secret ARN (with the six-character suffix Secrets Manager adds): IAM grants need it. */
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

function invalid(field: string, received: unknown, accepted: string): ControlPlaneError {
  return new ControlPlaneError(
    'CONFIG_INVALID',
    `control-plane infra: ${field}: got ${JSON.stringify(received)}; accepted: ${accepted}`,
    { details: { field, received, accepted } },
  );
}

/**
 * Validates the settings with the same rules the control plane applies to its own configuration
 * (core/config.ts), so a prefix the CDK app accepts is one the functions accept at start-up.
 * `lookup(name)` reads a raw value (CDK context first, then the environment; see app.ts).
 */
export function resolveSettings(
  lookup: (source: { context: string; env: string }) => string | undefined,
): InfraSettings {
  const raw = (key: keyof typeof SETTING_SOURCES) => {
    const v = lookup(SETTING_SOURCES[key]);
    return v === undefined || v === '' ? undefined : v;
  };
  const shape = ConfigSchema.shape;
  const check = <T>(
    field: string,
    schema: { safeParse(v: unknown): { success: boolean; data?: T } },
    v: unknown,
    accepted: string,
  ): T => {
    const out = schema.safeParse(v);
    if (!out.success) throw invalid(field, v, accepted);
    return out.data as T;
  };
  const prefix = check<string>(
    'prefix',
    shape.resourcePrefix,
    raw('prefix'),
    'lowercase letters, digits and -, 2 to 21 chars',
  );
  const bundling = (raw('bundling') ?? 'esbuild') as FunctionBundling;
  if (!FUNCTION_BUNDLINGS.includes(bundling))
    throw invalid('bundling', bundling, FUNCTION_BUNDLINGS.join(', '));
  const registryTable = check<string>(
    'registryTable',
    shape.registryTable,
    raw('registryTable') ?? `${prefix}-registry`,
    'a DynamoDB table name',
  );
  const tierCatalogFile = raw('tierCatalogFile');
  if (tierCatalogFile && !existsSync(resolve(tierCatalogFile)))
    throw invalid('tierCatalogFile', tierCatalogFile, 'an existing tier catalog JSON file');
  const accountEmailPattern = raw('accountEmailPattern');
  if (accountEmailPattern !== undefined)
    check(
      'accountEmailPattern',
      shape.accountEmailPattern,
      accountEmailPattern,
      'an email address containing {slug}',
    );
  const accountOuPath = raw('accountOuPath');
  if (accountOuPath !== undefined)
    check('accountOuPath', shape.accountOuPath, accountOuPath, 'an OU path such as tenants/silo');
  const logLevel = check<InfraSettings['logLevel']>(
    'logLevel',
    shape.logLevel,
    raw('logLevel'),
    'fatal, error, warn, info, debug, trace or silent',
  );
  const secretArn = (key: 'stripeSecretKeyArn' | 'stripeWebhookSecretArn') => {
    const v = raw(key);
    if (v !== undefined && !SECRET_ARN.test(v))
      throw invalid(
        key,
        v,
        'a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)',
      );
    return v;
  };
  const stripeSecretKeyArn = secretArn('stripeSecretKeyArn');
  const stripeWebhookSecretArn = secretArn('stripeWebhookSecretArn');
  const allowedRegions = check<string[]>(
    'allowedRegions',
    shape.allowedRegions,
    raw('allowedRegions'),
    'comma-separated AWS regions such as us-east-1,eu-west-1',
  );
  const alarmEmail = raw('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail))
    throw invalid('alarmEmail', alarmEmail, 'an email address');
  return {
    prefix,
    bundling,
    registryTable,
    tierCatalogFile: tierCatalogFile ? resolve(tierCatalogFile) : undefined,
    templateCacheDir: resolve(raw('templateCacheDir') ?? '.data/templates'),
    alarmEmail,
    accountEmailPattern,
    accountOuPath,
    accountRoleName: raw('accountRoleName') ?? 'OrganizationAccountAccessRole',
    logLevel,
    stripeSecretKeyArn,
    stripeWebhookSecretArn,
    allowedRegions: [...new Set(allowedRegions)],
  };
}

/** Settings from plain values keyed like InfraSettings (tests, scripts); unset keys take defaults. */
export function settingsFromValues(
  values: Partial<Record<keyof typeof SETTING_SOURCES, string>>,
): InfraSettings {
  const byContext = new Map<string, string | undefined>(
    (Object.keys(SETTING_SOURCES) as (keyof typeof SETTING_SOURCES)[]).map((key) => [
      SETTING_SOURCES[key].context,
      values[key],
    ]),
  );
  return resolveSettings(({ context }) => byContext.get(context));
}

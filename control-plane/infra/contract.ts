/**
 * What the control-plane stack and the function entries agree on, beyond core/config.ts's
 * variables: kept here so both sides import the same names (the entries must not import the CDK
 * stack, which would pull aws-cdk-lib into the bundles).
 */

/**
 * Secrets Manager secret ARNs whose values become settings when a function starts (each reads the
 * ones its environment names: the API all four, the task function the Stripe key).
 */
export const SECRET_ARN_VARIABLES = {
  adminKey: 'CONTROL_PLANE_ADMIN_KEY_SECRET_ARN',
  signupWebhookSecret: 'SIGNUP_WEBHOOK_SECRET_ARN',
  stripeSecretKey: 'STRIPE_SECRET_KEY_SECRET_ARN',
  stripeWebhookSecret: 'STRIPE_WEBHOOK_SECRET_SECRET_ARN',
} as const;

/**
 * The CloudFormation service role tenant stacks are created with, and the permissions boundary
 * their roles must carry. Read by the task function once core/config.ts has the settings (see
 * docs/deploy.md, "Changes outside control-plane/").
 */
export const CLOUDFORMATION_ROLE_ARN_VARIABLE = 'CLOUDFORMATION_ROLE_ARN';
export const TENANT_ROLE_BOUNDARY_ARN_VARIABLE = 'TENANT_ROLE_BOUNDARY_ARN';

/** The event a schedule sends the API function so it restarts operations whose start was lost. */
export const RESUME_OPEN_EVENT = { action: 'resume-open' } as const;

/** Where the task bundle carries the pre-synthesized templates (`TEMPLATE_CACHE_DIR`). */
export const TASK_TEMPLATE_CACHE_DIR = '/var/task/templates-cache';
/** A writable data directory for both functions. */
export const FUNCTION_DATA_DIR = '/tmp/tcp';

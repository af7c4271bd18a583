import type { CfnTemplate } from '../../templates/index.js';
import { TENANT_ROLE_SERVICES } from './iam.js';

/**
 * Every IAM policy statement of a template, for checks that must hold for all of them (see the
 * infra tests and docs/deploy.md): identity policies (AWS::IAM::Policy, ::ManagedPolicy, inline
 * role policies), trust policies and resource policies (bucket, topic).
 */

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export interface FoundStatement {
  /** Logical id of the resource holding the statement. */
  readonly holder: string;
  readonly holderType: string;
  /** Roles the statement applies to (logical ids), for identity policies. */
  readonly roles: readonly string[];
  readonly statement: PolicyStatementJson;
}

export const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * A CloudFormation value as text: Fn::Join concatenated, `${AWS::Region}` for pseudo parameters,
 * `${Logical.Attr}` for GetAtt, `${Logical}` for Ref, `${import:Name}` for ImportValue.
 */
export function renderValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(renderValue).join(',');
  if (v && typeof v === 'object') {
    const [[key, inner]] = Object.entries(v) as [[string, unknown]];
    if (key === 'Ref') return `\${${String(inner)}}`;
    if (key === 'Fn::GetAtt') return `\${${asList(inner).map(String).join('.')}}`;
    if (key === 'Fn::Join') {
      const [sep, parts] = inner as [string, unknown[]];
      return parts.map(renderValue).join(sep);
    }
    if (key === 'Fn::ImportValue') return `\${import:${renderValue(inner)}}`;
    if (key === 'Fn::Sub') return renderValue(asList(inner)[0]);
    return JSON.stringify(v);
  }
  return String(v);
}

export function policyStatements(template: CfnTemplate): FoundStatement[] {
  const found: FoundStatement[] = [];
  const add = (holder: string, holderType: string, roles: string[], doc: unknown) => {
    for (const s of asList((doc as { Statement?: unknown } | undefined)?.Statement))
      found.push({ holder, holderType, roles, statement: s as PolicyStatementJson });
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    const roleRefs = asList(p.Roles).map((x) => renderValue(x).replace(/^\$\{|\}$/g, ''));
    switch (r.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add(id, r.Type, roleRefs, p.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
        add(id, r.Type, [id], p.AssumeRolePolicyDocument);
        for (const inline of asList(p.Policies))
          add(id, r.Type, [id], (inline as { PolicyDocument?: unknown }).PolicyDocument);
        break;
      default:
        if ('PolicyDocument' in p) add(id, r.Type, [], p.PolicyDocument);
    }
  }
  return found;
}

/** Statement actions as strings (Action only; NotAction statements are reported by the checks). */
export const actionsOf = (s: PolicyStatementJson): string[] => asList(s.Action).map(String);
export const resourcesOf = (s: PolicyStatementJson): string[] => asList(s.Resource).map(renderValue);

/** Does an IAM action pattern (with * and ?) cover `action`? Case-insensitive, as IAM is. */
export function actionCovers(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(action);
}

export interface BoundaryRules {
  /** The resource prefix: tenant stacks are `<prefix>-*`. */
  readonly prefix: string;
  /** Logical id of the tenant-stack execution role (CloudFormation's RoleARN). */
  readonly executionRole: string;
  /** Regions besides the stack's own whose tenant stacks the roles may act on (by name). @default none */
  readonly otherRegions?: readonly string[];
}

/**
 * CloudFormation calls the control plane makes that only work on `*`, all read-only: the stack count
 * and limit (the quota pre-check, core/quotas), and the reconciler's orphan search (DescribeStacks
 * with no name lists every stack) and drift-detection status (docs/reconcile.md). A statement of
 * only these may name `*`.
 */
export const QUOTA_CLOUDFORMATION_READS = [
  'cloudformation:ListStacks',
  'cloudformation:DescribeAccountLimits',
] as const;
export const CLOUDFORMATION_ACCOUNT_READS = [
  ...QUOTA_CLOUDFORMATION_READS,
  'cloudformation:DescribeStacks',
  'cloudformation:DescribeStackDriftDetectionStatus',
] as const;

/**
 * The IAM boundaries of docs/deploy.md as checks over every Allow statement; returns one line per
 * violation (empty: all hold).
 * - no `*` action, no NotAction/NotResource, no wildcard action on `*` resources;
 * - iam:PassRole only of the execution role, only to CloudFormation (the execution role itself may
 *   pass tenant stacks' roles, `role/<prefix>-*`, to VPC flow logs and Lambda only: TENANT_ROLE_SERVICES);
 * - CloudFormation only on `stack/<prefix>-*` of the deployment's regions (a statement of only CLOUDFORMATION_ACCOUNT_READS
 *   aside), CreateStack/UpdateStack only with RoleARN = the execution role.
 */
export function boundaryViolations(statements: readonly FoundStatement[], rules: BoundaryRules): string[] {
  const violations: string[] = [];
  const execArn = `\${${rules.executionRole}.Arn}`;
  const tenantStacks = [`\${AWS::Region}`, ...(rules.otherRegions ?? [])].map(
    (region) =>
      `arn:\${AWS::Partition}:cloudformation:${region}:\${AWS::AccountId}:stack/${rules.prefix}-*/*`,
  );
  const tenantRoles = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${rules.prefix}-*`;
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  for (const { holder, roles, statement } of statements) {
    if (
      statement.Effect !== 'Allow' ||
      (statement.Resource === undefined && statement.NotResource === undefined)
    )
      continue;
    const say = (what: string) =>
      violations.push(`${holder}${statement.Sid ? `/${statement.Sid}` : ''}: ${what}`);
    if (statement.NotAction !== undefined) say('NotAction in an Allow');
    if (statement.NotResource !== undefined) say('NotResource in an Allow');
    const actions = actionsOf(statement);
    const resources = resourcesOf(statement);
    for (const action of actions) {
      if (action === '*') say('allows every action');
      else if (action.endsWith('*') && resources.includes('*')) say(`${action} on *`);
    }
    if (actions.some((a) => actionCovers(a, 'iam:PassRole'))) {
      const passedTo = statement.Condition?.StringEquals?.['iam:PassedToService'];
      const toCloudFormation = same(resources, [execArn]) && passedTo === 'cloudformation.amazonaws.com';
      const services = [passedTo].flat();
      const tenantServiceRoles =
        roles.includes(rules.executionRole) &&
        same(resources, [tenantRoles]) &&
        services.length > 0 &&
        services.every((x) => (TENANT_ROLE_SERVICES as readonly unknown[]).includes(x));
      if (!toCloudFormation && !tenantServiceRoles)
        say(
          `iam:PassRole of ${resources.join(', ')} to ${String(passedTo)}: only the execution role, to CloudFormation`,
        );
    }
    const accountReads =
      same(resources, ['*']) &&
      actions.every((a) => (CLOUDFORMATION_ACCOUNT_READS as readonly string[]).includes(a));
    if (actions.some((a) => a.toLowerCase().startsWith('cloudformation:') || a === '*')) {
      const onTenantStacks = resources.length > 0 && resources.every((r) => tenantStacks.includes(r));
      if (!onTenantStacks && !accountReads)
        say(`CloudFormation on ${resources.join(', ')}: only ${tenantStacks.join(', ')}`);
      const creates = actions.some((a) =>
        ['CreateStack', 'UpdateStack'].some((x) => actionCovers(a, `cloudformation:${x}`)),
      );
      if (creates && renderValue(statement.Condition?.StringEquals?.['cloudformation:RoleArn']) !== execArn)
        say('CreateStack/UpdateStack without cloudformation:RoleArn = the execution role');
    }
  }
  return violations;
}

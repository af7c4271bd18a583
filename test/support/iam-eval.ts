import { iamMatches } from '../hardening/support/policies.js';

/**
 * A small IAM policy evaluator for the statements and condition operators the tenant roles use,
 * because moto does not enforce IAM (any credentials it issued reach every item). It follows the
 * documented evaluation logic for one account: an explicit Deny in any policy wins; otherwise the
 * request is allowed only when an identity policy allows it AND, where given, the session policy
 * and the permissions boundary allow it too. Policy variables (`${aws:PrincipalTag/TenantId}`) are
 * resolved from the request context; a missing one makes its statement not match. An operator it
 * does not know is an error, never a guess.
 */

export type ContextValue = string | readonly string[];
export interface EvalRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys, e.g. `aws:PrincipalTag/TenantId`, `dynamodb:LeadingKeys` (multi-valued), `s3:prefix`. */
  readonly context: Readonly<Record<string, ContextValue | undefined>>;
}
export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}
export interface PolicySet {
  readonly identity: readonly Statement[];
  readonly session?: readonly Statement[] | undefined;
  readonly boundary?: readonly Statement[] | undefined;
}
export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

const list = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;

function contextValue(context: EvalRequest['context'], key: string): ContextValue | undefined {
  const found = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : context[found];
}

/** Substitutes `${key}` policy variables; undefined when one has no single value in the context. */
function substitute(text: string, context: EvalRequest['context']): string | undefined {
  let missing = false;
  const out = text.replace(/\$\{([^}]+)\}/g, (_, key: string) => {
    const v = contextValue(context, key);
    if (typeof v !== 'string') {
      missing = true;
      return '';
    }
    return v;
  });
  return missing ? undefined : out;
}

const STRING_OPS: Record<string, (pattern: string, value: string) => boolean> = {
  StringEquals: (p, v) => p === v,
  StringNotEquals: (p, v) => p !== v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringLike: (p, v) => iamMatches(p, v),
  StringNotLike: (p, v) => !iamMatches(p, v),
  ArnEquals: (p, v) => p === v,
  ArnLike: (p, v) => iamMatches(p, v),
};
const NEGATED = new Set(['StringNotEquals', 'StringNotLike']);

function conditionHolds(
  rawOperator: string,
  key: string,
  patterns: readonly string[],
  context: EvalRequest['context'],
): boolean {
  const value = contextValue(context, key);
  const ifExists = rawOperator.endsWith('IfExists');
  const withoutSuffix = ifExists ? rawOperator.slice(0, -'IfExists'.length) : rawOperator;
  if (withoutSuffix === 'Null') {
    const absent = value === undefined || (Array.isArray(value) && value.length === 0);
    return patterns.every((p) => (p === 'true' ? absent : !absent));
  }
  if (withoutSuffix === 'Bool') return typeof value === 'string' && patterns.includes(value);
  const [qualifier, operator] = withoutSuffix.includes(':')
    ? (withoutSuffix.split(':') as [string, string])
    : [undefined, withoutSuffix];
  const op = STRING_OPS[operator];
  if (!op) throw new Error(`iam-eval: condition operator ${rawOperator} is not implemented`);
  const resolved = patterns.map((p) => substitute(p, context));
  // A pattern whose variable is missing matches nothing.
  const matchesOne = (v: string) =>
    NEGATED.has(operator)
      ? resolved.every((p) => p === undefined || op(p, v))
      : resolved.some((p) => p !== undefined && op(p, v));
  if (qualifier === 'ForAllValues')
    return list(value as string | readonly string[] | undefined).every(matchesOne);
  if (qualifier === 'ForAnyValue')
    return list(value as string | readonly string[] | undefined).some(matchesOne);
  if (qualifier !== undefined) throw new Error(`iam-eval: set qualifier ${qualifier} is not implemented`);
  if (value === undefined) return ifExists || NEGATED.has(operator);
  if (typeof value !== 'string') throw new Error(`iam-eval: ${operator} on multi-valued key ${key}`);
  return matchesOne(value);
}

function statementApplies(s: Statement, request: EvalRequest): boolean {
  const actionMatches = (patterns: readonly string[]) =>
    patterns.some((p) => iamMatches(p.toLowerCase(), request.action.toLowerCase()));
  if (s.Action !== undefined && !actionMatches(list(s.Action))) return false;
  if (s.NotAction !== undefined && actionMatches(list(s.NotAction))) return false;
  const resourceMatches = (patterns: readonly string[]) =>
    patterns.some((p) => {
      const resolved = substitute(p, request.context);
      return resolved !== undefined && iamMatches(resolved, request.resource);
    });
  if (s.Resource !== undefined && !resourceMatches(list(s.Resource))) return false;
  if (s.NotResource !== undefined && resourceMatches(list(s.NotResource))) return false;
  for (const [operator, block] of Object.entries(s.Condition ?? {}))
    for (const [key, values] of Object.entries(block))
      if (!conditionHolds(operator, key, list(values), request.context)) return false;
  return true;
}

function allows(statements: readonly Statement[], request: EvalRequest): boolean {
  return statements.some((s) => s.Effect === 'Allow' && statementApplies(s, request));
}

export function evaluate(policies: PolicySet, request: EvalRequest): Decision {
  const all = [...policies.identity, ...(policies.session ?? []), ...(policies.boundary ?? [])];
  if (all.some((s) => s.Effect === 'Deny' && statementApplies(s, request))) return 'explicit-deny';
  if (!allows(policies.identity, request)) return 'implicit-deny';
  if (policies.session && !allows(policies.session, request)) return 'implicit-deny';
  if (policies.boundary && !allows(policies.boundary, request)) return 'implicit-deny';
  return 'allow';
}

// ---------------------------------------------------------------- resource policies (trust policies)

/** A statement of a resource-based policy: a role's trust policy, a queue or key policy. */
export interface ResourceStatement extends Statement {
  readonly Sid?: string;
  readonly Principal?: '*' | Readonly<Record<string, string | readonly string[]>>;
}
export interface PrincipalRequest extends EvalRequest {
  /** The calling principal's ARN: a role (for its sessions), a user, or an account's root. */
  readonly principal: string;
}

const accountOf = (arn: string): string | undefined => /^arn:aws[a-z-]*:(iam|sts)::(\d{12}):/.exec(arn)?.[2];

/**
 * Whether a principal entry names the caller: "*" everyone; an account id or its `:root` ARN every
 * principal of that account (which then needs its own identity policy, in that account, as well);
 * any other ARN only itself.
 */
function principalMatches(entry: string, principal: string): boolean {
  if (entry === '*') return true;
  const account = /^\d{12}$/.test(entry) ? entry : /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(entry)?.[1];
  if (account) return accountOf(principal) === account;
  return entry === principal;
}

function namesPrincipal(s: ResourceStatement, principal: string): boolean {
  if (s.Principal === '*') return true;
  return list(s.Principal?.AWS).some((entry) => principalMatches(entry, principal));
}

/**
 * The resource policy's decision for one principal: an explicit Deny naming it wins; otherwise it
 * is allowed only when an Allow names it. (Across accounts IAM also needs the caller's identity
 * policy to allow the request; evaluate that with `evaluate`.)
 */
export function evaluateResourcePolicy(
  statements: readonly ResourceStatement[],
  request: PrincipalRequest,
): Decision {
  const applying = statements.filter(
    (s) => namesPrincipal(s, request.principal) && statementApplies(s, request),
  );
  if (applying.some((s) => s.Effect === 'Deny')) return 'explicit-deny';
  return applying.some((s) => s.Effect === 'Allow') ? 'allow' : 'implicit-deny';
}

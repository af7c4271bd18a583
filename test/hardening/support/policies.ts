import type { CfnTemplate } from '../../../templates/index.js';

/**
 * Reading IAM out of a synthesized CloudFormation template, two ways: symbolically (every intrinsic
 * rendered as a `${…}` placeholder, for static rules such as "scoped by TenantId") and concretely
 * (placeholders resolved with one tenant's parameters, for "does A's policy match B's keys").
 */

export interface FoundStatement {
  /** Logical id of the resource holding the policy, and where in it. */
  readonly where: string;
  /** Identity policy (attached to a principal) or resource policy (KMS key, bucket…). */
  readonly kind: 'identity' | 'resource';
  readonly statement: Record<string, unknown>;
}

/** Actions that read or write tenant data (sqs: a tenant queue's messages; lambda: its worker). */
export const DATA_SERVICES = ['dynamodb', 's3', 'kms', 'secretsmanager', 'rds-db', 'sqs', 'lambda'] as const;

export function isDataAction(action: string): boolean {
  const service = action.split(':')[0]?.toLowerCase() ?? '';
  return action === '*' || (DATA_SERVICES as readonly string[]).includes(service);
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every policy statement in the template, from identity and resource policies alike. */
export function policyStatements(template: CfnTemplate): FoundStatement[] {
  const found: FoundStatement[] = [];
  const add = (where: string, kind: FoundStatement['kind'], doc: unknown) => {
    let document = doc as Record<string, unknown> | undefined;
    // moto templates wrap some policies in Fn::ToJsonString.
    if (document && 'Fn::ToJsonString' in document)
      document = document['Fn::ToJsonString'] as Record<string, unknown>;
    for (const statement of asArray(document?.Statement as Record<string, unknown>[] | undefined))
      found.push({ where, kind, statement });
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = (resource.Properties ?? {}) as Record<string, unknown>;
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add(id, 'identity', p.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
      case 'AWS::IAM::User':
      case 'AWS::IAM::Group':
        for (const [i, inline] of asArray(p.Policies as Record<string, unknown>[] | undefined).entries())
          add(`${id}.Policies[${i}]`, 'identity', inline.PolicyDocument);
        break;
      case 'AWS::KMS::Key':
        add(id, 'resource', p.KeyPolicy);
        break;
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
        add(id, 'resource', p.PolicyDocument);
        break;
      case 'AWS::SecretsManager::ResourcePolicy':
        add(id, 'resource', p.ResourcePolicy);
        break;
      default:
        break;
    }
  }
  return found;
}

export type Lookup = (name: string) => string;

/**
 * Renders a CloudFormation value as a string. `lookup` gets `Ref` names and `GetAtt` as
 * `Logical.Attr`; with the default lookup each becomes a `${…}` placeholder, as in Fn::Sub.
 */
export function render(value: unknown, lookup: Lookup = (n) => `\${${n}}`): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => render(v, lookup)).join(',');
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return lookup(String(o.Ref));
    if ('Fn::GetAtt' in o) {
      const att = o['Fn::GetAtt'];
      return lookup(Array.isArray(att) ? att.map(String).join('.') : String(att));
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => render(p, lookup)).join(sep);
    }
    if ('Fn::Sub' in o) {
      const sub = o['Fn::Sub'];
      const [text, vars] = Array.isArray(sub)
        ? (sub as [string, Record<string, unknown>])
        : [String(sub), {} as Record<string, unknown>];
      return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) =>
        name in vars ? render(vars[name], lookup) : lookup(name),
      );
    }
    if ('Fn::ToJsonString' in o) return JSON.stringify(o['Fn::ToJsonString']);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** Condition values of a statement, rendered: `{ 'ForAllValues:StringLike': { key: [values] } }`. */
export function conditionValues(statement: Record<string, unknown>, lookup?: Lookup): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
  for (const [operator, block] of Object.entries(condition)) {
    for (const [key, values] of Object.entries(block)) {
      out.set(
        `${operator}|${key}`,
        asArray(values as unknown[]).map((v) => render(v, lookup)),
      );
    }
  }
  return out;
}

export const actionsOf = (s: Record<string, unknown>): string[] => asArray(s.Action as string[]).map(String);
export const resourcesOf = (s: Record<string, unknown>, lookup?: Lookup): string[] =>
  asArray(s.Resource as unknown[]).map((r) => render(r, lookup));

/** IAM's wildcard match (`*` any run, `?` one character), whole string, case-sensitive. */
export function iamMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

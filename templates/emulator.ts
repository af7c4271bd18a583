import { ControlPlaneError } from '../core/errors.js';
import type { CfnResourceJson, CfnTemplate } from './types.js';

/**
 * The one adaptation of an AWS template for the local emulator (moto 5.2.1): a pure JSON transform.
 * Templates are synthesized for AWS; this works around moto's verified gaps and nothing else.
 *
 * 1. KMS keys: Tags crash moto's CreateStack (`KeyError: 'TagKey'`), so they are dropped from KMS
 *    keys only (every other resource keeps its tags); and moto stores a KeyPolicy object without
 *    serializing it, after which every DescribeKey of the key fails (a 500), so the policy is
 *    wrapped in Fn::ToJsonString.
 * 2. Resources left out:
 *    - network (TCP/TLS/UDP) listeners: moto's CloudFormation creates every ELBv2 load balancer as
 *      an application load balancer, which rejects a TCP listener, failing CreateStack;
 *    - route tables holding only the local route, with their subnet associations: moto's
 *      CloudFormation never deletes either, so the VPC's deletion fails (DependencyViolation) and
 *      with it the stack's. Without them the subnets use the VPC's main route table, which holds
 *      the same local route only;
 *    - the tenant API's method, deployment and stage: moto's CloudFormation requires an integration
 *      method and Uri even for a MOCK integration; ensurePlatform makes them through the SDK.
 * 3. moto resolves a Ref to a resource type it does not model (a placeholder) to nothing, so an
 *    IAM statement whose Resource is, say, the tenant's secret is left without a resource and moto
 *    rejects the policy. Inside modeled resources, Refs and GetAtts of placeholders become a
 *    stand-in ARN (`arn:<partition>:cloudformation:<region>:<account>:emulator-placeholder/<id>`).
 * 4. An Output that refers to a placeholder (or a removed resource) makes CreateStack fail. Such
 *    Outputs are removed; `resolveEmulatorOutputs` reports them as absent.
 * 5. moto names an unnamed RDS instance `<stack>-<logical id>-<12 chars>` without truncating, past
 *    RDS's 63-character identifier limit for stack names over ~25 characters. The instance is named
 *    after the stack instead (tenant stack names are at most 63 characters; see tenantStackName).
 * 6. moto's UpdateStack treats every resource that Refs a changed parameter as modified, and most
 *    modeled types (VPC, subnet, RDS instance, load balancer, KMS key, table, ...) have no update in
 *    moto: the resource is dropped from the stack, whose outputs and deletion then fail. Since the
 *    TierName and TemplateVersion tags Ref parameters on every resource, any tier or version change
 *    would break the stack. Inside resources, Refs of String and Number parameters become
 *    `Fn::Sub: "${Param}"`, which moto resolves the same way but does not diff: parameter values
 *    apply when moto creates a resource, and a later change updates the stack's parameters and
 *    outputs, not moto's resources.
 * 7. moto turns a Number parameter's given value into an integer, and compares it with the template's
 *    string in Fn::Equals (`0 == "0"` is false), so a condition on a Number parameter (the worker
 *    function's `WorkerReservedConcurrency` not 0) would always hold. In Conditions, Refs of Number
 *    parameters become `Fn::Sub: "${Param}"`, the string CloudFormation itself compares.
 *
 * What was changed is recorded in the template's Metadata under `tcp:emulator`.
 */

/** Resource types moto models in CloudFormation (verified); all others are placeholders there. */
export const EMULATOR_MODELED_TYPES: ReadonlySet<string> = new Set([
  'AWS::EC2::VPC',
  'AWS::EC2::Subnet',
  'AWS::EC2::RouteTable',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::SecurityGroup',
  'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::FlowLog',
  'AWS::Logs::LogGroup',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::KMS::Key',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBSubnetGroup',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::DynamoDB::Table',
  'AWS::S3::Bucket',
  'AWS::Events::EventBus',
  'AWS::ApiGateway::RestApi',
  'AWS::SQS::Queue',
  'AWS::Lambda::Function',
]);

/** API Gateway children moto's CloudFormation cannot create: ensurePlatform makes them through the SDK. */
const EMULATOR_SDK_MADE_TYPES: ReadonlySet<string> = new Set([
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Stage',
]);

/** Resource types whose Tags moto cannot take. */
export const EMULATOR_UNTAGGABLE_TYPES: ReadonlySet<string> = new Set(['AWS::KMS::Key']);

const NETWORK_LISTENER_PROTOCOLS: ReadonlySet<unknown> = new Set(['TCP', 'TLS', 'UDP', 'TCP_UDP']);

export const EMULATOR_METADATA_KEY = 'tcp:emulator';

/** What the adaptation changed, kept in the moto template's Metadata. */
export interface EmulatorAdaptation {
  readonly target: 'moto';
  /** Logical ids of resources whose Tags were dropped. */
  readonly untaggedResources: string[];
  /** KMS keys whose KeyPolicy was wrapped in Fn::ToJsonString. */
  readonly serializedKeyPolicies: string[];
  /** Resources left out, each with the reason. */
  readonly removedResources: Record<string, string>;
  /** Per resource, the placeholders its Refs/GetAtts pointed at, now stand-in ARNs. */
  readonly standIns: Record<string, string[]>;
  /** Removed Outputs, each with the types of the unmodeled resources it referred to. */
  readonly removedOutputs: Record<string, string[]>;
  /** RDS instances given the stack name as identifier. */
  readonly namedInstances: string[];
  /** Parameters whose Refs inside resources became Fn::Sub. */
  readonly substitutedParameters: string[];
  /** Number parameters whose Refs inside Conditions became Fn::Sub. */
  readonly conditionParameters: string[];
}

/** Logical ids a JSON value refers to through Ref, Fn::GetAtt or Fn::Sub. */
export function referencedLogicalIds(value: unknown): Set<string> {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (!v || typeof v !== 'object') return;
    for (const [key, inner] of Object.entries(v)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && typeof inner[0] === 'string')
        found.add(inner[0]);
      else if (key === 'Fn::GetAtt' && typeof inner === 'string') found.add(inner.split('.')[0] ?? inner);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        if (typeof text === 'string')
          for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}/g)) found.add(m[1] as string);
        if (Array.isArray(inner)) visit(inner[1]);
      } else visit(inner);
    }
  };
  visit(value);
  return found;
}

/** The ARN a reference to a placeholder becomes inside a modeled resource. */
export function standInArn(logicalId: string): unknown {
  const pseudo = (name: string) => ({ Ref: `AWS::${name}` });
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        pseudo('Partition'),
        ':cloudformation:',
        pseudo('Region'),
        ':',
        pseudo('AccountId'),
        `:emulator-placeholder/${logicalId}`,
      ],
    ],
  };
}

/**
 * A copy of `value` with each Ref/GetAtt of a logical id in `targets` replaced by its stand-in ARN;
 * the ids replaced are added to `replaced`.
 */
export function replaceReferences(
  value: unknown,
  targets: ReadonlySet<string>,
  replaced: Set<string> = new Set(),
): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceReferences(v, targets, replaced));
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only) {
    const [key, inner] = only;
    const target =
      key === 'Ref' ? inner : key === 'Fn::GetAtt' && Array.isArray(inner) ? inner[0] : undefined;
    if (typeof target === 'string' && targets.has(target)) {
      replaced.add(target);
      return standInArn(target);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, replaceReferences(v, targets, replaced)]));
}

/** A copy of `value` with each Ref of a parameter in `names` written as Fn::Sub. */
function substituteParameters(value: unknown, names: ReadonlySet<string>, used: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => substituteParameters(v, names, used));
  if (!value || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only?.[0] === 'Ref' && typeof only[1] === 'string' && names.has(only[1])) {
    used.add(only[1]);
    return { 'Fn::Sub': `\${${only[1]}}` };
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, substituteParameters(v, names, used)]));
}

/** The resources the moto template leaves out (step 2), each with the reason. */
function resourcesToOmit(template: CfnTemplate): Map<string, string> {
  const omit = new Map<string, string>();
  const resources = Object.entries(template.Resources);
  const routedTables = new Set(
    resources
      .filter(([, r]) => r.Type === 'AWS::EC2::Route')
      .flatMap(([, r]) => [...referencedLogicalIds(r.Properties?.RouteTableId)]),
  );
  for (const [id, r] of resources) {
    if (EMULATOR_SDK_MADE_TYPES.has(r.Type)) {
      omit.set(
        id,
        "moto's CloudFormation requires IntegrationHttpMethod and Uri even for a MOCK integration (KeyError); ensurePlatform makes the route and stage through the SDK",
      );
    } else if (
      r.Type === 'AWS::ElasticLoadBalancingV2::Listener' &&
      NETWORK_LISTENER_PROTOCOLS.has(r.Properties?.Protocol)
    ) {
      omit.set(
        id,
        'moto creates load balancers as application load balancers, which reject network listeners',
      );
    } else if (r.Type === 'AWS::EC2::RouteTable' && !routedTables.has(id)) {
      omit.set(
        id,
        "moto never deletes it, which blocks the VPC's deletion; the main route table routes the same",
      );
    }
  }
  for (const [id, r] of resources) {
    const table = [...referencedLogicalIds(r.Properties?.RouteTableId)][0];
    if (r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && table && omit.has(table)) {
      omit.set(id, 'its route table is left out');
    }
  }
  return omit;
}

/** Step 2: removes them; nothing may refer to them but DependsOn (cleaned) and Outputs (removed later). */
function removeResources(template: CfnTemplate, adaptation: EmulatorAdaptation): Set<string> {
  const omit = resourcesToOmit(template);
  for (const [id, reason] of omit) {
    delete template.Resources[id];
    adaptation.removedResources[id] = reason;
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    const dependsOn = typeof resource.DependsOn === 'string' ? [resource.DependsOn] : resource.DependsOn;
    if (dependsOn?.some((d) => omit.has(d))) {
      const kept = dependsOn.filter((d) => !omit.has(d));
      if (kept.length > 0) resource.DependsOn = kept;
      else delete resource.DependsOn;
    }
    const dangling = [...referencedLogicalIds(resource.Properties)].filter((d) => omit.has(d));
    if (dangling.length > 0) {
      throw new ControlPlaneError(
        'INTERNAL',
        `emulator adaptation: ${id} refers to ${dangling.join(', ')}, which moto cannot handle`,
      );
    }
  }
  return new Set(omit.keys());
}

/** Steps 1, 3, 5 and 6 on one modeled resource. */
function adaptResource(
  id: string,
  properties: Record<string, unknown>,
  resource: CfnResourceJson,
  context: {
    placeholders: ReadonlySet<string>;
    scalarParameters: ReadonlySet<string>;
    substituted: Set<string>;
  },
  adaptation: EmulatorAdaptation,
): Record<string, unknown> {
  if (EMULATOR_UNTAGGABLE_TYPES.has(resource.Type) && 'Tags' in properties) {
    delete properties.Tags;
    adaptation.untaggedResources.push(id);
  }
  if (resource.Type === 'AWS::KMS::Key' && properties.KeyPolicy && typeof properties.KeyPolicy === 'object') {
    properties.KeyPolicy = { 'Fn::ToJsonString': properties.KeyPolicy };
    adaptation.serializedKeyPolicies.push(id);
  }
  const replaced = new Set<string>();
  let adapted = replaceReferences(properties, context.placeholders, replaced) as Record<string, unknown>;
  if (replaced.size > 0) adaptation.standIns[id] = [...replaced].sort();
  adapted = substituteParameters(adapted, context.scalarParameters, context.substituted) as Record<
    string,
    unknown
  >;
  if (resource.Type === 'AWS::RDS::DBInstance' && !('DBInstanceIdentifier' in adapted)) {
    adapted.DBInstanceIdentifier = { Ref: 'AWS::StackName' };
    adaptation.namedInstances.push(id);
  }
  return adapted;
}

/** Returns the moto variant of an AWS template; the input is not modified. */
export function adaptTemplateForEmulator(aws: CfnTemplate): {
  template: CfnTemplate;
  adaptation: EmulatorAdaptation;
} {
  const template = structuredClone(aws);
  const adaptation: EmulatorAdaptation = {
    target: 'moto',
    untaggedResources: [],
    serializedKeyPolicies: [],
    removedResources: {},
    standIns: {},
    removedOutputs: {},
    namedInstances: [],
    substitutedParameters: [],
    conditionParameters: [],
  };
  const removed = removeResources(template, adaptation);
  const placeholders = new Set(
    Object.entries(template.Resources)
      .filter(([, r]) => !EMULATOR_MODELED_TYPES.has(r.Type))
      .map(([id]) => id),
  );
  // List parameters cannot go through Fn::Sub; they carry platform values that do not change.
  const scalarParameters = new Set(
    Object.entries(template.Parameters ?? {})
      .filter(([, p]) => p.Type === 'String' || p.Type === 'Number')
      .map(([name]) => name),
  );
  const context = { placeholders, scalarParameters, substituted: new Set<string>() };
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (placeholders.has(id) || !resource.Properties) continue;
    resource.Properties = adaptResource(id, resource.Properties, resource, context, adaptation);
  }
  adaptation.substitutedParameters.push(...[...context.substituted].sort());

  // Step 7: Number parameters in Conditions.
  const numberParameters = new Set(
    Object.entries(template.Parameters ?? {})
      .filter(([, p]) => p.Type === 'Number')
      .map(([name]) => name),
  );
  if (template.Conditions) {
    const used = new Set<string>();
    template.Conditions = substituteParameters(template.Conditions, numberParameters, used) as Record<
      string,
      unknown
    >;
    adaptation.conditionParameters.push(...[...used].sort());
  }

  // Step 4: Outputs that refer to placeholders or to resources left out.
  const gone = new Set([...placeholders, ...removed]);
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    const unmodeled = [...referencedLogicalIds(output.Value)].filter((id) => gone.has(id));
    if (unmodeled.length === 0) continue;
    delete template.Outputs?.[name];
    adaptation.removedOutputs[name] = [...new Set(unmodeled.map((id) => aws.Resources[id]?.Type ?? id))];
  }

  template.Metadata = { ...template.Metadata, [EMULATOR_METADATA_KEY]: adaptation };
  return { template, adaptation };
}

/** The `tcp:emulator` record of a moto template body; undefined for an AWS template. */
export function emulatorAdaptationOf(body: string): EmulatorAdaptation | undefined {
  const metadata = (JSON.parse(body) as CfnTemplate).Metadata;
  return metadata?.[EMULATOR_METADATA_KEY] as EmulatorAdaptation | undefined;
}

/**
 * Completes a stack's outputs for the emulator. A moto template lacks the Outputs its adaptation
 * removed; they refer to resources moto only records as placeholders, so no moto API holds a
 * value for them either. They come back in `absent`, each with the reason; callers treat them as
 * "not available locally". For an AWS template `absent` is empty.
 */
export function resolveEmulatorOutputs(
  template: { readonly body: string },
  outputs: Readonly<Record<string, string>>,
): { outputs: Record<string, string>; absent: Record<string, string> } {
  const absent: Record<string, string> = {};
  for (const [name, types] of Object.entries(emulatorAdaptationOf(template.body)?.removedOutputs ?? {})) {
    if (outputs[name] === undefined)
      absent[name] = `not available in the emulator: moto does not model ${types.join(', ')}`;
  }
  return { outputs: { ...outputs }, absent };
}

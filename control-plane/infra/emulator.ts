import {
  adaptTemplateForEmulator,
  type CfnTemplate,
  referencedLogicalIds,
  replaceReferences,
} from '../../templates/index.js';
import { STUB_CODE } from './functions.js';

/**
 * The control-plane stacks adapted for moto 5.2.1's CloudFormation, to prove they deploy and to
 * read back what moto models. A pure JSON transform, like templates/emulator.ts for tenant
 * templates, for moto's verified gaps only:
 *
 * 1. No CDK bootstrap in moto: the BootstrapVersion parameter and its rule go, and function code
 *    in the asset bucket becomes the inline stub.
 * 2. moto ignores a state machine's DefinitionSubstitutions and would store `${TaskFunctionArn}`
 *    verbatim. CloudFormation's substitution is expressed as Fn::Sub over the same text, which
 *    moto resolves: the stored definition is what Step Functions receives on AWS.
 * 3. Resource types moto does not model are placeholders whose Refs resolve to nothing: inside
 *    modeled resources those references become stand-in ARNs, and Outputs referring to them are
 *    removed (an Output referring to a placeholder makes CreateStack fail).
 */

/** Types moto models in CloudFormation, as far as these stacks use them (seen in its source). */
export const CONTROL_PLANE_MODELED_TYPES: ReadonlySet<string> = new Set([
  'AWS::DynamoDB::Table',
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Logs::LogGroup',
  'AWS::SNS::Topic',
  'AWS::StepFunctions::StateMachine',
  'AWS::Events::Rule',
  'AWS::Events::EventBus',
  'AWS::S3::Bucket',
  'AWS::EC2::VPC',
  'AWS::EC2::Subnet',
  'AWS::EC2::RouteTable',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::FlowLog',
]);

export interface ControlPlaneEmulatorAdaptation {
  /** Placeholders (types moto does not model) by logical id, with their type. */
  readonly placeholders: Record<string, string>;
  /** Resources whose references to placeholders became stand-in ARNs. */
  readonly standIns: string[];
  readonly removedOutputs: string[];
  /** State machines whose DefinitionSubstitutions became Fn::Sub. */
  readonly substitutedDefinitions: string[];
  /** Functions whose asset code became the inline stub. */
  readonly stubbedFunctions: string[];
}

/** A copy without the CDK bootstrap-version parameter and rule (moto has no SSM bootstrap parameter). */
export function withoutBootstrapCheck(aws: CfnTemplate): CfnTemplate {
  const template = structuredClone(aws);
  delete template.Parameters?.BootstrapVersion;
  if (template.Parameters && Object.keys(template.Parameters).length === 0) delete template.Parameters;
  const rules = template.Rules as Record<string, unknown> | undefined;
  if (rules) {
    delete rules.CheckBootstrapVersion;
    if (Object.keys(rules).length === 0) delete template.Rules;
  }
  return template;
}

/** The platform stack for moto: the tenant templates' own adaptation (templates/emulator.ts). */
export function adaptPlatformForEmulator(aws: CfnTemplate): CfnTemplate {
  return adaptTemplateForEmulator(withoutBootstrapCheck(aws)).template;
}

export function adaptControlPlaneForEmulator(aws: CfnTemplate): {
  template: CfnTemplate;
  adaptation: ControlPlaneEmulatorAdaptation;
} {
  const template = withoutBootstrapCheck(aws);
  const adaptation: ControlPlaneEmulatorAdaptation = {
    placeholders: {},
    standIns: [],
    removedOutputs: [],
    substitutedDefinitions: [],
    stubbedFunctions: [],
  };
  const placeholders = new Set<string>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (!CONTROL_PLANE_MODELED_TYPES.has(r.Type)) {
      placeholders.add(id);
      adaptation.placeholders[id] = r.Type;
    }
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties;
    if (placeholders.has(id) || !props) continue;
    if (resource.Type === 'AWS::Lambda::Function') {
      const code = props.Code as Record<string, unknown> | undefined;
      if (code && 'S3Bucket' in code) {
        props.Code = { ZipFile: STUB_CODE };
        adaptation.stubbedFunctions.push(id);
      }
    }
    if (resource.Type === 'AWS::StepFunctions::StateMachine' && props.DefinitionSubstitutions) {
      // moto applies each mapping with Python's string.Template, which reads `$$` as an escaped
      // `$` (CloudFormation does not): each `$$` is doubled once per mapping, so context-object
      // paths (`$$.Map.Item.Value`, the rollout machine's) reach the state machine as written.
      const mappings = Object.keys(props.DefinitionSubstitutions as Record<string, unknown>).length;
      const escaped = String(props.DefinitionString).replaceAll('$$', () => '$$'.repeat(2 ** mappings));
      props.DefinitionString = { 'Fn::Sub': [escaped, props.DefinitionSubstitutions] };
      delete props.DefinitionSubstitutions;
      adaptation.substitutedDefinitions.push(id);
    }
    const refs = referencedLogicalIds(props);
    if ([...refs].some((r) => placeholders.has(r))) {
      resource.Properties = replaceReferences(props, placeholders) as Record<string, unknown>;
      adaptation.standIns.push(id);
    }
  }
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if ([...referencedLogicalIds(output.Value)].some((id) => placeholders.has(id))) {
      delete template.Outputs?.[name];
      adaptation.removedOutputs.push(name);
    }
  }
  return { template, adaptation };
}

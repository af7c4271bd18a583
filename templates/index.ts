/**
 * Tier templates: CloudFormation per isolation model, synthesized once per (kind, target, version),
 * parameterized per tenant. Every stack is driven through the non-blocking operations of
 * `stack-ops.ts`: the workflow steps deploy tenant stacks with them, one poll per Task call;
 * StackDeployer loops over them to deploy the platform stack at start-up. See docs/templates.md.
 *
 * Stack outputs the workflows read (names are a contract):
 * - pool, bridge, silo: `TenantRoleArn`, `TemplateVersion`
 * - bridge, silo: `DbInstanceIdentifier`, `DbEndpointAddress`, `DbClientSecurityGroupId`, `KmsKeyArn`,
 *   `DbSecretArn` (AWS only)
 * - silo: `VpcId`, `IsolatedSubnetIds`, `LoadBalancerArn`, `TargetGroupArn`, `EndpointServiceName` (AWS only)
 *
 * Emulator contract: a stack deployed from a 'moto' template lacks the outputs marked "AWS only".
 * `resolveEmulatorOutputs(template, outputs)` returns the outputs plus `absent`: each missing
 * output's name with the reason. It never calls AWS (moto holds no value for them anywhere); for an
 * AWS template `absent` is always empty, so callers can use it unconditionally.
 */

export {
  ITEM_ACTIONS,
  PLATFORM_TAG_VALUE,
  POSTGRES_ENGINE_VERSION,
  TAG_KEYS,
  TEMPLATE_BODY_LIMIT,
  TEMPLATE_CODE_VERSION,
  TENANT_QUEUE_DATA_ACTIONS,
} from './constants.js';
export {
  type StackDeleteArgs,
  type StackDeployArgs,
  StackDeployer,
  type StackDeployerOptions,
} from './deployer.js';
export {
  adaptTemplateForEmulator,
  type EmulatorAdaptation,
  emulatorAdaptationOf,
  referencedLogicalIds,
  replaceReferences,
  resolveEmulatorOutputs,
} from './emulator.js';
export {
  PARAMETER_SPECS,
  type ParameterName,
  parameterListSchema,
  TEMPLATE_PARAMETERS,
} from './parameter-specs.js';
export {
  buildTenantParameters,
  platformStackName,
  platformStackTags,
  type TenantParameterInput,
  tenantStackName,
  tenantStackTags,
} from './parameters.js';
export {
  type EnsurePlatformOptions,
  ensurePlatform,
  REQUIRED_OUTPUTS as PLATFORM_OUTPUTS,
  type ReadPlatformOptions,
  readPlatform,
} from './platform.js';
export { findUserPool } from './platform-access.js';
export {
  MANAGED_BY,
  platformAcknowledgements,
  platformTags,
  suspensionPolicyDefinition,
  TENANT_API_STAGE,
  TENANT_ID_ATTRIBUTE,
  TIER_ATTRIBUTE,
  tenantUserPoolDefinition,
  tenantUserPoolName,
  type UserPoolDefinition,
  usagePlanDefinition,
  usagePlanName,
} from './platform-spec.js';
export {
  type DeleteSpec,
  deletionProgress,
  driftDetectionStatus,
  ensureCreated,
  ensureDeleted,
  ensureUpdated,
  firstFailure,
  isInProgress,
  listTaggedStacks,
  observe,
  progressOf,
  type StackProgress,
  type StackSpec,
  type StackView,
  stackFailure,
  stackResourceDrifts,
  startDriftDetection,
  type UpdateOptions,
} from './stack-ops.js';
export { runSynthCommand } from './synth-cli.js';
export { SynthesisService, type SynthesisServiceOptions, templateVersionId } from './synthesis.js';
export type {
  CfnParameterValue,
  CfnTag,
  CfnTemplate,
  PlatformOutputs,
  StackResult,
  SynthesizedTemplate,
  TemplateKind,
  TemplateTarget,
} from './types.js';
export { TEMPLATE_KINDS, TEMPLATE_TARGETS } from './types.js';

import type { Isolation } from '../tiers/catalog.js';

/** Which CloudFormation a template is synthesized for: real AWS, or moto's subset of it. */
export type TemplateTarget = 'aws' | 'moto';

/** A tenant isolation model, or the once-per-environment platform stack. */
export type TemplateKind = Isolation | 'platform';

export const TEMPLATE_KINDS: readonly TemplateKind[] = ['platform', 'pool', 'bridge', 'silo'];
export const TEMPLATE_TARGETS: readonly TemplateTarget[] = ['aws', 'moto'];

/** A synthesized, content-addressed CloudFormation template, ready for CreateStack/UpdateStack. */
export interface SynthesizedTemplate {
  readonly kind: TemplateKind;
  readonly target: TemplateTarget;
  /** First 12 hex digits of the sha256 of `body`: the template version id. */
  readonly versionId: string;
  /** The template JSON, compact. */
  readonly body: string;
  /** UTF-8 size of `body`. */
  readonly bytes: number;
  /** Set when the body was published and is above CloudFormation's 51,200-byte TemplateBody limit. */
  readonly templateUrl?: string;
  /** The template's CloudFormation Parameters, in template order. */
  readonly parameterNames: string[];
}

/** A CloudFormation template as JSON. Only the sections this package reads are typed. */
export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: Record<string, unknown>;
  Parameters?: Record<string, CfnParameterJson>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResourceJson>;
  Outputs?: Record<string, CfnOutputJson>;
  [section: string]: unknown;
}

export interface CfnParameterJson {
  Type: string;
  Description?: string;
  Default?: string | number;
  AllowedPattern?: string;
  AllowedValues?: string[];
  MinValue?: number;
  MaxValue?: number;
  ConstraintDescription?: string;
}

export interface CfnResourceJson {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
}

export interface CfnOutputJson {
  Value: unknown;
  Description?: string;
  Condition?: string;
  Export?: { Name: unknown };
}

/** What the deployer reports about a stack. */
export interface StackResult {
  readonly stackId: string;
  readonly stackName: string;
  readonly status: string;
  readonly outputs: Record<string, string>;
}

export interface CfnParameterValue {
  readonly ParameterKey: string;
  readonly ParameterValue: string;
}

export interface CfnTag {
  readonly Key: string;
  readonly Value: string;
}

/** What the platform stack and ensurePlatform provide to tenant stacks and the workflows. */
export interface PlatformOutputs {
  readonly stackName: string;
  readonly stackId: string;
  /** Version id of the platform template the stack runs. */
  readonly templateVersion: string;
  readonly vpcId: string;
  /** The shared VPC's isolated subnets, one per AZ (two). */
  readonly isolatedSubnetIds: string[];
  readonly pooledTableName: string;
  readonly pooledTableArn: string;
  readonly eventBusName: string;
  readonly eventBusArn: string;
  readonly artifactBucketName: string;
  /** The deny-all managed policy suspension attaches to a tenant role. */
  readonly suspensionPolicyArn: string;
  /** The role pool tenants assume through token vending, with session tags TenantId and Tier. */
  readonly pooledRoleArn: string;
  /** The tenant REST API; its stage `tenantApiStage` carries every tier's usage plan (throttling). */
  readonly tenantApiId: string;
  readonly tenantApiStage: string;
  /** The tenant Cognito user pool (made through the SDK, found by name on re-run). */
  readonly userPoolId: string;
  /** One API Gateway usage plan per catalog tier, by tier name. */
  readonly usagePlanIds: Record<string, string>;
}

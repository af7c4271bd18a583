import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import type { CfnTemplate, TemplateKind } from '../types.js';
import { BridgeTenantStack } from './bridge-stack.js';
import { PlatformStack } from './platform-stack.js';
import { PoolTenantStack } from './pool-stack.js';
import { SiloTenantStack } from './silo-stack.js';

/**
 * Context for every app: no construct-path metadata (templates hash the same whatever the stack is
 * called), and the CDK behaviours these stacks rely on, pinned rather than left to defaults.
 */
const APP_CONTEXT = {
  'aws:cdk:enable-path-metadata': false,
  'aws:cdk:enable-asset-metadata': false,
  'aws:cdk:version-reporting': false,
  // Server access logs delivered by bucket policy (ACLs are off on new buckets).
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-s3:createDefaultLoggingPolicy': true,
};

const STACKS: Record<TemplateKind, new (scope: App, id: string) => Stack> = {
  platform: PlatformStack,
  pool: PoolTenantStack,
  bridge: BridgeTenantStack,
  silo: SiloTenantStack,
};

/** A fresh app holding the kind's stack, not yet synthesized (tests attach checks before synth). */
export function buildTemplateStack(kind: TemplateKind, outdir?: string): { app: App; stack: Stack } {
  const app = new App({
    context: APP_CONTEXT,
    // CDK's built-in template validation costs ~6 s on first use and ~1 s per stack; the tests run
    // cfn-lint (the same rules, and more) over every template instead.
    builtinCloudFormationValidation: false,
    treeMetadata: false,
    ...(outdir ? { outdir } : {}),
  });
  const stack = new STACKS[kind](app, `tcp-${kind}`);
  return { app, stack };
}

/** Synthesizes an app's stack and returns its CloudFormation template. */
export function synthesizeStack(app: App, stack: Stack): CfnTemplate {
  return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
}

/** Synthesizes the kind's AWS template in-process (about 0.5–2 s of CPU); the cloud assembly is discarded. */
export function synthesizeTemplate(kind: TemplateKind): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'tcp-synth-'));
  try {
    const { app, stack } = buildTemplateStack(kind, outdir);
    return synthesizeStack(app, stack);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

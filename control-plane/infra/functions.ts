import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionBundling } from './settings.js';

/** The repository root: the esbuild project root and where the lockfile is. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The runtime both functions run on (the control plane supports node 20 and 22; 22 is current on Lambda). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

/** What a `prebuilt-stub` function runs: nothing, loudly. */
export const STUB_CODE =
  "exports.handler = async () => { throw new Error('tenant control plane: this function was synthesized with bundling=prebuilt-stub and has no code'); };";

/**
 * Imports that stay out of the bundles. The template stacks module pulls in aws-cdk-lib, which
 * the functions never load: the task function ships every template pre-synthesized.
 */
export const BUNDLE_EXTERNALS = ['./stacks/synthesize.js'];

/**
 * The ESM bundle runs CommonJS dependencies (the AWS SDK) that call require() and read __dirname.
 * `dirnameExpression` sets what __dirname is for them (the API function points it at its copy of
 * swagger-ui's layout; see apiBundleCommands).
 */
export function esmBanner(dirnameExpression = '__tcpDirname(__filename)'): string {
  return [
    "import { createRequire as __tcpCreateRequire } from 'node:module';",
    "import { fileURLToPath as __tcpFileURLToPath } from 'node:url';",
    "import { dirname as __tcpDirname, join as __tcpJoin } from 'node:path';",
    'const require = __tcpCreateRequire(import.meta.url);',
    'const __filename = __tcpFileURLToPath(import.meta.url);',
    `const __dirname = ${dirnameExpression};`,
  ].join(' ');
}

export interface ControlPlaneFunctionProps {
  /** The TypeScript entry, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  readonly bundling: FunctionBundling;
  readonly description: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Shell commands run after esbuild, in the bundle's output directory context. */
  readonly afterBundling?: (outputDir: string) => string[];
  /** @default esmBanner() */
  readonly banner?: string;
  /** Imports this function never loads, left out of its bundle besides BUNDLE_EXTERNALS. */
  readonly externalModules?: readonly string[];
}

/**
 * A control-plane function: the entry bundled by esbuild (NodejsFunction, ESM, node 22, the AWS
 * SDK bundled at the lockfile's versions rather than the runtime's), or the inline stub.
 */
export function controlPlaneFunction(
  scope: Construct,
  id: string,
  props: ControlPlaneFunctionProps,
): lambda.Function {
  const common = {
    description: props.description,
    runtime: FUNCTION_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    role: props.role,
    logGroup: props.logGroup,
    environment: props.environment,
    timeout: props.timeout,
    memorySize: props.memorySize,
    tracing: lambda.Tracing.ACTIVE,
  };
  if (props.bundling === 'prebuilt-stub') {
    return new lambda.Function(scope, id, {
      ...common,
      handler: 'index.handler',
      code: lambda.Code.fromInline(STUB_CODE),
    });
  }
  const afterBundling = props.afterBundling;
  return new nodejs.NodejsFunction(scope, id, {
    ...common,
    entry: join(REPO_ROOT, props.entry),
    handler: 'handler',
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: 'node22',
      platform: 'node',
      mainFields: ['module', 'main'],
      banner: props.banner ?? esmBanner(),
      externalModules: [...BUNDLE_EXTERNALS, ...(props.externalModules ?? [])],
      sourceMap: true,
      sourcesContent: false,
      minify: false,
      forceDockerBundling: false,
      ...(afterBundling
        ? {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_inputDir: string, outputDir: string) => afterBundling(outputDir),
            },
          }
        : {}),
    },
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
  });
}

/** Copies a staged directory's content into the bundle. */
export const copyInto = (from: string, outputDir: string): string => `cp -R "${from}/." "${outputDir}/"`;

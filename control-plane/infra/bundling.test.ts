import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../../core/aws/clients.js';
import { TEMPLATE_CODE_VERSION } from '../../templates/constants.js';
import { SynthesisService } from '../../templates/synthesis.js';
import type { CfnTemplate } from '../../templates/types.js';
import { TEMPLATE_KINDS } from '../../templates/types.js';
import { testEndpoint, testRegistry, uniqueName } from '../../test/support/aws.js';
import { RESUME_OPEN_EVENT, SECRET_ARN_VARIABLES } from './contract.js';
import { adaptControlPlaneForEmulator } from './emulator.js';
import { STUB_CODE } from './functions.js';
import { buildInfra, type ControlPlaneInfra, synthesizeInfra } from './infra.js';
import { settingsFromValues } from './settings.js';
import { BUNDLED_TEMPLATE_CACHE, type PreparedTemplates, prepareTemplates } from './templates.js';

/**
 * Real esbuild bundling (NodejsFunction, local esbuild) of both functions, once: the bundles hold
 * what they need, leave aws-cdk-lib out, load in a plain node process, and the API bundle serves
 * requests against the test moto.
 */

const run = promisify(execFile);
const CDK_VERSION: string = createRequire(import.meta.url)('aws-cdk-lib/package.json').version;
const outdir = mkdtempSync(join(tmpdir(), 'tcp-infra-bundle-'));
let infra: ControlPlaneInfra;
let templates: PreparedTemplates;
let taskDir: string;
let apiDir: string;
let controlPlaneTemplate: CfnTemplate;

beforeAll(async () => {
  const settings = settingsFromValues({
    prefix: 'bundle',
    bundling: 'esbuild',
    templateCacheDir: inject('templateCacheDir'),
  });
  templates = await prepareTemplates(settings.templateCacheDir);
  infra = buildInfra({
    app: new App({ outdir, builtinCloudFormationValidation: false }),
    settings,
    templates,
  });
  const { controlPlane } = synthesizeInfra(infra);
  controlPlaneTemplate = controlPlane;
  const assetDir = (description: string) => {
    const fn = Object.values(controlPlane.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Description).includes(description),
    );
    const key = String((fn?.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
    return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };
  taskDir = assetDir('task handlers');
  apiDir = assetDir('control plane: API');
}, 60_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Runs `script` as an ES module in a plain node process (no vitest transform), returns its stdout. */
async function node(script: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH, ...env },
    timeout: 30_000,
  });
  return stdout;
}

describe('task function bundle', () => {
  it('is one ESM file without aws-cdk-lib, carrying every template in the synthesis cache layout', async () => {
    const code = readFileSync(join(taskDir, 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*["']aws-cdk-lib/);
    expect(code).not.toMatch(/from\s*["']constructs["']/);
    const cacheDirs = readdirSync(join(taskDir, BUNDLED_TEMPLATE_CACHE));
    expect(cacheDirs).toEqual([`${TEMPLATE_CODE_VERSION}-cdk${CDK_VERSION}`]);
    const stub = JSON.parse(
      readFileSync(join(taskDir, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf8'),
    );
    expect(stub).toEqual({ name: 'aws-cdk-lib', version: CDK_VERSION });
    // The function's SynthesisService finds each template without synthesizing.
    const synth = new SynthesisService({
      cacheDir: join(taskDir, BUNDLED_TEMPLATE_CACHE),
      synthesize: (kind) => {
        throw new Error(`${kind} is not in the bundled cache`);
      },
    });
    for (const kind of TEMPLATE_KINDS) {
      const template = await synth.resolve(kind, 'aws');
      expect(template.versionId).toBe(templates.templates[kind]?.versionId);
    }
    expect(synth.synthCount).toBe(0);
  });

  it('loads in plain node and exports the handler', async () => {
    const out = await node(
      `const m = await import(${JSON.stringify(join(taskDir, 'index.mjs'))}); console.log(typeof m.handler);`,
    );
    expect(out.trim()).toBe('function');
  });
});

describe('the emulator adaptation of a bundled stack', () => {
  it('replaces every function’s asset code with the inline stub (moto has no asset bucket)', () => {
    const { template, adaptation } = adaptControlPlaneForEmulator(controlPlaneTemplate);
    // The API, the task function and the pre-token trigger.
    expect(adaptation.stubbedFunctions).toHaveLength(3);
    for (const id of adaptation.stubbedFunctions)
      expect(template.Resources[id]?.Properties?.Code).toEqual({ ZipFile: STUB_CODE });
    expect(JSON.stringify(template)).not.toContain('cdk-hnb659fds-assets');
  });
});

describe('API function bundle', () => {
  it('serves the API against moto: health, auth, swagger-ui assets, and the resume schedule', async () => {
    expect(existsSync(join(apiDir, 'swagger-ui', 'static', 'swagger-ui.js'))).toBe(true);
    const registry = await testRegistry();
    const adminKey = `adm_${uniqueName('key').replace(/-/g, '')}_0123456789abcdef`;
    const secrets = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: testEndpoint(),
      credentials: EMULATOR_CREDENTIALS,
    });
    const secret = await secrets.send(
      new CreateSecretCommand({ Name: uniqueName('admin-key'), SecretString: adminKey }),
    );
    secrets.destroy();
    const script = `
      const { handler } = await import(${JSON.stringify(join(apiDir, 'index.mjs'))});
      const call = (method, path, headers = {}) => handler({ rawPath: path, rawQueryString: '', headers, requestContext: { http: { method, sourceIp: '192.0.2.1' } } });
      const results = {
        health: await call('GET', '/healthz'),
        anonymous: await call('GET', '/v1/tiers'),
        admin: await call('GET', '/v1/tiers', { authorization: 'Bearer ${adminKey}' }),
        logo: await call('GET', '/docs/static/logo.svg'),
        ui: await call('GET', '/docs/static/swagger-ui.js'),
        resume: await handler(${JSON.stringify(RESUME_OPEN_EVENT)}),
      };
      console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, { ...r, body: r.body?.slice(0, 300) }]))));
    `;
    const out = await node(script, {
      AWS_ENDPOINT_URL: testEndpoint(),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      CONTROL_PLANE_TARGET: 'aws',
      WORKFLOW_ENGINE: 'stepfunctions',
      STATE_MACHINE_ARN_PREFIX: 'arn:aws:states:us-east-1:123456789012:stateMachine:bundle-',
      REGISTRY_TABLE: registry.tableName,
      CONTROL_PLANE_DATA_DIR: join(outdir, 'data'),
      LOG_LEVEL: 'silent',
      [SECRET_ARN_VARIABLES.adminKey]: secret.ARN,
    });
    const results = JSON.parse(out.trim().split('\n').pop()!);
    expect(results.health).toMatchObject({ statusCode: 200, isBase64Encoded: false });
    expect(JSON.parse(results.health.body)).toMatchObject({
      status: 'ok',
      registry: { table: registry.tableName, status: 'ACTIVE' },
    });
    expect(results.anonymous.statusCode).toBe(401);
    expect(results.admin.statusCode).toBe(200);
    expect(results.admin.body).toMatch(/^\{"tiers":\[\{"name":"basic"/);
    expect(results.logo).toMatchObject({ statusCode: 200, headers: { 'content-type': 'image/svg+xml' } });
    expect(results.ui.statusCode).toBe(200);
    expect(results.resume).toEqual({ resumed: 0, rollouts: 0 });
  });
});

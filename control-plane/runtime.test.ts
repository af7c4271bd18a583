import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type Config, loadConfig } from '../core/config.js';
import { testEndpoint, uniqueName } from '../test/support/aws.js';
import { buildRuntime, perContainer, RUNTIME_ROLES, type RuntimeOf, type RuntimeRole } from './runtime.js';

/**
 * The one composition root, each role on the test moto: the server ensures the platform the task
 * function then reads; the API function's app reports the same health as the server's.
 */

const base = {
  awsEndpoint: testEndpoint(),
  registryTable: uniqueName('registry'),
  resourcePrefix: uniqueName('rt'),
  adminKey: 'runtime-test-admin-key-0123456789abcdef',
  logLevel: 'silent',
  stackPollMs: 40,
};
const configFor = (overrides: Partial<Record<keyof Config, unknown>> = {}): Config =>
  loadConfig({
    env: {},
    overrides: { ...base, dataDir: mkdtempSync(join(tmpdir(), 'tcp-runtime-')), ...overrides },
  });
const STEP_FUNCTIONS = {
  engine: 'stepfunctions',
  stateMachineArnPrefix: 'arn:aws:states:us-east-1:123456789012:stateMachine:rt-',
};

const built: { close(): Promise<void> }[] = [];
async function build<R extends RuntimeRole>(role: R, config: Config): Promise<RuntimeOf[R]> {
  const runtime = await buildRuntime(config, {
    role,
    listen: false,
    templateCacheDir: inject('templateCacheDir'),
  });
  built.push(runtime);
  return runtime;
}
afterAll(async () => {
  for (const runtime of built.reverse()) await runtime.close();
});

describe('buildRuntime', () => {
  it('each role builds what its spec says, on the same registry and platform', async () => {
    expect(RUNTIME_ROLES.server).toMatchObject({ platform: 'ensure', api: true, server: true });
    const server = await build('server', configFor());
    expect(server.workflows.engine.kind).toBe('local');
    expect(server.platform.stackName).toBe(`${base.resourcePrefix}-platform`);

    const task = await build('task-lambda', configFor(STEP_FUNCTIONS));
    expect(task.platform).toEqual(server.platform);
    expect(task.workflows.engine.kind).toBe('stepfunctions');
    expect('app' in task).toBe(false);

    const api = await build('api-lambda', configFor(STEP_FUNCTIONS));
    expect(api.engine.kind).toBe('stepfunctions');
    expect(api.engine.runsHere('op_anything')).toBe(false);
    const fromServer = await server.app.inject({ method: 'GET', url: '/healthz' });
    const fromApi = await api.app.inject({ method: 'GET', url: '/healthz' });
    expect(fromApi.json()).toEqual(fromServer.json());
    expect(fromApi.json()).toMatchObject({
      status: 'ok',
      awsEndpoint: testEndpoint(),
      registry: { table: base.registryTable, status: 'ACTIVE' },
    });
    // The API function serves no tenant exports: it does not read the platform.
    expect(api.workflows.deps.platform).toThrow(/without the platform/);
  });

  it('the API function refuses a configuration that would not start executions on Step Functions', async () => {
    await expect(buildRuntime(configFor({ engine: 'local' }), { role: 'api-lambda' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: /WORKFLOW_ENGINE=stepfunctions/,
    });
    await expect(
      buildRuntime(configFor({ engine: 'stepfunctions' }), { role: 'api-lambda' }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('perContainer', () => {
  it('builds once, shares the build between concurrent calls, and retries a failed build', async () => {
    let builds = 0;
    const get = perContainer(async () => {
      builds += 1;
      if (builds === 1) throw new Error('first build fails');
      return builds;
    });
    await expect(get()).rejects.toThrow('first build fails');
    expect(await Promise.all([get(), get()])).toEqual([2, 2]);
    expect(await get()).toBe(2);
    expect(builds).toBe(2);
  });
});

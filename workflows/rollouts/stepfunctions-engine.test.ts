import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type ExecutionListItem,
  ListExecutionsCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutKey } from '../../core/registry/keys.js';
import type { Rollout } from '../../core/rollouts/records.js';
import { uniqueName } from '../../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane, testSynth } from '../../test/support/control-plane.js';
import { seedTenants } from '../../test/support/seed.js';
import { definitionText, substitute } from '../definitions/index.js';
import { rolloutDefinitionText } from './definition.js';
import { executionArn, ROLLOUT_MACHINE, rolloutExecutionName } from './stepfunctions-engine.js';

/**
 * Rollouts with WORKFLOW_ENGINE=stepfunctions, as the API and task functions run them: the
 * rollout service starts the deployed `<prefix>-rollout` machine on moto's Step Functions (which
 * stores executions but does not run definitions: the tasks are invoked here, as the task
 * function would be), never an execution in this process.
 */

const machinePrefix = `${uniqueName('sfn')}-`;
const arnPrefix = `arn:aws:states:us-east-1:123456789012:stateMachine:${machinePrefix}`;
const ROLE = 'arn:aws:iam::123456789012:role/rollout-test';
const rolloutArn = `${arnPrefix}${ROLLOUT_MACHINE}`;
const updateArn = `${arnPrefix}update-template`;
let cp: TestControlPlane;

async function executionsOf(stateMachineArn: string): Promise<ExecutionListItem[]> {
  const out = await cp.aws.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn }));
  return (out.executions ?? []).sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

const statusOf = async (rollout: Pick<Rollout, 'rolloutId' | 'executions'>) =>
  (
    await cp.aws.clients.sfn.send(
      new DescribeExecutionCommand({
        executionArn: executionArn(rolloutArn, rolloutExecutionName(rollout)),
      }),
    )
  ).status;

const task = (name: string, rolloutId: string, extra: Record<string, unknown> = {}) =>
  cp.workflows.rollouts.runTask({ task: name, rolloutId, pollSeconds: 1, ...extra });

beforeAll(async () => {
  cp = await startTestControlPlane({
    overrides: { engine: 'stepfunctions', stateMachineArnPrefix: arnPrefix },
  });
  const fn = 'arn:aws:lambda:us-east-1:123456789012:function:task';
  for (const [name, text] of [
    [ROLLOUT_MACHINE, rolloutDefinitionText()],
    ['update-template', definitionText('update-template')],
  ] as const)
    await cp.aws.clients.sfn.send(
      new CreateStateMachineCommand({
        name: `${machinePrefix}${name}`,
        definition: substitute(text, fn),
        roleArn: ROLE,
        type: 'STANDARD',
      }),
    );
  await seedTenants(cp.aws.clients.documents, cp.aws.registry.tableName, 3, () => ({
    tier: 'basic',
    state: 'ACTIVE',
  }));
  await cp.workflows.rollouts.registerVersions(testSynth());
}, 120_000);
afterAll(async () => cp?.close());

const create = () =>
  cp.workflows.rollouts.service.create(
    {
      isolation: ['pool'],
      targetVersion: 'latest',
      waves: [],
      maxConcurrency: 2,
      failureBudget: { count: 1 },
      bakeSeconds: 0,
      onFailure: 'pause',
    },
    'test',
  );

describe('StepFunctionsRolloutEngine (moto Step Functions)', () => {
  let rolloutId: string;

  it('creating a rollout starts one execution named after it; starting again starts none', async () => {
    ({
      rollout: { rolloutId },
    } = await create());
    const engine = cp.workflows.rollouts.engine;
    await engine.start(rolloutId);
    await Promise.all([engine.start(rolloutId), engine.start(rolloutId)]);
    const executions = await executionsOf(rolloutArn);
    expect(executions.map((e) => [e.name, e.status])).toEqual([[rolloutId, 'RUNNING']]);
    const described = await cp.aws.clients.sfn.send(
      new DescribeExecutionCommand({ executionArn: executions[0]!.executionArn }),
    );
    expect(JSON.parse(described.input!)).toEqual({ rolloutId, pollSeconds: 1 });
    // Nothing runs here: the record stays PENDING until the execution's Begin task runs.
    expect(engine.runsHere(rolloutId)).toBe(false);
    expect((await cp.workflows.rollouts.store.require(rolloutId)).status).toBe('PENDING');
  });

  it("the task function's RolloutTenant starts the tenant's update-template execution on Step Functions", async () => {
    await task('RolloutBegin', rolloutId);
    const plan = (await task('RolloutPlanWave', rolloutId)) as { next: string; items: string[] };
    expect(plan).toMatchObject({ next: 'run', maxConcurrency: 2, toleratedFailures: 1 });
    expect(plan.items).toHaveLength(3);
    const tenantId = plan.items[0]!;
    // The operation ends elsewhere (its own execution); here it is finished once it was started.
    const finishing = (async () => {
      for (;;) {
        const [started] = await executionsOf(updateArn);
        if (started) {
          await cp.aws.registry.finishOperation({ operationId: started.name!, outcome: 'succeeded' });
          return started;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const answer = await task('RolloutTenant', rolloutId, { tenantId });
    const started = await finishing;
    expect(answer).toMatchObject({ done: true, outcome: 'succeeded' });
    const progress = await cp.workflows.rollouts.store.tenant(rolloutId, tenantId);
    expect(progress).toMatchObject({ status: 'succeeded', operationId: started.name });
    expect((await cp.aws.registry.requireOperation(started.name!)).type).toBe('update-template');
  });

  it('pause is the record alone; resume stops the draining execution and starts the next', async () => {
    await cp.workflows.rollouts.service.act(rolloutId, 'pause', 'test');
    expect(await statusOf({ rolloutId, executions: 1 })).toBe('RUNNING');
    await cp.workflows.rollouts.service.act(rolloutId, 'resume', 'test');
    expect((await executionsOf(rolloutArn)).map((e) => [e.name, e.status])).toEqual([
      [rolloutId, 'ABORTED'],
      [`${rolloutId}-execution-2`, 'RUNNING'],
    ]);
  });

  it('an execution that ended with the rollout still RUNNING is followed by the next one', async () => {
    await cp.aws.clients.sfn.send(
      new StopExecutionCommand({
        executionArn: executionArn(rolloutArn, `${rolloutId}-execution-2`),
        cause: 'test',
      }),
    );
    expect(await cp.workflows.rollouts.engine.resumeOpen()).toBe(1);
    const rollout = await cp.workflows.rollouts.store.require(rolloutId);
    expect(rollout.executions).toBe(3);
    expect(await statusOf(rollout)).toBe('RUNNING');
    expect(await executionsOf(rolloutArn)).toHaveLength(3);
    // Started again while it runs: still three.
    await cp.workflows.rollouts.engine.resumeOpen();
    expect(await executionsOf(rolloutArn)).toHaveLength(3);
  });

  it('abort is the record alone, and an ended rollout is never started again', async () => {
    await cp.workflows.rollouts.service.act(rolloutId, 'abort', 'test');
    const rollout = await cp.workflows.rollouts.store.require(rolloutId);
    expect(rollout.status).toBe('ABORTED');
    // Its next PlanWave (and every unadmitted item) reads ABORTED and ends the execution.
    expect(await statusOf(rollout)).toBe('RUNNING');
    expect(await task('RolloutPlanWave', rolloutId)).toEqual({ next: 'end' });
    await cp.workflows.rollouts.engine.start(rolloutId);
    expect(await cp.workflows.rollouts.engine.resumeOpen()).toBe(0);
    expect(await executionsOf(rolloutArn)).toHaveLength(3);
  });
});

describe('RolloutTenant as the deployed definition calls it (wave, pass and targets from the plan)', () => {
  let rolloutId: string;
  let plan: { items: string[]; wave: number; pass: number; targets: Record<string, string> };
  const item = (tenantId: string) =>
    task('RolloutTenant', rolloutId, { tenantId, wave: plan.wave, pass: plan.pass, targets: plan.targets });
  const setInflight = (n: number) =>
    cp.aws.clients.documents.send(
      new UpdateCommand({
        TableName: cp.aws.registry.tableName,
        Key: rolloutKey(rolloutId),
        UpdateExpression: 'SET c_inflight = :n',
        ExpressionAttributeValues: { ':n': n },
      }),
    );

  it('the plan hands every item its wave, pass and versions by isolation', async () => {
    const { rollout } = await create();
    rolloutId = rollout.rolloutId;
    await task('RolloutBegin', rolloutId);
    plan = (await task('RolloutPlanWave', rolloutId)) as typeof plan;
    expect(plan).toMatchObject({ wave: 0, pass: 1, targets: rollout.targets });
    expect(plan.items).toHaveLength(3);
  });

  it('an item with no slot writes nothing: no operation, no progress, the tenant as it was', async () => {
    const tenantId = plan.items[0]!;
    const before = await cp.aws.registry.requireTenant(tenantId);
    const executions = (await executionsOf(updateArn)).length;
    // Both slots held, as by two updates in flight elsewhere.
    await setInflight(2);
    expect(await item(tenantId)).toMatchObject({
      done: false,
      detail: expect.stringMatching(/rollout slot/),
    });
    expect(await cp.aws.registry.requireTenant(tenantId)).toEqual(before);
    expect(await cp.workflows.rollouts.store.tenant(rolloutId, tenantId)).toBeUndefined();
    expect(await executionsOf(updateArn)).toHaveLength(executions);
    expect((await cp.workflows.rollouts.store.require(rolloutId)).counts).toMatchObject({
      inflight: 2,
      exposure: 0,
    });
  });

  it('admitted, the update starts in the same write: the progress names its operation, counted once', async () => {
    await setInflight(0);
    const tenantId = plan.items[0]!;
    const known = new Set((await executionsOf(updateArn)).map((e) => e.name));
    const finishing = (async () => {
      for (;;) {
        const started = (await executionsOf(updateArn)).find((e) => !known.has(e.name));
        if (started) {
          const progress = await cp.workflows.rollouts.store.tenant(rolloutId, tenantId);
          await cp.aws.registry.finishOperation({ operationId: started.name!, outcome: 'succeeded' });
          return { started, progress };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(await item(tenantId)).toMatchObject({ done: true, outcome: 'succeeded' });
    const { started, progress } = await finishing;
    // While the update ran, its progress already named it (written with the operation's start).
    expect(progress).toMatchObject({ status: 'running', operationId: started.name, wave: 0, pass: 1 });
    expect(await cp.workflows.rollouts.store.tenant(rolloutId, tenantId)).toMatchObject({
      status: 'succeeded',
      operationId: started.name,
    });
    expect((await cp.workflows.rollouts.store.require(rolloutId)).counts).toMatchObject({
      inflight: 0,
      succeeded: 1,
      exposure: 0,
    });
  });

  it('a tenant busy with another operation is recorded busy and moves no counter', async () => {
    const tenantId = plan.items[1]!;
    const { operation } = await cp.aws.registry.startOperation(tenantId, 'suspend', { actor: 'test' });
    expect(await item(tenantId)).toMatchObject({ done: true, outcome: 'busy' });
    expect(await cp.workflows.rollouts.store.tenant(rolloutId, tenantId)).toMatchObject({
      status: 'busy',
      busyPasses: 1,
      error: { code: 'OPERATION_IN_PROGRESS' },
    });
    expect((await cp.workflows.rollouts.store.require(rolloutId)).counts).toMatchObject({
      inflight: 0,
      succeeded: 1,
      exposure: 0,
    });
    await cp.aws.registry.finishOperation({ operationId: operation.operationId, outcome: 'rolled-back' });
    await cp.workflows.rollouts.service.act(rolloutId, 'abort', 'test');
  });
});

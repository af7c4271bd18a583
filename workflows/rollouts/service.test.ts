import { CreateStateMachineCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, uniqueName } from '../../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane } from '../../test/support/control-plane.js';
import { seedTenants } from '../../test/support/seed.js';
import { substitute } from '../definitions/index.js';
import { rolloutDefinitionText } from './definition.js';
import { ROLLOUT_MACHINE } from './stepfunctions-engine.js';

/**
 * `targetVersion: latest` right after an AWS deploy: no version is registered until the task
 * function first starts, so `latest` resolves to the versions its bundle carries
 * (BUNDLED_TEMPLATE_VERSIONS, set by the CDK app); without them it is refused, writing nothing.
 */

const BUNDLED = 'abcdef012345';
let bundled: TestControlPlane;
let bare: TestControlPlane;

// The rollout machine as deployed (moto stores executions without running them).
const machinePrefix = `${uniqueName('sfn')}-`;
const stepFunctions = {
  engine: 'stepfunctions' as const,
  stateMachineArnPrefix: `arn:aws:states:us-east-1:123456789012:stateMachine:${machinePrefix}`,
};

beforeAll(async () => {
  bundled = await startTestControlPlane({
    overrides: { ...stepFunctions, bundledTemplateVersions: { pool: BUNDLED } },
  });
  bare = await startTestControlPlane({ overrides: stepFunctions });
  await bundled.aws.clients.sfn.send(
    new CreateStateMachineCommand({
      name: `${machinePrefix}${ROLLOUT_MACHINE}`,
      definition: substitute(rolloutDefinitionText(), 'arn:aws:lambda:us-east-1:123456789012:function:task'),
      roleArn: 'arn:aws:iam::123456789012:role/rollout-test',
      type: 'STANDARD',
    }),
  );
  for (const cp of [bundled, bare])
    await seedTenants(cp.aws.clients.documents, cp.aws.registry.tableName, 2, () => ({
      tier: 'basic',
      state: 'ACTIVE',
    }));
}, 120_000);
afterAll(async () => {
  await bundled?.close();
  await bare?.close();
});

const request = {
  isolation: ['pool' as const],
  targetVersion: 'latest',
  waves: [],
  maxConcurrency: 2,
  failureBudget: { count: 0 },
  bakeSeconds: 0,
  onFailure: 'pause' as const,
};

describe('latest before any version is registered', () => {
  it('resolves to the bundled version', async () => {
    expect(await bundled.workflows.rollouts.versions.latest('pool')).toBeUndefined();
    const { rollout } = await bundled.workflows.rollouts.service.create(request, 'test');
    expect(rollout.targets).toEqual({ pool: BUNDLED });
  });

  it('without bundled versions is UNKNOWN_TEMPLATE_VERSION and writes no rollout', async () => {
    expect(await codeOf(bare.workflows.rollouts.service.create(request, 'test'))).toBe(
      'UNKNOWN_TEMPLATE_VERSION',
    );
    expect(await bare.workflows.rollouts.store.entries()).toEqual([]);
  });
});

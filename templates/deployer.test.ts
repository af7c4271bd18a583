import type { StackEvent } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { awsError, ScriptedCloudFormation } from '../test/support/scripted-cloudformation.js';
import { type StackDeployArgs, StackDeployer } from './deployer.js';
import type { SynthesizedTemplate } from './types.js';

/**
 * StackDeployer against a scripted CloudFormation: the waiting, adoption and failure reporting of
 * the platform deploy's loop over stack-ops. Against moto it runs in the platform tests.
 */

const template: SynthesizedTemplate = {
  kind: 'pool',
  target: 'aws',
  versionId: '0123456789ab',
  body: '{"Resources":{}}',
  bytes: 16,
  parameterNames: ['TenantId'],
};
const args: StackDeployArgs = {
  stackName: 'acme',
  template,
  parameters: [{ ParameterKey: 'TenantId', ParameterValue: 't_1' }],
  tags: [{ Key: 'TenantId', Value: 't_1' }],
  token: 'op1-create',
};

function deployer(
  cf: ScriptedCloudFormation,
  extra: Partial<ConstructorParameters<typeof StackDeployer>[0]> = {},
) {
  const sleeps: number[] = [];
  const d = new StackDeployer({
    cloudformation: cf.client(),
    pollMs: 100,
    maxPollMs: 300,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  });
  return { d, sleeps };
}

const inProgress = (status = 'CREATE_IN_PROGRESS') => ({ StackStatus: status });

describe('StackDeployer.create', () => {
  it('creates with the token, capabilities and tags, then polls with capped, jittered backoff', async () => {
    const cf = new ScriptedCloudFormation([
      undefined,
      inProgress(),
      inProgress(),
      inProgress(),
      inProgress(),
      { StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'TenantRoleArn', OutputValue: 'arn:role' }] },
    ]);
    const { d, sleeps } = deployer(cf);
    const result = await d.create({ ...args, terminationProtection: true });
    expect(result).toEqual({
      stackId: 'arn:stack/acme/1',
      stackName: 'acme',
      status: 'CREATE_COMPLETE',
      outputs: { TenantRoleArn: 'arn:role' },
    });
    expect(cf.calls.find((c) => c.name === 'CreateStack')).toEqual({
      name: 'CreateStack',
      input: expect.objectContaining({
        StackName: 'acme',
        TemplateBody: template.body,
        ClientRequestToken: 'op1-create',
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
        Tags: args.tags,
        Parameters: args.parameters,
        EnableTerminationProtection: true,
      }),
    });
    // Ceilings 100, 200, 300 (capped), 300; equal jitter at random 0.5 gives three quarters of each.
    expect(sleeps).toEqual([75, 150, 225, 225]);
  });

  it('keeps each wait between half and all of its ceiling', async () => {
    for (const [random, expected] of [
      [0, [50, 100, 150]],
      [0.999, [100, 200, 300]],
    ] as const) {
      const cf = new ScriptedCloudFormation([
        undefined,
        inProgress(),
        inProgress(),
        inProgress(),
        { StackStatus: 'CREATE_COMPLETE' },
      ]);
      const { d, sleeps } = deployer(cf, { random: () => random });
      await d.create(args);
      expect(sleeps).toEqual(expected);
    }
  });

  it('sends a TemplateURL instead of the body when the template has one', async () => {
    const cf = new ScriptedCloudFormation([undefined, { StackStatus: 'CREATE_COMPLETE' }]);
    await deployer(cf).d.create({
      ...args,
      template: { ...template, templateUrl: 'https://b.s3.us-east-1.amazonaws.com/t.json' },
    });
    const create = cf.calls.find((c) => c.name === 'CreateStack');
    expect(create?.input).toMatchObject({ TemplateURL: 'https://b.s3.us-east-1.amazonaws.com/t.json' });
    expect(create?.input).not.toHaveProperty('TemplateBody');
  });

  it('adopts a stack that already exists (a retried step) and waits for it', async () => {
    // Not there when looked at, there when created: another request (or an SDK retry) got through.
    const cf = new ScriptedCloudFormation([undefined, inProgress(), { StackStatus: 'CREATE_COMPLETE' }], {
      CreateStack: () => {
        throw awsError('AlreadyExistsException', 'Stack [acme] already exists');
      },
    });
    await expect(deployer(cf).d.create(args)).resolves.toMatchObject({ status: 'CREATE_COMPLETE' });
  });

  it("reports the failing resource's reason from this operation's events", async () => {
    const event = (
      id: string,
      type: string,
      status: string,
      reason?: string,
      token = 'op1-create',
    ): StackEvent => ({
      LogicalResourceId: id,
      ResourceType: type,
      ResourceStatus: status as StackEvent['ResourceStatus'],
      ResourceStatusReason: reason,
      StackId: 'arn:stack/acme/1',
      StackName: 'acme',
      EventId: `${id}-${status}`,
      Timestamp: new Date(),
      ClientRequestToken: token,
    });
    const events = [
      event('acme', 'AWS::CloudFormation::Stack', 'ROLLBACK_COMPLETE'),
      event('Db', 'AWS::RDS::DBInstance', 'CREATE_FAILED', 'Resource creation cancelled'),
      event('Role', 'AWS::IAM::Role', 'CREATE_FAILED', 'Access denied for iam:CreateRole'),
      event('acme', 'AWS::CloudFormation::Stack', 'CREATE_IN_PROGRESS', 'User Initiated'),
      event('Old', 'AWS::S3::Bucket', 'CREATE_FAILED', 'an earlier operation', 'op0-create'),
    ];
    const cf = new ScriptedCloudFormation(
      [undefined, inProgress(), { StackStatus: 'ROLLBACK_COMPLETE' }],
      {},
      events,
    );
    const failure = deployer(cf).d.create(args);
    await expect(failure).rejects.toMatchObject({
      code: 'STACK_FAILED',
      message:
        'stack acme create ended ROLLBACK_COMPLETE: Role (AWS::IAM::Role): Access denied for iam:CreateRole',
      details: { resource: 'Role', resourceType: 'AWS::IAM::Role', status: 'ROLLBACK_COMPLETE' },
    });
  });

  it('maps a rejected call to STACK_FAILED, and throttling to AWS_THROTTLED', async () => {
    const rejecting = (error: Error) =>
      new ScriptedCloudFormation([undefined], { CreateStack: () => Promise.reject(error) });
    await expect(
      deployer(rejecting(awsError('ValidationError', 'Template format error'))).d.create(args),
    ).rejects.toMatchObject({
      code: 'STACK_FAILED',
      message: expect.stringContaining('Template format error'),
    });
    await expect(
      deployer(rejecting(awsError('ThrottlingException', 'Rate exceeded'))).d.create(args),
    ).rejects.toMatchObject({
      code: 'AWS_THROTTLED',
    });
  });

  it('gives up after maxWaitMs of polling', async () => {
    const cf = new ScriptedCloudFormation([inProgress()]);
    await expect(deployer(cf, { maxWaitMs: 1000 }).d.create(args)).rejects.toMatchObject({
      code: 'STACK_FAILED',
      message: expect.stringContaining('still CREATE_IN_PROGRESS'),
    });
  });
});

describe('StackDeployer.update', () => {
  it('reports noChange when CloudFormation has nothing to do', async () => {
    const cf = new ScriptedCloudFormation([{ StackStatus: 'UPDATE_COMPLETE' }], {
      UpdateStack: () => Promise.reject(awsError('ValidationError', 'No updates are to be performed.')),
    });
    await expect(deployer(cf).d.update(args)).resolves.toMatchObject({
      noChange: true,
      status: 'UPDATE_COMPLETE',
    });
  });

  it('waits out an operation in progress, then asks again', async () => {
    let attempts = 0;
    const cf = new ScriptedCloudFormation(
      [inProgress('UPDATE_IN_PROGRESS'), { StackStatus: 'UPDATE_COMPLETE' }],
      {
        UpdateStack: () => {
          attempts += 1;
          return attempts === 1
            ? Promise.reject(
                awsError(
                  'ValidationError',
                  'Stack:acme is in UPDATE_IN_PROGRESS state and can not be updated.',
                ),
              )
            : Promise.reject(awsError('ValidationError', 'No updates are to be performed.'));
        },
      },
    );
    await expect(deployer(cf).d.update(args)).resolves.toMatchObject({ noChange: true });
    expect(attempts).toBe(2);
  });

  it('fails with STACK_FAILED when the update rolls back', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'UPDATE_COMPLETE' },
      inProgress('UPDATE_IN_PROGRESS'),
      { StackStatus: 'UPDATE_ROLLBACK_COMPLETE', StackStatusReason: 'boom' },
    ]);
    await expect(deployer(cf).d.update(args)).rejects.toMatchObject({
      code: 'STACK_FAILED',
      message: expect.stringContaining('UPDATE_ROLLBACK_COMPLETE'),
    });
  });

  it('turns termination protection on when asked and it is off', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'UPDATE_COMPLETE', EnableTerminationProtection: false },
    ]);
    const result = await deployer(cf).d.update({ ...args, terminationProtection: true });
    expect(result.noChange).toBe(false);
    expect(cf.calls.find((c) => c.name === 'UpdateTerminationProtection')?.input).toEqual({
      StackName: 'arn:stack/acme/1',
      EnableTerminationProtection: true,
    });
  });
});

describe('StackDeployer.delete', () => {
  it('succeeds without a call when the stack does not exist', async () => {
    const cf = new ScriptedCloudFormation([undefined]);
    await deployer(cf).d.delete({ stackName: 'acme', token: 'op1-delete' });
    expect(cf.names()).toEqual(['DescribeStacks']);
  });

  it('turns termination protection off first, then deletes by stack id', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'CREATE_COMPLETE', EnableTerminationProtection: true },
      { StackStatus: 'CREATE_COMPLETE', EnableTerminationProtection: false },
      inProgress('DELETE_IN_PROGRESS'),
      undefined,
    ]);
    await deployer(cf).d.delete({ stackName: 'acme', token: 'op1-delete' });
    expect(cf.names()).toEqual([
      'DescribeStacks',
      'UpdateTerminationProtection',
      'DescribeStacks',
      'DeleteStack',
      'DescribeStacks',
      'DescribeStacks',
    ]);
    expect(cf.calls[3]?.input).toEqual({ StackName: 'arn:stack/acme/1', ClientRequestToken: 'op1-delete' });
  });

  it('retries a failed delete with a fresh token, then reports STACK_DELETE_FAILED with the reason', async () => {
    const failed = { StackStatus: 'DELETE_FAILED', StackStatusReason: 'ENI still attached' };
    const cf = new ScriptedCloudFormation([{ StackStatus: 'CREATE_COMPLETE' }, failed]);
    const failure = deployer(cf).d.delete({ stackName: 'acme', token: 'op1-delete' });
    await expect(failure).rejects.toMatchObject({
      code: 'STACK_DELETE_FAILED',
      message: expect.stringContaining('ENI still attached'),
    });
    const tokens = cf.calls.filter((c) => c.name === 'DeleteStack').map((c) => c.input.ClientRequestToken);
    expect(tokens).toEqual(['op1-delete', 'op1-delete-retry2', 'op1-delete-retry3']);
  });

  it('succeeds when a retry gets the stack deleted', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'CREATE_COMPLETE' },
      { StackStatus: 'DELETE_FAILED' },
      { StackStatus: 'DELETE_FAILED' },
      { StackStatus: 'DELETE_COMPLETE' },
    ]);
    await deployer(cf).d.delete({ stackName: 'acme', token: 'op1-delete' });
    expect(cf.names().filter((n) => n === 'DeleteStack')).toHaveLength(2);
  });
});

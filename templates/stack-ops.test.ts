import type { StackEvent } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import { awsError, ScriptedCloudFormation } from '../test/support/scripted-cloudformation.js';
import { ensureCreated, ensureDeleted, ensureUpdated, type StackSpec } from './stack-ops.js';

/**
 * The stack operations against a scripted CloudFormation: one call per answer, what each call
 * asks, and the failure reader's scope (the operation's own ClientRequestToken). Against moto they
 * run in templates/tenant-stacks.test.ts and every workflow e2e test.
 */

const spec: StackSpec = {
  stackName: 'acme',
  template: { body: '{"Resources":{}}' },
  parameters: [{ ParameterKey: 'TierName', ParameterValue: 'standard' }],
  tags: [{ Key: 'TenantId', Value: 't_1' }],
  token: 'op2-create-acme',
};

const event = (id: string, status: string, token: string, reason?: string): StackEvent => ({
  LogicalResourceId: id,
  ResourceType: id === 'acme' ? 'AWS::CloudFormation::Stack' : 'AWS::IAM::Role',
  ResourceStatus: status as StackEvent['ResourceStatus'],
  ResourceStatusReason: reason,
  StackId: 'arn:stack/acme/1',
  StackName: 'acme',
  EventId: `${id}-${status}-${token}`,
  Timestamp: new Date(),
  ClientRequestToken: token,
});

describe('ensureCreated', () => {
  it('creates once with its token, OnFailure ROLLBACK and the execution role, and says it acted', async () => {
    const cf = new ScriptedCloudFormation([undefined, { StackStatus: 'CREATE_IN_PROGRESS' }]);
    const progress = await ensureCreated(cf.client(), { ...spec, roleArn: 'arn:aws:iam::1:role/cfn' });
    expect(progress).toMatchObject({ done: false, status: 'CREATE_IN_PROGRESS', acted: true });
    expect(cf.names()).toEqual(['DescribeStacks', 'CreateStack', 'DescribeStacks']);
    expect(cf.calls[1]?.input).toMatchObject({
      StackName: 'acme',
      ClientRequestToken: 'op2-create-acme',
      OnFailure: 'ROLLBACK',
      RoleARN: 'arn:aws:iam::1:role/cfn',
      EnableTerminationProtection: false,
    });
  });

  it('only looks at a stack that exists: no second create', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'CREATE_COMPLETE', Outputs: [{ OutputKey: 'TenantRoleArn', OutputValue: 'arn:role' }] },
    ]);
    const progress = await ensureCreated(cf.client(), spec);
    expect(progress).toMatchObject({ done: true, stack: { outputs: { TenantRoleArn: 'arn:role' } } });
    expect(cf.names()).toEqual(['DescribeStacks']);
  });

  it("reports this operation's first failed resource, never an earlier operation's", async () => {
    const events = [
      event('acme', 'ROLLBACK_COMPLETE', 'op2-create-acme'),
      event('Role', 'CREATE_FAILED', 'op2-create-acme', 'Role quota exceeded'),
      event('acme', 'CREATE_IN_PROGRESS', 'op2-create-acme', 'User Initiated'),
      event('Bucket', 'DELETE_FAILED', 'op1-delete-acme', 'an earlier operation'),
    ];
    const rolledBack = { StackStatus: 'ROLLBACK_COMPLETE', StackStatusReason: 'stack reason' };
    const ours = await ensureCreated(new ScriptedCloudFormation([rolledBack], {}, events).client(), spec);
    expect(ours.done && ours.failure?.message).toBe(
      'stack acme create ended ROLLBACK_COMPLETE: Role (AWS::IAM::Role): Role quota exceeded',
    );
    // Only an earlier operation failed a resource: its event is not this one's reason.
    const earlierOnly = await ensureCreated(
      new ScriptedCloudFormation([rolledBack], {}, events.slice(3)).client(),
      spec,
    );
    expect(earlierOnly).toMatchObject({
      done: true,
      failure: {
        code: 'STACK_FAILED',
        message: 'stack acme create ended ROLLBACK_COMPLETE: stack reason',
      },
    });
  });

  it('maps a refused create to STACK_FAILED and throttling to AWS_THROTTLED (thrown: the step fails or retries)', async () => {
    const refusing = (e: Error) =>
      new ScriptedCloudFormation([undefined], { CreateStack: () => Promise.reject(e) });
    await expect(
      ensureCreated(refusing(awsError('ValidationError', 'Template format error')).client(), spec),
    ).rejects.toMatchObject({
      code: 'STACK_FAILED',
      message: expect.stringContaining('Template format error'),
    });
    await expect(
      ensureCreated(refusing(awsError('ThrottlingException', 'Rate exceeded')).client(), spec),
    ).rejects.toMatchObject({ code: 'AWS_THROTTLED' });
  });
});

describe('ensureUpdated', () => {
  const running = (parameters: Record<string, string>, status = 'UPDATE_COMPLETE', updated?: string) => ({
    StackStatus: status,
    Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
      ParameterKey,
      ParameterValue,
    })),
    ...(updated ? { LastUpdatedTime: new Date(updated) } : {}),
  });

  it('settles without a call when the stack runs with the wanted parameters', async () => {
    const cf = new ScriptedCloudFormation([running({ TierName: 'standard' })]);
    const progress = await ensureUpdated(cf.client(), spec, { skipWhenParametersMatch: true });
    expect(progress).toMatchObject({ done: true, noChange: true });
    expect(cf.names()).toEqual(['DescribeStacks']);
  });

  it('waits out a busy stack without asking', async () => {
    const cf = new ScriptedCloudFormation([running({ TierName: 'basic' }, 'UPDATE_IN_PROGRESS')]);
    expect(await ensureUpdated(cf.client(), spec)).toMatchObject({
      done: false,
      status: 'UPDATE_IN_PROGRESS',
    });
    expect(cf.names()).toEqual(['DescribeStacks']);
  });

  it('a rollback since the operation began is its failure; an older one is updated from', async () => {
    const rolledBack = running({ TierName: 'basic' }, 'UPDATE_ROLLBACK_COMPLETE', '2026-11-24T10:00:00Z');
    const after = new ScriptedCloudFormation([rolledBack]);
    expect(
      await ensureUpdated(after.client(), spec, { rolledBackAfter: '2026-11-24T09:00:00.000Z' }),
    ).toMatchObject({ done: true, failure: { code: 'STACK_FAILED' } });
    expect(after.names()).not.toContain('UpdateStack');

    const before = new ScriptedCloudFormation([rolledBack, running({ TierName: 'standard' })]);
    expect(
      await ensureUpdated(before.client(), spec, { rolledBackAfter: '2026-11-24T11:00:00.000Z' }),
    ).toMatchObject({ done: true, stack: { status: 'UPDATE_COMPLETE' } });
    expect(before.calls.find((c) => c.name === 'UpdateStack')?.input).toMatchObject({
      ClientRequestToken: 'op2-create-acme',
      Parameters: spec.parameters,
    });
  });
});

describe('ensureDeleted', () => {
  it('counts a missing stack as deleted, without a call', async () => {
    const cf = new ScriptedCloudFormation([undefined]);
    expect(await ensureDeleted(cf.client(), { stackName: 'acme', token: 't' })).toEqual({ done: true });
    expect(cf.names()).toEqual(['DescribeStacks']);
  });

  it('turns termination protection off in one answer and deletes in the next', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'CREATE_COMPLETE', EnableTerminationProtection: true },
      { StackStatus: 'CREATE_COMPLETE' },
      { StackStatus: 'DELETE_IN_PROGRESS' },
    ]);
    expect(await ensureDeleted(cf.client(), { stackName: 'acme', token: 'op-delete0' })).toMatchObject({
      done: false,
    });
    expect(cf.names()).toEqual(['DescribeStacks', 'UpdateTerminationProtection']);
    expect(await ensureDeleted(cf.client(), { stackName: 'acme', token: 'op-delete0' })).toMatchObject({
      done: false,
      status: 'DELETE_IN_PROGRESS',
      acted: true,
    });
    expect(cf.calls.find((c) => c.name === 'DeleteStack')?.input).toEqual({
      StackName: 'arn:stack/acme/1',
      ClientRequestToken: 'op-delete0',
    });
  });

  it('a refused delete is the attempt failing (answered); throttling is thrown to be retried', async () => {
    const refusing = (e: Error) =>
      new ScriptedCloudFormation([{ StackStatus: 'CREATE_COMPLETE' }], {
        DeleteStack: () => Promise.reject(e),
      });
    expect(
      await ensureDeleted(refusing(awsError('ValidationError', 'Export in use')).client(), {
        stackName: 'acme',
        token: 't',
      }),
    ).toMatchObject({ done: true, failure: { code: 'STACK_DELETE_FAILED' } });
    await expect(
      ensureDeleted(refusing(awsError('ThrottlingException', 'Rate exceeded')).client(), {
        stackName: 'acme',
        token: 't',
      }),
    ).rejects.toMatchObject({ code: 'AWS_THROTTLED' });
  });

  it('reports DELETE_FAILED without a call when told not to retry', async () => {
    const cf = new ScriptedCloudFormation([
      { StackStatus: 'DELETE_FAILED', StackStatusReason: 'ENI in use' },
    ]);
    expect(
      await ensureDeleted(cf.client(), { stackName: 'acme', token: 't', retryFailed: false }),
    ).toMatchObject({ done: true, failure: { message: expect.stringContaining('ENI in use') } });
    expect(cf.names()).toEqual(['DescribeStacks', 'DescribeStackEvents']);
  });
});

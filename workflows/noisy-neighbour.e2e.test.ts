import { DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEndpoint } from '../test/support/aws.js';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.js';
import { DEFAULT_CATALOG, TierCatalog } from '../tiers/catalog.js';

/**
 * Noisy-neighbour controls on moto: a tier with them set gives each tenant a queue (with its
 * dead-letter queue, encrypted with the tenant's key) and a worker function with reserved
 * concurrency, read back through SQS and Lambda; a tier without them gets neither.
 */

const catalog = TierCatalog.parse({
  ...DEFAULT_CATALOG,
  tiers: [
    ...DEFAULT_CATALOG.tiers.map((t) =>
      t.name === 'enterprise'
        ? { ...t, allowedTransitions: [...(t.allowedTransitions ?? []), 'enterprise-fenced'] }
        : t,
    ),
    {
      ...DEFAULT_CATALOG.tiers.find((t) => t.name === 'enterprise')!,
      name: 'enterprise-fenced',
      allowedTransitions: ['enterprise'],
      noisyNeighbour: {
        reservedConcurrency: 7,
        tenantQueue: { visibilityTimeoutSeconds: 120, maxReceiveCount: 3 },
      },
    },
    {
      ...DEFAULT_CATALOG.tiers.find((t) => t.name === 'premium')!,
      name: 'premium-queued',
      allowedTransitions: [],
      noisyNeighbour: { tenantQueue: {} },
    },
  ],
});

const client = {
  region: 'us-east-1',
  endpoint: testEndpoint(),
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};
const sqs = new SQSClient(client);
const lambda = new LambdaClient(client);
const actor = { actor: 'test:ops' };
let cp: TestControlPlane;

beforeAll(async () => {
  cp = await startTestControlPlane({ catalog });
}, 120_000);
afterAll(async () => {
  sqs.destroy();
  lambda.destroy();
  await cp?.close();
});

async function onboard(slug: string, tier: string) {
  const started = await cp.workflows.lifecycle.onboard(
    { name: slug, slug, tier, adminEmail: `ops@${slug}.example.com` },
    actor,
  );
  const op = await cp.waitForOperation(started.operation.operationId);
  expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
  return cp.aws.registry.requireTenant(slug);
}

const queueAttributes = async (url: string) =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ??
  {};

async function stackResourceTypes(stackName: string): Promise<string[]> {
  const out = await cp.aws.clients.cloudformation.send(
    new DescribeStackResourcesCommand({ StackName: stackName }),
  );
  return (out.StackResources ?? []).map((r) => r.ResourceType ?? '');
}

describe('noisy-neighbour controls (moto)', () => {
  it("silo tier with both: the tenant's queue redrives to its DLQ, SSE with its key, and its worker has the reserved concurrency", async () => {
    const tenant = await onboard('fenced', 'enterprise-fenced');
    const { outputs } = tenant;
    expect(outputs.TenantQueueUrl).toMatch(/^https?:\/\//);
    expect(outputs.TenantDeadLetterQueueUrl).toMatch(/^https?:\/\//);
    expect(outputs.TenantQueueArn).toMatch(/^arn:aws:sqs:us-east-1:\d{12}:/);

    const queue = await queueAttributes(outputs.TenantQueueUrl!);
    const dlq = await queueAttributes(outputs.TenantDeadLetterQueueUrl!);
    expect(queue.QueueArn).toBe(outputs.TenantQueueArn);
    expect(JSON.parse(queue.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq.QueueArn,
      maxReceiveCount: 3,
    });
    expect(queue.VisibilityTimeout).toBe('120');
    // Both queues are encrypted with the tenant's own key (its stack's KmsKeyArn output).
    expect(outputs.KmsKeyArn).toMatch(/^arn:aws:kms:/);
    expect(queue.KmsMasterKeyId).toBe(outputs.KmsKeyArn);
    expect(dlq.KmsMasterKeyId).toBe(outputs.KmsKeyArn);
    expect(dlq.RedrivePolicy).toBeUndefined();

    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: outputs.WorkerFunctionName }));
    expect(fn.Configuration?.FunctionArn).toBe(outputs.WorkerFunctionArn);
    expect(fn.Configuration?.Runtime).toBe('nodejs22.x');
    const concurrency = await lambda.send(
      new GetFunctionConcurrencyCommand({ FunctionName: outputs.WorkerFunctionName }),
    );
    expect(Number(concurrency.ReservedConcurrentExecutions)).toBe(7);
    // The worker runs as its own role, not the tenant role.
    expect(fn.Configuration?.Role).not.toBe(outputs.TenantRoleArn);
  });

  it('bridge tier with a queue only: a queue with the default redrive (5) and no worker function', async () => {
    const tenant = await onboard('queued', 'premium-queued');
    const queue = await queueAttributes(tenant.outputs.TenantQueueUrl!);
    expect(JSON.parse(queue.RedrivePolicy ?? '{}').maxReceiveCount).toBe(5);
    expect(queue.VisibilityTimeout).toBe('30');
    expect(queue.KmsMasterKeyId).toBe(tenant.outputs.KmsKeyArn);
    expect(tenant.outputs.WorkerFunctionName).toBeUndefined();
    const types = await stackResourceTypes(tenant.stacks[0]!.stackName);
    expect(types).not.toContain('AWS::Lambda::Function');
  });

  it('a tier without controls gets no queue and no function', async () => {
    const tenant = await onboard('plain', 'enterprise');
    for (const name of ['TenantQueueUrl', 'TenantQueueArn', 'TenantDeadLetterQueueUrl', 'WorkerFunctionName'])
      expect(tenant.outputs[name], name).toBeUndefined();
    const types = await stackResourceTypes(tenant.stacks[0]!.stackName);
    expect(types).toContain('AWS::KMS::Key');
    expect(types).not.toContain('AWS::SQS::Queue');
    expect(types).not.toContain('AWS::Lambda::Function');
  });

  it('a tier change within silo onto a tier with the controls adds them to the running stack (UpdateStack), and back removes them from the outputs', async () => {
    await onboard('upgraded', 'enterprise');
    const started = await cp.workflows.lifecycle.changeTier('upgraded', 'enterprise-fenced', actor);
    const op = await cp.waitForOperation(started.operation.operationId);
    expect(op.status, JSON.stringify(op.error)).toBe('SUCCEEDED');
    const tenant = await cp.aws.registry.requireTenant('upgraded');
    expect(tenant.tier).toBe('enterprise-fenced');
    const queue = await queueAttributes(tenant.outputs.TenantQueueUrl!);
    expect(JSON.parse(queue.RedrivePolicy ?? '{}').maxReceiveCount).toBe(3);
    const concurrency = await lambda.send(
      new GetFunctionConcurrencyCommand({ FunctionName: tenant.outputs.WorkerFunctionName }),
    );
    expect(Number(concurrency.ReservedConcurrentExecutions)).toBe(7);

    // And back: the stack no longer outputs them, and the tenant's recorded outputs follow.
    const back = await cp.workflows.lifecycle.changeTier('upgraded', 'enterprise', actor);
    const backOp = await cp.waitForOperation(back.operation.operationId);
    expect(backOp.status, JSON.stringify(backOp.error)).toBe('SUCCEEDED');
    const after = await cp.aws.registry.requireTenant('upgraded');
    for (const name of ['TenantQueueUrl', 'TenantQueueArn', 'TenantDeadLetterQueueUrl', 'WorkerFunctionName'])
      expect(after.outputs[name], name).toBeUndefined();
    expect(after.outputs.TenantRoleArn).toBe(tenant.outputs.TenantRoleArn);
  });
});

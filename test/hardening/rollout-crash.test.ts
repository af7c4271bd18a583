import { DescribeStackEventsCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { describe, expect, it } from 'vitest';
import type { Operation } from '../../core/registry/records.js';
import { RolloutStore } from '../../core/rollouts/store.js';
import { TemplateVersionStore } from '../../core/rollouts/template-versions.js';
import { templateVersionId } from '../../templates/index.js';
import { onboardBody, waitForOperation } from './support/control-plane.js';
import { crashSetup, until } from './support/crash.js';

/**
 * A rollout survives a SIGKILL: the control plane runs as a child process (as `npm start` runs
 * it), is killed once the rollout has updated some stacks, and is started again on the same data
 * directory, registry table and moto. The rollout converges to SUCCEEDED with every stack at the
 * new version, and CloudFormation shows exactly one update of each stack.
 */

const crash = crashSetup('rocrash');
const { verify, registry, api } = crash;
const io = { db: verify.documents, tableName: crash.registryTable, clock: () => new Date() };
const rollouts = new RolloutStore(io);
const versions = new TemplateVersionStore(io);

describe('a rollout across a SIGKILL', () => {
  it('converges after a restart with no stack updated twice', async () => {
    await crash.start();
    const ops: string[] = [];
    for (let i = 0; i < 4; i++) {
      const answer = await api('POST', '/v1/tenants', onboardBody(`ro-crash-${i}`));
      expect(answer.status, JSON.stringify(answer.json)).toBe(202);
      ops.push((answer.json.operation as Operation).operationId);
    }
    for (const id of ops)
      expect((await waitForOperation((x) => registry.requireOperation(x), id, 90_000, 100)).status).toBe(
        'SUCCEEDED',
      );
    // A new pool version, registered beside the code's (the one the child registered at start).
    const current = await versions.latest('pool');
    const base = JSON.parse((await versions.body('pool', current!)).body) as Record<string, unknown>;
    const body = JSON.stringify({ ...base, Description: 'pool (crash revision)' });
    const target = templateVersionId(body);
    await versions.register('pool', { versionId: target, body }, 'test');

    const started = await api('POST', '/v1/rollouts', {
      tiers: ['basic'],
      targetVersion: target,
      maxConcurrency: 1,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const rolloutId = (started.json.rollout as { rolloutId: string }).rolloutId;
    await until(
      () => rollouts.require(rolloutId),
      (r) => r.counts.succeeded >= 1,
      'no tenant updated',
    );
    await crash.stop('SIGKILL');
    const atKill = await rollouts.require(rolloutId);
    console.info(`rollout-crash: killed with ${JSON.stringify(atKill.counts)}`);
    expect(atKill.status).toBe('RUNNING');

    await crash.start();
    const done = await until(
      () => rollouts.require(rolloutId),
      (r) => r.status !== 'RUNNING',
      'rollout did not end',
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(done.counts).toMatchObject({ succeeded: 4, failed: 0, inflight: 0, exposure: 0 });
    const progress = await rollouts.tenants(rolloutId);
    expect(progress.map((p) => p.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    for (const p of progress) {
      const tenant = await registry.requireTenant(p.tenantId);
      const stackName = tenant.stacks[0]!.stackName;
      const stack = (await verify.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })))
        .Stacks![0]!;
      expect(stack.Parameters?.find((x) => x.ParameterKey === 'TemplateVersion')?.ParameterValue).toBe(
        target,
      );
      const events = await verify.cloudformation.send(
        new DescribeStackEventsCommand({ StackName: stackName }),
      );
      const updates = (events.StackEvents ?? []).filter(
        (e) => e.LogicalResourceId === stackName && e.ResourceStatus === 'UPDATE_IN_PROGRESS',
      );
      expect(updates.length, `${stackName} updates`).toBe(1);
      const updateOps = (await registry.listEvents(p.tenantId, { limit: 50 })).items.filter(
        (e) => e.action === 'operation.started' && e.detail?.type === 'update-template',
      );
      expect(updateOps.length, `${tenant.slug} update operations`).toBe(1);
    }
  }, 400_000);
});

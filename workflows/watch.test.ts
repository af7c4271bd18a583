import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../core/errors.js';
import type { Operation } from '../core/registry/records.js';
import { OperationWatch } from './watch.js';

const op = (status: Operation['status'], version = 0): Operation =>
  ({
    operationId: 'op_1',
    tenantId: 't_1',
    type: 'onboard',
    status,
    steps: [],
    version,
  }) as unknown as Operation;

/** A registry that answers `current` and counts reads. */
function fakeRegistry(initial: Operation['status']) {
  const r = {
    current: op(initial),
    reads: 0,
    onRead: undefined as (() => void) | undefined,
    async requireOperation(id: string): Promise<Operation> {
      r.reads++;
      if (id !== 'op_1') throw new ControlPlaneError('OPERATION_NOT_FOUND', `no operation ${id}`);
      const answer = r.current;
      r.onRead?.();
      return answer;
    },
  };
  return r;
}

describe('OperationWatch', () => {
  it('answers when this process announces the end, with no further registry reads', async () => {
    const registry = fakeRegistry('RUNNING');
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    const waiting = watch.wait('op_1', 10_000);
    await new Promise((r) => setTimeout(r, 30));
    watch.ended(op('SUCCEEDED'));
    expect((await waiting).status).toBe('SUCCEEDED');
    expect(registry.reads).toBe(1);
  });

  it('does not miss an end announced while it reads the registry', async () => {
    const registry = fakeRegistry('RUNNING');
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    registry.onRead = () => watch.ended(op('FAILED'));
    expect((await watch.wait('op_1', 10_000)).status).toBe('FAILED');
  });

  it('re-reads the registry every pollMs for an operation running elsewhere', async () => {
    const registry = fakeRegistry('RUNNING');
    const watch = new OperationWatch({ registry, runsHere: () => false, pollMs: 20 });
    setTimeout(() => {
      registry.current = op('SUCCEEDED');
    }, 100);
    expect((await watch.wait('op_1', 10_000)).status).toBe('SUCCEEDED');
    expect(registry.reads).toBeGreaterThanOrEqual(2);
  });

  it('answers the operation as it stands at the timeout, and at once when it has ended', async () => {
    const registry = fakeRegistry('RUNNING');
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    expect((await watch.wait('op_1', 50)).status).toBe('RUNNING');
    registry.current = op('SUCCEEDED');
    registry.reads = 0;
    expect((await watch.wait('op_1', 10_000)).status).toBe('SUCCEEDED');
    expect(registry.reads).toBe(1);
  });

  it('passes OPERATION_NOT_FOUND through and wakes every waiter on close', async () => {
    const registry = fakeRegistry('RUNNING');
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    await expect(watch.wait('op_2', 1000)).rejects.toMatchObject({ code: 'OPERATION_NOT_FOUND' });
    const waiters = [watch.wait('op_1', 60_000), watch.wait('op_1', 60_000)];
    await new Promise((r) => setTimeout(r, 20));
    watch.close();
    expect((await Promise.all(waiters)).map((o) => o.status)).toEqual(['RUNNING', 'RUNNING']);
  });
});

describe('OperationWatch with since (live progress)', () => {
  it('answers at once when the version already differs from since', async () => {
    const registry = fakeRegistry('RUNNING');
    registry.current = op('RUNNING', 3);
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    expect((await watch.wait('op_1', 10_000, 2)).version).toBe(3);
    expect(registry.reads).toBe(1);
  });

  it('answers on a step change announced here, re-reading the operation once', async () => {
    const registry = fakeRegistry('RUNNING');
    registry.current = op('RUNNING', 1);
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    // The change lands (and is announced) right after the first read.
    registry.onRead = () => {
      registry.onRead = undefined;
      registry.current = op('RUNNING', 2);
      watch.changed('op_1');
    };
    const answer = await watch.wait('op_1', 10_000, 1);
    expect(answer).toMatchObject({ status: 'RUNNING', version: 2 });
    expect(registry.reads).toBe(2);
  });

  it('without since, a step change does not answer: only the end does', async () => {
    const registry = fakeRegistry('RUNNING');
    const watch = new OperationWatch({ registry, runsHere: () => true, pollMs: 10 });
    registry.onRead = () => {
      registry.onRead = () => {
        throw new Error('a step change made a waiter without since read again');
      };
      watch.changed('op_1');
      watch.ended(op('SUCCEEDED', 9));
    };
    expect((await watch.wait('op_1', 10_000)).status).toBe('SUCCEEDED');
    expect(registry.reads).toBe(1);
  });

  it('re-reads every pollMs an operation running elsewhere until its version moves', async () => {
    const registry = fakeRegistry('RUNNING');
    registry.current = op('RUNNING', 4);
    const watch = new OperationWatch({ registry, runsHere: () => false, pollMs: 5 });
    registry.onRead = () => {
      if (registry.reads === 3) registry.current = op('RUNNING', 5);
    };
    expect((await watch.wait('op_1', 10_000, 4)).version).toBe(5);
    expect(registry.reads).toBe(4);
  });
});

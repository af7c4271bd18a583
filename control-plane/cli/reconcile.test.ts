import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../core/registry/records.js';
import { startListeningTestApp, type TestApp, tenantBody } from '../../test/api/harness.js';
import { tenantctl } from '../../test/support/cli.js';
import { parseCommandLine, UsageError } from './args.js';

/** tenantctl retry | cancel against the API (registry only: no workflow runs here). */

let t: TestApp;
let url: string;

beforeAll(async () => {
  ({ t, url } = await startListeningTestApp());
});
afterAll(async () => t?.close());

const cli = (argv: string[]) => tenantctl(url, t.adminKey, argv);

const onboard = async (slug: string) =>
  (
    (await t.call({ method: 'POST', url: '/v1/tenants', payload: tenantBody(slug) })).json() as {
      operation: Operation;
    }
  ).operation;

describe('tenantctl retry and cancel', () => {
  it('cancel records the request; cancel of an ended operation exits 1 with its code', async () => {
    const op = await onboard('cli-cancel');
    const first = await cli(['cancel', op.operationId]);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`cancel of onboard ${op.operationId} requested; its compensation runs next\n`);
    await t.registry.finishOperation({
      operationId: op.operationId,
      outcome: 'rolled-back',
      error: { code: 'OPERATION_CANCELLED', message: 'Begin: cancelled' },
    });
    const ended = await cli(['cancel', op.operationId]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('OPERATION_NOT_CANCELLABLE');
  });

  it('retry prints the acceptance of the next attempt', async () => {
    const op = await onboard('cli-retry');
    await t.registry.finishOperation({
      operationId: op.operationId,
      outcome: 'rolled-back',
      error: { code: 'STACK_FAILED', message: 'CreateStack: x' },
    });
    const res = await cli(['retry', op.operationId, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as { operation: Operation }).operation).toMatchObject({
      attempt: 2,
      status: 'PENDING',
    });
  });

  it('parses the reconcile commands and refuses what they do not take', () => {
    expect(parseCommandLine(['reconcile', '--tenant', 'acme', '--fix'])).toMatchObject({
      command: 'reconcile',
      options: { tenant: 'acme', fix: true },
    });
    expect(parseCommandLine(['orphans', '--delete']).options.delete).toBe(true);
    expect(() => parseCommandLine(['health'])).toThrow(UsageError);
    expect(() => parseCommandLine(['retry', 'op_1', '--fix'])).toThrow(/retry does not take --fix/);
  });
});

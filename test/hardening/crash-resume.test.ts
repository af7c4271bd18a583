import { beforeAll, describe, expect, it } from 'vitest';
import type { Operation, Tenant } from '../../core/registry/records.js';
import { ONBOARD_STEPS } from '../support/control-plane.js';
import { onboardBody, waitForOperation } from './support/control-plane.js';
import { crashSetup } from './support/crash.js';
import { apiKeysWithPrefix, footprint, poolGroups, poolUsers, tenantStacks } from './support/moto.js';

/**
 * Crash and resume, from outside: the control plane runs as a child process (`node --import tsx
 * control-plane/main.ts`, as `npm start` runs it) and is SIGKILLed while operations are at chosen
 * workflow steps, then started again on the same data directory, registry table and moto. Every
 * tenant must converge (ACTIVE after onboarding, OFFBOARDED after offboarding) with nothing
 * orphaned in moto.
 *
 * A child start costs seconds (tsx, state machine validation), so one SIGKILL interrupts twelve
 * operations at once: an onboarding aimed at each onboard step and an offboarding aimed at each
 * offboard step, started at staggered times computed from calibration runs so that each is near
 * its step when the process dies. Where each one really was is read from the registry after the
 * kill and logged; convergence is asserted whatever the exact kill points.
 */

const OFFBOARD_STEPS = [
  'Begin',
  'SnapshotDatabase',
  'DeleteIdentity',
  'DeleteApiKey',
  'DeleteStacks',
  'Finish',
];

const crash = crashSetup('crash');
const { verify, registry, prefix, api } = crash;
let userPoolId = '';

async function startOperation(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<string> {
  const answer = await api(method, path, body);
  expect(answer.status, JSON.stringify(answer.json)).toBe(202);
  return (answer.json.operation as Operation).operationId;
}

async function restart(): Promise<void> {
  const t0 = Date.now();
  const child = await crash.start();
  console.info(`crash-resume: child control plane ${child.pid} listening after ${Date.now() - t0} ms`);
}

const converged = (ops: { operationId: string }[]): Promise<Operation[]> =>
  Promise.all(
    ops.map((o) => waitForOperation((id) => registry.requireOperation(id), o.operationId, 90_000, 200)),
  );

/** Middle of each step, in ms after the operation was created, averaged over uninterrupted runs. */
function timeline(ops: Operation[]): Map<string, number> {
  const sums = new Map<string, number[]>();
  for (const op of ops) {
    const t0 = Date.parse(op.createdAt);
    for (const s of op.steps) {
      const mid = (Date.parse(s.startedAt) + Date.parse(s.endedAt ?? s.startedAt)) / 2 - t0;
      sums.set(s.name, [...(sums.get(s.name) ?? []), mid]);
    }
  }
  return new Map([...sums].map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length]));
}

/** Where an operation was when the process died, from what the registry holds. */
function killPoint(op: Operation, order: readonly string[]): string {
  if (op.status === 'SUCCEEDED' || op.status === 'FAILED') return `after the end (${op.status})`;
  const running = op.steps.find((s) => s.status === 'RUNNING');
  if (running) return running.name;
  const done = new Set(op.steps.filter((s) => s.status === 'SUCCEEDED').map((s) => s.name));
  const next = order.find((s) => !done.has(s));
  return op.status === 'PENDING' && done.size === 0 ? 'Begin (not started)' : (next ?? order.at(-1)!);
}

/**
 * Twelve operations at once run slower than the one calibration run did (moto serves one request
 * at a time): the starts are spread by this factor so that they do not all bunch up at the
 * slowest step.
 */
const SLOWDOWN = 2;

interface Aimed {
  readonly kind: 'onboard' | 'offboard';
  readonly target: string;
  /** When the target step is, in ms after the operation starts (calibrated). */
  readonly at: number;
  readonly start: () => Promise<{ slug: string; operationId: string }>;
}

/**
 * Starts every aimed operation at `SLOWDOWN * (latest - at)`, so that all should be at their step
 * at once; polls the first one (the anchor) over HTTP and SIGKILLs the child as soon as the
 * anchor's step appears or the step before it has SUCCEEDED.
 */
async function killAtSteps(aimed: Aimed[]) {
  const plan = [...aimed].sort((a, b) => b.at - a.at);
  const latest = plan[0]!.at;
  const t0 = Date.now();
  const launched = plan.map(
    (a) =>
      new Promise<Aimed & { slug: string; operationId: string }>((resolve, reject) => {
        setTimeout(() => a.start().then((s) => resolve({ ...a, ...s }), reject), SLOWDOWN * (latest - a.at));
      }),
  );
  const anchor = await launched[0]!;
  const order = anchor.kind === 'onboard' ? ONBOARD_STEPS : OFFBOARD_STEPS;
  const previous = order[order.indexOf(anchor.target) - 1];
  const deadline = t0 + SLOWDOWN * latest + 5_000;
  for (;;) {
    const { json } = await api('GET', `/v1/operations/${anchor.operationId}`);
    const steps = (json.steps as Operation['steps'] | undefined) ?? [];
    const there =
      steps.some((s) => s.name === anchor.target) ||
      steps.some((s) => s.name === previous && s.status === 'SUCCEEDED') ||
      json.status === 'SUCCEEDED' ||
      json.status === 'FAILED';
    if (there || Date.now() > deadline) break;
  }
  const all = await Promise.all(launched);
  expect(await crash.stop('SIGKILL')).toBeNull();
  const points: string[] = [];
  for (const op of all) {
    const record = await registry.requireOperation(op.operationId);
    const point = killPoint(record, op.kind === 'onboard' ? ONBOARD_STEPS : OFFBOARD_STEPS);
    points.push(point);
    console.info(
      `crash-resume: ${op.kind} of ${op.slug} (aimed at ${op.target}) was at ${point} when SIGKILLed`,
    );
  }
  console.info(`crash-resume: ${new Set(points).size} distinct kill points`);
  // Not vacuous: the kill interrupted operations.
  expect(points.filter((p) => !p.startsWith('after the end')).length, points.join(', ')).toBeGreaterThan(0);
  return all;
}

const onboardTargets = ONBOARD_STEPS.map((step) => ({ step, slug: `crash-on-${step.toLowerCase()}` }));
const offboardTargets = OFFBOARD_STEPS.map((step) => ({ step, slug: `crash-off-${step.toLowerCase()}` }));
let killed: Awaited<ReturnType<typeof killAtSteps>> = [];

beforeAll(async () => {
  await restart();
  // The tenants the offboardings will be aimed at, onboarded first.
  const ready = await converged(
    await Promise.all(
      offboardTargets.map(async (t) => ({
        operationId: await startOperation('POST', '/v1/tenants', onboardBody(t.slug)),
      })),
    ),
  );
  expect(ready.map((o) => o.status)).toEqual(offboardTargets.map(() => 'SUCCEEDED'));
  // Calibration, nobody interrupted: one onboarding and one offboarding on their own.
  const [onboard] = await converged([
    { operationId: await startOperation('POST', '/v1/tenants', onboardBody('crash-cal')) },
  ]);
  expect(onboard!.status).toBe('SUCCEEDED');
  const [offboard] = await converged([
    { operationId: await startOperation('DELETE', '/v1/tenants/crash-cal') },
  ]);
  expect(offboard!.status).toBe('SUCCEEDED');
  userPoolId = (await registry.requireTenant('crash-cal')).access.userPoolId!;
  const on = timeline([onboard!]);
  const off = timeline([offboard!]);
  console.info(
    `crash-resume: calibration (ms after start) onboard ${JSON.stringify(Object.fromEntries(on))}, offboard ${JSON.stringify(Object.fromEntries(off))}`,
  );
  killed = await killAtSteps([
    ...onboardTargets.map(({ step, slug }) => ({
      kind: 'onboard' as const,
      target: step,
      at: on.get(step) ?? 0,
      start: async () => ({
        slug,
        operationId: await startOperation('POST', '/v1/tenants', onboardBody(slug)),
      }),
    })),
    ...offboardTargets.map(({ step, slug }) => ({
      kind: 'offboard' as const,
      target: step,
      at: off.get(step) ?? 0,
      start: async () => ({ slug, operationId: await startOperation('DELETE', `/v1/tenants/${slug}`) }),
    })),
  ]);
  await restart();
  await converged(killed);
}, 240_000);

describe('SIGKILL at each workflow step, then restart', () => {
  it('onboardings killed at each step resume to ACTIVE with one stack, one admin user, one API key', async () => {
    for (const { slug, operationId } of killed.filter((k) => k.kind === 'onboard')) {
      const op = await registry.requireOperation(operationId);
      expect(`${op.status} ${op.error?.message ?? ''}`, slug).toBe('SUCCEEDED ');
      const tenant = await registry.requireTenant(slug);
      expect(tenant.state).toBe('ACTIVE');
      expect(await footprint(verify, prefix, userPoolId, tenant), slug).toEqual({
        stacks: ['CREATE_COMPLETE'],
        users: [`${slug}-admin`],
        apiKeys: 1,
      });
      expect(tenant.stacks.map((s) => s.status)).toEqual(['CREATE_COMPLETE']);
    }
  });

  it('offboardings killed at each step resume to OFFBOARDED with nothing left behind', async () => {
    for (const { slug, operationId } of killed.filter((k) => k.kind === 'offboard')) {
      const op = await registry.requireOperation(operationId);
      expect(`${op.status} ${op.error?.message ?? ''}`, slug).toBe('SUCCEEDED ');
      const tenant = await registry.requireTenant(slug);
      expect(tenant.state).toBe('OFFBOARDED');
      expect(await footprint(verify, prefix, userPoolId, tenant), slug).toEqual({
        stacks: [],
        users: undefined,
        apiKeys: 0,
      });
    }
  });

  it('no orphan in moto: exactly the ACTIVE tenants have stacks, users, groups and API keys', async () => {
    const everyone = (await registry.listTenants({ limit: 200 })).items as Tenant[];
    expect(everyone.map((t) => `${t.slug} ${t.state}`).sort()).toEqual(
      [
        'crash-cal OFFBOARDED',
        ...onboardTargets.map((t) => `${t.slug} ACTIVE`),
        ...offboardTargets.map((t) => `${t.slug} OFFBOARDED`),
      ].sort(),
    );
    const active = everyone.filter((t) => t.state === 'ACTIVE');
    expect((await tenantStacks(verify, prefix)).sort()).toEqual(
      active.map((t) => `${prefix}-${t.slug}-pool CREATE_COMPLETE`).sort(),
    );
    expect((await poolUsers(verify, userPoolId)).sort()).toEqual(active.map((t) => `${t.slug}-admin`).sort());
    expect((await poolGroups(verify, userPoolId)).sort()).toEqual(
      active.map((t) => `tenant-${t.tenantId}`).sort(),
    );
    expect((await apiKeysWithPrefix(verify, `${prefix}-t_`)).sort()).toEqual(
      active.map((t) => `${prefix}-${t.tenantId}`).sort(),
    );
  });

  it('the restarted control plane still shuts down cleanly on SIGTERM', async () => {
    expect(await crash.stop('SIGTERM')).toBe(0);
  });
});

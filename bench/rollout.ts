import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateStackCommand, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type ControlPlane, startControlPlane } from '../control-plane/server.js';
import { createAwsClients } from '../core/aws/clients.js';
import { newTenantId } from '../core/ids.js';
import { type Tenant, TenantSchema } from '../core/registry/records.js';
import { toTenantItem } from '../core/registry/registry.js';
import type { Rollout, RolloutRequest } from '../core/rollouts/records.js';
import { RolloutStore } from '../core/rollouts/store.js';
import {
  buildTenantParameters,
  type CfnTemplate,
  SynthesisService,
  tenantStackName,
  tenantStackTags,
} from '../templates/index.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';
import type { Tier } from '../tiers/catalog.js';
import type { BenchResult } from './report.js';
import { benchConfig, processCpuSeconds, RequestCounter, round3, summarize } from './support.js';

/**
 * Benchmark: a fleet rollout over BENCH_FLEET pool tenants (default 1,000) seeded directly (records
 * written in batches, stacks created straight with CreateStack, not through onboarding), with
 * maxConcurrency BENCH_ROLLOUT_K (default 25).
 *
 * - wall ÷ ideal, ideal = ceil(N/K) × the median single-tenant update measured in the same run
 *   (a rollout of 10 other tenants one at a time: each update's admission → recorded end). Target ≤ 1.2.
 * - control-plane CPU per tenant update (this process: API, engines, tasks; moto is another
 *   process) and the process's peak RSS.
 * - a run with 10% of the updates failing (UpdateStack refused for them), budget 5%: how many
 *   updates started after the budget was reached. Target 0.
 */

const FLEET = Number(process.env.BENCH_FLEET ?? 1000);
const K = Number(process.env.BENCH_ROLLOUT_K ?? 25);
const SINGLES = 10;

const refused = new Set<string>();
const faults = aroundCalls('rolloutBenchFaults', async (call, send) => {
  if (call.operation === 'UpdateStack' && refused.has(String(call.input.StackName)))
    throw Object.assign(new Error('injected update failure'), {
      name: 'ValidationError',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  return send();
});

/**
 * CloudFormation's own update time, modelled (the `rollout-cfn` run): moto finishes an UpdateStack
 * before answering it, where CloudFormation takes tens of seconds to minutes, and the control plane
 * waits for it by polling. Here a stack the control plane updated reads UPDATE_IN_PROGRESS for a
 * while after its UpdateStack, then as moto has it: `stackMs` ± 25%, drawn per stack and update
 * (real updates vary; one fixed time would also fall at one point of the poll schedule for every
 * stack, which measures that point rather than the rollout). 0: not modelled (the `rollout` run).
 */
let stackMs = 0;
const updatedAt = new Map<string, number>();
/** The modelled time of a stack's `n`-th update: stable for a stack and update (FNV-1a of both). */
function modelledMs(stackName: string, n: number): number {
  let h = 0x811c9dc5;
  for (const c of `${stackName}#${n}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return stackMs * (0.75 + (0.5 * h) / 0xffffffff);
}
const updates = new Map<string, number>();
const stackTime = aroundCalls('rolloutBenchStackTime', async (call, send) => {
  if (stackMs === 0 || call.service !== 'CloudFormation') return send();
  const name = String(call.input.StackName);
  if (call.operation === 'UpdateStack') {
    const answer = await send();
    const n = (updates.get(name) ?? 0) + 1;
    updates.set(name, n);
    updatedAt.set(name, Date.now() + modelledMs(name, n));
    return answer;
  }
  const until = updatedAt.get(name);
  if (call.operation !== 'DescribeStacks' || until === undefined || Date.now() >= until) return send();
  const answer = await send();
  const out = answer.output as { Stacks?: { StackStatus?: string }[] };
  const stacks = out.Stacks?.map((st) =>
    st.StackStatus === 'UPDATE_COMPLETE' ? { ...st, StackStatus: 'UPDATE_IN_PROGRESS' } : st,
  );
  return { ...answer, output: { ...out, ...(stacks ? { Stacks: stacks } : {}) } };
});

/** Every AWS request the control plane makes, by `service.operation` (docs/performance.md). */
const counter = new RequestCounter();
// BENCH_TRACE=1: each request of the one-at-a-time rollout, in order (what to cut first).
let tracing = false;
if (process.env.BENCH_TRACE)
  counter.onRequest = (name, input) => {
    if (!tracing) return;
    const key = input.Key ?? input.KeyConditionExpression ?? input.StackName ?? input.UpdateExpression ?? '';
    console.log(
      `    ${new Date().toISOString().slice(14, 23)} ${name.padEnd(36)} ${JSON.stringify(key).slice(0, 110)}`,
    );
  };
const instrument = (client: { middlewareStack: unknown }) => {
  faults(client);
  stackTime(client);
  counter.instrument(client);
};

/** Requests made while `run` ran, by operation, per `updates`. */
async function requestsPer<T>(
  updates: number,
  run: () => Promise<T>,
): Promise<{ value: T; perUpdate: number; byOperation: [string, number][] }> {
  const before = new Map(counter.counts);
  const { value, requests } = await counter.during(run);
  const byOperation = [...counter.counts.entries()]
    .map(([name, n]): [string, number] => [name, round3((n - (before.get(name) ?? 0)) / updates)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return { value, perUpdate: round3(requests / updates), byOperation };
}

const top = (byOperation: [string, number][]) =>
  byOperation
    .slice(0, 8)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');

/** The same update-template operations a rollout starts, one tenant at a time, no rollout around them. */
async function plainUpdates(cp: ControlPlane, tenants: readonly Tenant[], templateVersion: string) {
  for (const t of tenants) {
    const { operation } = await cp.aws.registry.startOperation(t.tenantId, 'update-template', {
      actor: 'bench',
      input: { templateVersion },
      ...(cp.workflows.engine.runnerId ? { runner: cp.workflows.engine.runnerId } : {}),
    });
    await cp.workflows.engine.start(operation);
    for (;;) {
      const op = await cp.workflows.watch.wait(operation.operationId, 30_000);
      if (op.status === 'SUCCEEDED' || op.status === 'FAILED') break;
    }
  }
}

/**
 * The same update-template operations, `k` at a time through a plain worker pool, no rollout: what
 * the endpoint allows at that concurrency (moto serves one request at a time, so K updates at once
 * do not take one update's time). Wall ms.
 */
async function plainConcurrentUpdates(
  cp: ControlPlane,
  tenants: readonly Tenant[],
  templateVersion: string,
  k: number,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < tenants.length) {
      const t = tenants[next++]!;
      await plainUpdates(cp, [t], templateVersion);
    }
  };
  await Promise.all(Array.from({ length: Math.min(k, tenants.length) }, worker));
  return performance.now() - t0;
}

let revision = 0;
/** Registers a new pool version: the code's template with a revision mark in its Description. */
async function newPoolVersion(cp: ControlPlane): Promise<string> {
  revision += 1;
  const base = JSON.parse((await cp.workflows.deps.synth.resolve('pool', 'aws')).body) as CfnTemplate;
  const variant = new SynthesisService({
    cacheDir: mkdtempSync(join(tmpdir(), 'tcp-bench-rollout-')),
    synthesize: () => ({
      ...base,
      Description: `${base.Description ?? 'pool'} (bench revision ${revision})`,
    }),
  });
  const template = await variant.resolve('pool', 'moto');
  await cp.workflows.rollouts.versions.register('pool', template, `bench-${revision}`);
  return template.versionId;
}

/** One tenant stack by CreateStack, as it stands once it left CREATE_IN_PROGRESS (or after 10 s). */
async function seedStack(
  cp: ControlPlane,
  stackName: string,
  t: { tenantId: string; slug: string; tier: Tier; templateVersion: string; body: string },
): Promise<Stack | undefined> {
  const { cloudformation } = cp.aws.clients;
  await cloudformation
    .send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateBody: t.body,
        Parameters: buildTenantParameters(
          {
            tenantId: t.tenantId,
            slug: t.slug,
            tier: t.tier,
            allowedPrincipals: [],
            templateVersion: t.templateVersion,
          },
          cp.platform,
        ),
        Tags: tenantStackTags({
          tenantId: t.tenantId,
          tier: t.tier.name,
          isolation: 'pool',
          templateVersion: t.templateVersion,
        }),
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      }),
    )
    .catch((e: Error) => {
      if (e.name !== 'AlreadyExistsException') throw e;
    });
  for (const deadline = Date.now() + 10_000; ; ) {
    const stack = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName })))
      .Stacks?.[0];
    if (stack?.StackStatus !== 'CREATE_IN_PROGRESS' || Date.now() > deadline) return stack;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** N ACTIVE pool tenants with their stacks at the code's pool version, written straight. */
async function seedFleet(
  cp: ControlPlane,
  count: number,
  tierName: string,
  log: (l: string) => void,
): Promise<Tenant[]> {
  const { clients } = cp.aws;
  const template = await cp.workflows.deps.synth.resolve('pool', 'moto');
  const tier = cp.catalog.get(tierName);
  const at = new Date().toISOString();
  const tenants: Tenant[] = [];
  const t0 = performance.now();
  const todo = Array.from({ length: count }, (_, i) => i);
  const worker = async () => {
    for (let i = todo.shift(); i !== undefined; i = todo.shift()) {
      const tenantId = newTenantId();
      // A CreateStack a loaded moto answered with a 500 can leave a stack in CREATE_IN_PROGRESS
      // for good (the SDK's retry then meets AlreadyExists): such a tenant is seeded again under
      // a new name, never handed to the rollout, which would wait on it forever.
      let slug = '';
      let stackName = '';
      let stack: Stack | undefined;
      for (let attempt = 0; stack?.StackStatus !== 'CREATE_COMPLETE'; attempt += 1) {
        if (attempt === 3) throw new Error(`moto left ${stackName} in ${stack?.StackStatus}`);
        slug = attempt === 0 ? `ro-${tierName}-${i}` : `ro-${tierName}-${i}-r${attempt}`;
        stackName = tenantStackName(cp.config.resourcePrefix, slug, 'pool');
        stack = await seedStack(cp, stackName, {
          tenantId,
          slug,
          tier,
          templateVersion: template.versionId,
          body: template.body,
        });
      }
      tenants.push(
        TenantSchema.parse({
          tenantId,
          slug,
          name: `Rollout bench ${i}`,
          tier: tier.name,
          isolation: 'pool',
          state: 'ACTIVE',
          adminEmail: `admin+${i}@example.com`,
          region: cp.config.region,
          stacks: [
            {
              role: 'current',
              stackName,
              arn: stack.StackId ?? '',
              templateVersion: template.versionId,
              status: stack.StackStatus,
              region: cp.config.region,
            },
          ],
          templateVersion: template.versionId,
          version: 1,
          createdAt: at,
          updatedAt: at,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  for (let i = 0; i < tenants.length; i += 25)
    await clients.documents.send(
      new BatchWriteCommand({
        RequestItems: {
          [cp.config.registryTable]: tenants
            .slice(i, i + 25)
            .map((t) => ({ PutRequest: { Item: toTenantItem(t) } })),
        },
      }),
    );
  log(
    `  seeded ${count} ${tierName} tenants with their stacks in ${round3((performance.now() - t0) / 1000)} s`,
  );
  return tenants;
}

const STOP_EVENTS = new Set(['rollout.completed', 'rollout.failed', 'rollout.paused']);

async function runRollout(
  cp: ControlPlane,
  request: Partial<RolloutRequest>,
): Promise<{ rollout: Rollout; ms: number; startEpoch: number }> {
  // The bench watches the record on a client of its own, so its polls are not counted as the
  // control plane's requests.
  const watcher = createAwsClients({ region: cp.config.region, endpoint: cp.config.awsEndpoint });
  const store = new RolloutStore({
    db: watcher.documents,
    tableName: cp.config.registryTable,
    clock: () => new Date(),
  });
  const t0 = performance.now();
  const startEpoch = Date.now();
  const { rollout } = await cp.workflows.rollouts.service.create(
    {
      targetVersion: 'latest',
      waves: [],
      maxConcurrency: K,
      failureBudget: { percent: 100 },
      bakeSeconds: 0,
      onFailure: 'pause',
      ...request,
    },
    'bench',
  );
  // Never a silent hang: a rollout that has not ended after this long is reported as it stands.
  const deadline = Date.now() + 600_000 + rollout.waves.flatMap((w) => w.tenantIds).length * 2_000;
  // The record is read when the rollout says it stopped (its event on the local tap), and every
  // 2 s besides: a 20 ms poll of the record was itself ~50 reads a second of the endpoint the
  // updates wait on, a load the plain updates it is compared with do not have.
  let signalled = false;
  let wake: (() => void) | undefined;
  const unsubscribe = cp.workflows.tap.subscribe((e) => {
    if (e.rolloutId !== rollout.rolloutId || !STOP_EVENTS.has(e.type)) return;
    signalled = true;
    wake?.();
  });
  try {
    for (let stopped = false; ; ) {
      const r = await store.require(rollout.rolloutId);
      if (['SUCCEEDED', 'FAILED', 'ABORTED', 'PAUSED'].includes(r.status)) {
        if (r.counts.inflight === 0) return { rollout: r, ms: performance.now() - t0, startEpoch };
        stopped = true;
      }
      if (signalled) {
        signalled = false;
        stopped = true;
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(
          `rollout ${r.rolloutId} still ${r.status} with counts ${JSON.stringify(r.counts)} after ${Math.round((performance.now() - t0) / 1000)} s`,
        );
      await new Promise<void>((res) => {
        const timer = setTimeout(res, stopped ? 50 : 2_000);
        wake = () => {
          clearTimeout(timer);
          res();
        };
      });
    }
  } finally {
    unsubscribe();
    watcher.destroy();
  }
}

/** How a run models CloudFormation: not at all (moto as it answers), or its update time. */
export interface RolloutBenchMode {
  /** Key of the result in bench/results/latest.json. */
  readonly result: 'rolloutWall' | 'rolloutModelled';
  /** Seconds each stack update reads in progress after its UpdateStack; 0: moto's own timing. */
  readonly stackSeconds: number;
}

export async function benchRollout(
  endpoint: string,
  dataDir: string,
  adminKey: string,
  results: Record<string, BenchResult>,
  log: (line: string) => void,
  motoPid?: number,
  mode: RolloutBenchMode = { result: 'rolloutWall', stackSeconds: 0 },
): Promise<void> {
  stackMs = mode.stackSeconds * 1000;
  log(
    `\n[${mode.result}] fleet rollout: ${FLEET} pool tenants, maxConcurrency ${K}${
      stackMs ? `; each stack update takes ${mode.stackSeconds} s ± 25% (modelled)` : ''
    }`,
  );
  const prefix = stackMs ? 'bench-rm' : 'bench-ro';
  // A registry table of its own: the two runs' fleets (same tiers) never meet in a selection.
  const base = { ...benchConfig(endpoint, dataDir, adminKey, prefix), registryTable: `${prefix}-registry` };
  // Polled as on AWS, where the default is 2 s: every 100 ms over a modelled update would be
  // dozens of DescribeStacks per update, a load of the bench's making.
  const config = stackMs ? { ...base, stackPollMs: 1000 } : base;
  const cp = await startControlPlane(config, { progress: () => undefined, instrument });
  try {
    // The single updates run on `standard` tenants, one at a time; the fleet is `basic`.
    const standard = await seedFleet(cp, SINGLES, 'standard', log);
    const main = await seedFleet(cp, FLEET, 'basic', log);
    // The requests of a plain update (the update-template operation alone), then the same in a rollout.
    const plainVersion = await newPoolVersion(cp);
    const plain = await requestsPer(SINGLES, () => plainUpdates(cp, standard, plainVersion));
    await newPoolVersion(cp);
    tracing = true;
    const { value: singles, ...singleRequests } = await requestsPer(SINGLES, () =>
      runRollout(cp, { tiers: ['standard'], maxConcurrency: 1 }),
    );
    tracing = false;
    log(
      `  AWS requests per update: plain update-template ${plain.perUpdate} (${top(plain.byOperation)}); in a rollout, one at a time ${singleRequests.perUpdate} (${top(singleRequests.byOperation)})`,
    );
    const updateMs = (await cp.workflows.rollouts.store.tenants(singles.rollout.rolloutId)).map(
      (p) => Date.parse(p.endedAt!) - Date.parse(p.startedAt!),
    );
    const single = summarize(updateMs);
    const plainBefore = await plainConcurrentUpdates(cp, main, await newPoolVersion(cp), K);
    await newPoolVersion(cp);
    const cpu0 = process.cpuUsage();
    const moto0 = motoPid ? await processCpuSeconds(motoPid) : undefined;
    const {
      value: { rollout, ms, startEpoch },
      ...fleetRequests
    } = await requestsPer(FLEET, () => runRollout(cp, { tiers: ['basic'], maxConcurrency: K }));
    log(
      `  AWS requests per update in the fleet rollout: ${fleetRequests.perUpdate} (${top(fleetRequests.byOperation)})`,
    );
    const cpu = process.cpuUsage(cpu0);
    const moto1 = motoPid ? await processCpuSeconds(motoPid) : undefined;
    const motoCpuSeconds = moto0 !== undefined && moto1 !== undefined ? round3(moto1 - moto0) : null;
    const ideal = Math.ceil(main.length / K) * single.median;
    const fleetProgress = await cp.workflows.rollouts.store.tenants(rollout.rolloutId);
    const spans = fleetProgress.map((p) => [Date.parse(p.startedAt!), Date.parse(p.endedAt!)] as const);
    const underLoad = summarize(spans.map(([a, b]) => b - a));
    const peakInFlight = Math.max(
      ...spans.map(([a]) => spans.filter(([s0, e0]) => s0 <= a && a < e0).length),
    );
    // Where the wall time beyond ceil(N/K) × the median goes: updates slower than the median (their
    // mean), slots left empty (the mean number in flight), and the rollout's start and end.
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const firstStart = Math.min(...spans.map(([a]) => a));
    const lastEnd = Math.max(...spans.map(([, b]) => b));
    const meanInFlight = spans.reduce((sum, [a, b]) => sum + (b - a), 0) / (lastEnd - firstStart);
    const slowest = fleetProgress.reduce((x, y) =>
      Date.parse(y.endedAt!) - Date.parse(y.startedAt!) > Date.parse(x.endedAt!) - Date.parse(x.startedAt!)
        ? y
        : x,
    );
    const slowOp = slowest.operationId ? await cp.aws.registry.getOperation(slowest.operationId) : undefined;
    const steps = (slowOp?.steps ?? [])
      .map(
        (st) =>
          `${st.name} ${st.endedAt && st.startedAt ? Date.parse(st.endedAt) - Date.parse(st.startedAt) : '?'} ms`,
      )
      .join(', ');
    log(
      `  under load: each update ${Math.round(underLoad.median)} ms median, ${Math.round(mean(underLoad.samples))} ms mean (${Math.round(underLoad.min)}–${Math.round(underLoad.max)}); alone ${Math.round(mean(single.samples))} ms mean; at most ${peakInFlight} in flight, ${round3(meanInFlight)} on average; first admission ${firstStart - startEpoch} ms after the create, ${Math.round(startEpoch + ms - lastEnd)} ms from the last end to the rollout's; the slowest update's steps: ${steps}`,
    );
    const ratio = ms / ideal;
    const cpuMsPerUpdate = (cpu.user + cpu.system) / 1000 / main.length;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    log(
      `  single update median ${Math.round(single.median)} ms (${Math.round(single.min)}–${Math.round(single.max)}); rollout of ${main.length} ${rollout.status} in ${round3(ms / 1000)} s; ideal ${round3(ideal / 1000)} s; ratio ${round3(ratio)} (target <= 1.2)`,
    );
    log(
      `  control-plane CPU ${round3(cpuMsPerUpdate)} ms per update (this process); peak RSS ${Math.round(peakRssMb)} MB; moto CPU ${motoCpuSeconds ?? 'n/a'} s over the ${round3(ms / 1000)} s rollout (moto is single-threaded: near the wall time, it is the bound)`,
    );

    // The same fleet updated K at a time with no rollout around the updates, once just before the
    // rollout and once just after (the table grows as they run; the mean is the comparison): the
    // rollout's own cost at the concurrency this endpoint really gives (1 = it adds nothing).
    const plainAfter = await plainConcurrentUpdates(cp, main, await newPoolVersion(cp), K);
    const plainK = (plainBefore + plainAfter) / 2;
    const endpointRatio = ms / plainK;
    log(
      `  the same ${main.length} updates ${K} at a time without a rollout: ${round3(plainBefore / 1000)} s before it, ${round3(plainAfter / 1000)} s after; rollout ÷ their mean ${round3(endpointRatio)}`,
    );

    // 10% of the updates fail; the budget (5%) is reached half-way through them. As moto answers,
    // in both runs: near its end the strict budget leaves budget − failed + 1 updates in flight,
    // which with modelled stack time would take minutes and measure nothing more.
    stackMs = 0;
    await newPoolVersion(cp);
    main.forEach((t, i) => {
      if (i % 10 === 3) refused.add(t.stacks[0]!.stackName);
    });
    const failing = await runRollout(cp, {
      tiers: ['basic'],
      maxConcurrency: K,
      failureBudget: { percent: 5 },
    });
    const progress = await cp.workflows.rollouts.store.tenants(failing.rollout.rolloutId);
    const failedEnds = progress
      .filter((p) => p.status === 'failed')
      .map((p) => p.endedAt!)
      .sort();
    const reachedAt = failedEnds[failing.rollout.cap - 1];
    const after = reachedAt ? progress.filter((p) => p.startedAt! > reachedAt).length : 0;
    log(
      `  with 10% failing, budget ${failing.rollout.budget}: ${failing.rollout.status} after ${failing.rollout.counts.failed} failures, ${failing.rollout.counts.succeeded} updated; updates started after the budget was reached: ${after} (target 0)`,
    );
    refused.clear();
    results[mode.result] = {
      stackSeconds: mode.stackSeconds,
      ratio: round3(ratio),
      target: 1.2,
      met: ratio <= 1.2 && after === 0,
      tenants: main.length,
      maxConcurrency: K,
      singleUpdateMs: single,
      updateMsUnderLoad: underLoad,
      peakInFlight,
      meanInFlight: round3(meanInFlight),
      meanUpdateMsUnderLoad: Math.round(mean(underLoad.samples)),
      meanSingleUpdateMs: Math.round(mean(single.samples)),
      wallMs: Math.round(ms),
      idealMs: Math.round(ideal),
      plainConcurrentMs: Math.round(plainK),
      plainConcurrentBeforeMs: Math.round(plainBefore),
      plainConcurrentAfterMs: Math.round(plainAfter),
      endpointRatio: round3(endpointRatio),
      cpuMsPerUpdate: round3(cpuMsPerUpdate),
      requestsPerUpdate: {
        plain: plain.perUpdate,
        rolloutAlone: singleRequests.perUpdate,
        rolloutFleet: fleetRequests.perUpdate,
      },
      motoCpuSeconds,
      peakRssMb: Math.round(peakRssMb),
      failureRun: {
        status: failing.rollout.status,
        budget: failing.rollout.budget,
        failed: failing.rollout.counts.failed,
        updatesAfterBudget: after,
      },
    };
  } finally {
    stackMs = 0;
    updatedAt.clear();
    updates.clear();
    await cp.close();
  }
}

import '../core/polyfills.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateApiKeyCommand, CreateUsagePlanKeyCommand } from '@aws-sdk/client-api-gateway';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  CreateGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import Fastify from 'fastify';
import { type ControlPlane, startControlPlane } from '../control-plane/server.js';
import { newTenantId } from '../core/ids.js';
import { ensureLocalAws, stopLocalAws } from '../core/local-aws/sidecar.js';
import { Registry } from '../core/registry/registry.js';
import { ensureRegistryTable } from '../core/registry/table.js';
import {
  buildTenantParameters,
  SynthesisService,
  tenantStackName,
  tenantStackTags,
} from '../templates/index.js';
import { synthesizeTemplate } from '../templates/stacks/synthesize.js';
import { seedTenants } from '../test/support/seed.js';
import { benchQuotas } from './quotas.js';
import { benchReconcile } from './reconcile.js';
import { type BenchResult, saveResults } from './report.js';
import { benchRollout } from './rollout.js';
import {
  benchConfig,
  fmt,
  loadTest,
  processCpuSeconds,
  RequestCounter,
  round3,
  sideBySide,
  summarize,
} from './support.js';

/**
 * `npm run bench`: its comparisons, each side measured in this one process against the same
 * local AWS, alternating sides round by round. Prints ratios and writes bench/results/latest.json
 * and the figures section of docs/performance.md. Sizes: BENCH_N, BENCH_BURST, BENCH_SCALE.
 */

const N = Number(process.env.BENCH_N ?? 10);
const BURST = Number(process.env.BENCH_BURST ?? 200);
const SCALE = Number(process.env.BENCH_SCALE ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The rollout-cfn run: seconds a stack update takes (CloudFormation's own time, modelled). */
const STACK_SECONDS = Number(process.env.BENCH_STACK_SECONDS ?? 5);
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

const results: Record<string, BenchResult> = {};
/** What reproduces this run: the sizes that differ from the defaults, then the command. */
const COMMAND = `${[
  'TCP_MOTO_UNPATCHED',
  'BENCH_ONLY',
  'BENCH_N',
  'BENCH_BURST',
  'BENCH_SCALE',
  'BENCH_ROUNDS',
  'RECONCILE_BENCH_TENANTS',
  'BENCH_FLEET',
  'BENCH_ROLLOUT_K',
  'BENCH_STACK_SECONDS',
]
  .filter((v) => process.env[v])
  .map((v) => `${v}=${process.env[v]}`)
  .join(' ')} npm run bench`.trim();
/** Every AWS request the control plane's clients make (the baseline uses the same clients). */
const counter = new RequestCounter();
const log = (line: string) => console.log(line);

async function api(
  cp: ControlPlane,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${cp.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

let seq = 0;
/** Onboards `count` pool tenants through the HTTP API, concurrently, until each is ACTIVE. Returns ms and failures. */
async function onboardViaApi(
  cp: ControlPlane,
  count: number,
  progress = false,
): Promise<{ ms: number; failed: number }> {
  const t0 = performance.now();
  let ended = 0;
  const ticker = progress
    ? setInterval(
        () => log(`  … ${ended}/${count} ended after ${Math.round((performance.now() - t0) / 1000)} s`),
        10_000,
      )
    : undefined;
  const outcomes = await Promise.all(
    Array.from({ length: count }, async () => {
      const n = seq++;
      const started = (await api(cp, 'POST', '/v1/tenants', {
        name: `Bench ${n}`,
        slug: `cp-${n}`,
        tier: 'basic',
        adminEmail: `a${n}@bench.example.com`,
      })) as {
        operation: { operationId: string };
      };
      // Long polling, as tenantctl does: the answer comes when the operation ends.
      for (;;) {
        const op = (await api(
          cp,
          'GET',
          `/v1/operations/${started.operation.operationId}?waitSeconds=20`,
        )) as { status: string };
        if (op.status === 'SUCCEEDED' || op.status === 'FAILED') {
          ended++;
          return op.status === 'SUCCEEDED';
        }
      }
    }),
  ).finally(() => clearInterval(ticker));
  return { ms: performance.now() - t0, failed: outcomes.filter((ok) => !ok).length };
}

/** The same AWS calls as an onboarding, straight-line, with no control plane: the baseline. */
async function onboardStraightLine(cp: ControlPlane, table: string, count: number): Promise<number> {
  const { clients } = cp.aws;
  const platform = cp.platform;
  const template = await cp.workflows.deps.synth.resolve('pool', 'moto');
  const tier = cp.workflows.deps.catalog.get('basic');
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, async () => {
      const n = seq++;
      const tenantId = newTenantId();
      const slug = `sl-${n}`;
      await clients.documents.send(
        new PutCommand({ TableName: table, Item: { pk: tenantId, sk: '#T', slug, state: 'PROVISIONING' } }),
      );
      const stackName = tenantStackName('bench', slug, 'pool');
      await clients.cloudformation.send(
        new CreateStackCommand({
          StackName: stackName,
          TemplateBody: template.body,
          Parameters: buildTenantParameters(
            { tenantId, slug, tier, allowedPrincipals: [], templateVersion: template.versionId },
            platform,
          ),
          Capabilities: ['CAPABILITY_NAMED_IAM'],
          Tags: tenantStackTags({
            tenantId,
            tier: 'basic',
            isolation: 'pool',
            templateVersion: template.versionId,
          }),
        }),
      );
      for (;;) {
        const s = (await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })))
          .Stacks?.[0];
        if (s?.StackStatus === 'CREATE_COMPLETE') break;
        await new Promise((r) => setTimeout(r, cp.config.stackPollMs));
      }
      const group = `tenant-${tenantId}`;
      await clients.cognito.send(
        new CreateGroupCommand({ UserPoolId: platform.userPoolId, GroupName: group }),
      );
      await clients.cognito.send(
        new AdminCreateUserCommand({
          UserPoolId: platform.userPoolId,
          Username: `${slug}-admin`,
          UserAttributes: [{ Name: 'email', Value: `a${n}@bench.example.com` }],
        }),
      );
      await clients.cognito.send(
        new AdminAddUserToGroupCommand({
          UserPoolId: platform.userPoolId,
          Username: `${slug}-admin`,
          GroupName: group,
        }),
      );
      const key = await clients.apigateway.send(
        new CreateApiKeyCommand({ name: `bench-${tenantId}`, enabled: true }),
      );
      await clients.apigateway.send(
        new CreateUsagePlanKeyCommand({
          usagePlanId: platform.usagePlanIds.basic!,
          keyId: key.id!,
          keyType: 'API_KEY',
        }),
      );
      await clients.eventbridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: platform.eventBusName,
              Source: 'bench',
              DetailType: 'tenant.onboarded',
              Detail: '{}',
            },
          ],
        }),
      );
      await clients.documents.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: tenantId, sk: '#T' },
          UpdateExpression: 'SET #s = :a',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':a': 'ACTIVE' },
        }),
      );
    }),
  );
  return performance.now() - t0;
}

async function benchOnboarding(cp: ControlPlane): Promise<void> {
  log(
    `\n[1] onboarding overhead: ${N} concurrent pool onboardings via the API vs the same AWS calls straight-line, ${ROUNDS} rounds`,
  );
  const table = 'bench-baseline';
  await ensureRegistryTable(cp.aws.clients.dynamodb, table);
  const failures: number[] = [];
  const requests = { controlPlane: [] as number[], baseline: [] as number[] };
  const { a, b } = await sideBySide(
    ROUNDS,
    async () => {
      const r = await counter.during(() => onboardViaApi(cp, N));
      failures.push(r.value.failed);
      requests.controlPlane.push(r.requests / N);
      return r.value.ms;
    },
    async () => {
      const r = await counter.during(() => onboardStraightLine(cp, table, N));
      requests.baseline.push(r.requests / N);
      return r.value;
    },
  );
  const ratio = a.median / b.median;
  const perTenant = {
    controlPlane: round3(summarize(requests.controlPlane).median),
    baseline: round3(summarize(requests.baseline).median),
  };
  log(
    `  control plane: ${fmt(a, 'ms')}, ${perTenant.controlPlane} AWS requests per tenant\n  baseline:      ${fmt(b, 'ms')}, ${perTenant.baseline} AWS requests per tenant\n  ratio ${round3(ratio)} (target <= 1.25); request ratio ${round3(perTenant.controlPlane / perTenant.baseline)}`,
  );
  results.onboardingOverhead = {
    ratio: round3(ratio),
    target: 1.25,
    met: ratio <= 1.25,
    controlPlaneMs: a,
    baselineMs: b,
    tenantsPerRound: N,
    awsRequestsPerTenant: perTenant,
    failures: failures.reduce((x, y) => x + y, 0),
  };
}

async function benchTemplates(): Promise<void> {
  log('\n[2] template cost: resolving from the synthesis cache vs a fresh CDK synth per tenant');
  const fresh: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    synthesizeTemplate('pool');
    fresh.push(performance.now() - t0);
  }
  const synth = new SynthesisService({ cacheDir: mkdtempSync(join(tmpdir(), 'bench-synth-')) });
  await synth.resolve('pool', 'aws');
  const cached: number[] = [];
  for (let batch = 0; batch < 5; batch++) {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) await synth.resolve('pool', 'aws');
    cached.push((performance.now() - t0) / 1000);
  }
  // 1,000 onboardings spread over the three models, as their ResolveTemplate steps would ask.
  const counted = new SynthesisService({ cacheDir: mkdtempSync(join(tmpdir(), 'bench-synth-')) });
  const kinds = ['pool', 'bridge', 'silo'] as const;
  await Promise.all(Array.from({ length: 1000 }, (_, i) => counted.resolve(kinds[i % 3]!, 'aws')));
  const f = summarize(fresh);
  const c = summarize(cached);
  const ratio = f.median / c.median;
  log(
    `  fresh synth: ${fmt(f, 'ms')}\n  cached:      ${fmt(c, 'ms per resolve')}\n  ratio ${Math.round(ratio)}x cheaper (target >= 50); synths for 1,000 onboardings over 3 models: ${counted.synthCount} (target 3)`,
  );
  results.templateCost = {
    ratio: Math.round(ratio),
    target: 50,
    met: ratio >= 50 && counted.synthCount === 3,
    freshSynthMs: f,
    cachedResolveMs: c,
    synthsFor1000Onboardings: counted.synthCount,
  };
}

async function benchBurst(cp: ControlPlane, motoPid: number | undefined): Promise<void> {
  log(`\n[3] burst: ${BURST} concurrent pool onboardings through the API`);
  const cpu0 = process.cpuUsage();
  const moto0 = motoPid ? await processCpuSeconds(motoPid) : undefined;
  const r = await onboardViaApi(cp, BURST, true);
  const cpu = process.cpuUsage(cpu0);
  const moto1 = motoPid ? await processCpuSeconds(motoPid) : undefined;
  const cpSeconds = (cpu.user + cpu.system) / 1e6;
  const motoSeconds = moto0 !== undefined && moto1 !== undefined ? moto1 - moto0 : undefined;
  const wall = r.ms / 1000;
  const share = motoSeconds !== undefined ? cpSeconds / (cpSeconds + motoSeconds) : undefined;
  const ratio = (BURST - r.failed) / BURST;
  log(
    `  failures ${r.failed} (target 0), wall ${round3(wall)} s, ${round3(BURST / wall)} tenants/s; CPU: control plane ${round3(cpSeconds)} s, moto ${motoSeconds === undefined ? 'n/a' : round3(motoSeconds)} s → control plane share ${share === undefined ? 'n/a' : `${Math.round(share * 100)}%`}`,
  );
  results.burst = {
    ratio: round3(ratio),
    target: 1,
    met: r.failed === 0,
    tenants: BURST,
    failures: r.failed,
    wallSeconds: round3(wall),
    tenantsPerSecond: round3(BURST / wall),
    controlPlaneCpuSeconds: round3(cpSeconds),
    motoCpuSeconds: motoSeconds === undefined ? null : round3(motoSeconds),
    controlPlaneCpuShare: share === undefined ? null : round3(share),
  };
}

async function benchRegistryScale(cp: ControlPlane): Promise<void> {
  log(
    `\n[4] registry scale: one page (tier+state filter, 50 items) at 1,000 vs ${SCALE.toLocaleString('en')} tenants`,
  );
  const { clients } = cp.aws;
  // Items DynamoDB read per page, by size: what a page costs on DynamoDB, whatever moto's speed.
  const scanned = new Map<Registry, number>();
  const timePage = async (registry: Registry): Promise<number> => {
    const t0 = performance.now();
    const before = counter.itemsScanned;
    const page = await registry.listTenants({ tier: 'basic', state: 'ACTIVE', limit: 50 });
    const ms = performance.now() - t0;
    if (page.items.length !== 50) throw new Error(`expected a full page, got ${page.items.length}`);
    scanned.set(registry, counter.itemsScanned - before);
    return ms;
  };
  const make = async (count: number) => {
    const tableName = `bench-scale-${count}`;
    await ensureRegistryTable(clients.dynamodb, tableName);
    const t0 = performance.now();
    await seedTenants(
      clients.documents,
      tableName,
      count,
      (i) => ({ tier: ['basic', 'standard'][i % 2]!, state: i % 4 === 0 ? 'SUSPENDED' : 'ACTIVE' }),
      (written) => log(`  … seeded ${written.toLocaleString('en')} of ${count.toLocaleString('en')} tenants`),
    );
    log(`  seeded ${count.toLocaleString('en')} tenants in ${round3((performance.now() - t0) / 1000)} s`);
    return new Registry({ documents: clients.documents, tableName });
  };
  const small = await make(1000);
  const large = await make(SCALE);
  // One unmeasured page per size first: steady state, not the first read after the seeding writes
  // (which on the emulator rebuilds its partition lookup; DynamoDB has no such first-read cost).
  await timePage(large);
  await timePage(small);
  const { a, b } = await sideBySide(
    5,
    () => timePage(large),
    () => timePage(small),
  );
  const ratio = a.median / b.median;
  log(
    `  ${SCALE.toLocaleString('en')}: ${fmt(a, 'ms')}\n  1,000:   ${fmt(b, 'ms')}\n  ratio ${round3(ratio)} (target <= 1.5); items DynamoDB read per page: ${scanned.get(large)} at ${SCALE.toLocaleString('en')}, ${scanned.get(small)} at 1,000`,
  );
  results.registryScale = {
    ratio: round3(ratio),
    target: 1.5,
    met: ratio <= 1.5,
    largeTenants: SCALE,
    largeMs: a,
    smallMs: b,
    itemsReadPerPage: { large: scanned.get(large), small: scanned.get(small) },
  };
}

async function benchApi(cp: ControlPlane): Promise<void> {
  log('\n[5] API: GET /v1/tenants/:id requests/s vs a bare Fastify route doing the same registry read');
  const tenant = (await cp.aws.registry.listTenants({ limit: 1 })).items[0]!;
  const bare = Fastify({ logger: false });
  bare.get<{ Params: { id: string } }>('/tenants/:id', async (req) => {
    const out = await cp.aws.clients.documents.send(
      new GetCommand({
        TableName: cp.config.registryTable,
        Key: { pk: `TENANT#${req.params.id}`, sk: '#TENANT' },
      }),
    );
    return out.Item;
  });
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  const { a, b } = await sideBySide(
    ROUNDS,
    async () =>
      (
        await loadTest(
          `${cp.url}/v1/tenants/${tenant.tenantId}`,
          { authorization: `Bearer ${ADMIN_KEY}` },
          16,
          5,
        )
      ).rps,
    async () => (await loadTest(`${bareUrl}/tenants/${tenant.tenantId}`, {}, 16, 5)).rps,
  );
  await bare.close();
  const ratio = a.median / b.median;
  log(
    `  control plane: ${fmt(a, 'req/s')}\n  bare Fastify:  ${fmt(b, 'req/s')}\n  ratio ${round3(ratio)} (target >= 0.5)`,
  );
  results.api = {
    ratio: round3(ratio),
    target: 0.5,
    met: ratio >= 0.5,
    controlPlaneRps: a,
    bareFastifyRps: b,
  };
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',');
  const want = (name: string) => !only || only.includes(name);
  const dataDir = mkdtempSync(join(tmpdir(), 'tcp-bench-'));
  const aws = await ensureLocalAws({ dataDir });
  log(`local AWS (moto) at ${aws.endpoint}; node ${process.version}; ${new Date().toISOString()}`);
  const config = benchConfig(aws.endpoint, dataDir, ADMIN_KEY, 'bench');
  const cp = await startControlPlane(config, { progress: () => undefined, instrument: counter.instrument });
  try {
    const steps: [string, () => Promise<void>][] = [
      ['templates', benchTemplates],
      ['onboarding', () => benchOnboarding(cp)],
      ['api', () => benchApi(cp)],
      ['scale', () => benchRegistryScale(cp)],
      ['burst', () => benchBurst(cp, aws.pid)],
      [
        'quotas',
        async () => {
          results.quotaPrecheck = await benchQuotas(cp, counter, { count: N * 10, rounds: ROUNDS, log });
        },
      ],
      [
        'reconcile',
        async () => {
          results.reconcile = await benchReconcile(cp, counter, log);
        },
      ],
      ['rollout', () => benchRollout(aws.endpoint, dataDir, ADMIN_KEY, results, log, aws.pid)],
      [
        'rollout-cfn',
        () =>
          benchRollout(aws.endpoint, dataDir, ADMIN_KEY, results, log, aws.pid, {
            result: 'rolloutModelled',
            stackSeconds: STACK_SECONDS,
          }),
      ],
    ];
    for (const [name, run] of steps) {
      if (!want(name)) continue;
      await run();
      // Written after every benchmark, so a run cut short keeps what it measured.
      const key = Object.keys(results).find((k) => !results[k]!.measuredAt);
      if (key)
        results[key] = {
          ...results[key]!,
          measuredAt: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
          command: COMMAND,
        };
      saveResults(results);
    }
  } finally {
    await cp.close();
    await stopLocalAws(dataDir);
  }
  log('\nsummary:');
  for (const [name, r] of Object.entries(results))
    log(
      `  ${name.padEnd(20)} ratio ${String(r.ratio).padEnd(8)} target ${r.target}  ${r.met ? 'met' : 'MISSED'}`,
    );
  log('written to bench/results/latest.json and the figures table of docs/performance.md');
}

await main();
process.exit(0);

import '../core/polyfills.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../control-plane/server.js';
import { ensureLocalAws, stopLocalAws } from '../core/local-aws/sidecar.js';
import { benchConfig, RequestCounter } from './support.js';

/**
 * `npm run bench:profile`: the AWS requests behind PROFILE_N (1) pool onboardings through the API,
 * by operation; with PROFILE_TRACE=1, each request in order with its key. What to read first when
 * an onboarding gets slower on the emulator.
 */

const N = Number(process.env.PROFILE_N ?? 1);
const ADMIN_KEY = 'profile-admin-key-0123456789abcdef';
const counter = new RequestCounter();
if (process.env.PROFILE_TRACE)
  counter.onRequest = (name, input) => {
    const key = input.Key ?? input.KeyConditionExpression ?? input.StackName ?? input.UpdateExpression ?? '';
    console.log(`  ${name.padEnd(44)} ${JSON.stringify(key).slice(0, 100)}`);
  };

const dataDir = mkdtempSync(join(tmpdir(), 'tcp-profile-'));
const aws = await ensureLocalAws({ dataDir });
const config = benchConfig(aws.endpoint, dataDir, ADMIN_KEY, 'prof');
const cp = await startControlPlane(config, { instrument: counter.instrument });
const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
counter.counts.clear();
counter.millis.clear();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: N }, async (_, n) => {
    const res = await fetch(`${cp.url}/v1/tenants`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: `P ${n}`,
        slug: `p-${n}`,
        tier: 'basic',
        adminEmail: `a${n}@x.example.com`,
      }),
    });
    const { operation } = (await res.json()) as { operation: { operationId: string } };
    for (;;) {
      const op = (await (
        await fetch(`${cp.url}/v1/operations/${operation.operationId}?waitSeconds=20`, { headers })
      ).json()) as { status: string };
      if (op.status === 'SUCCEEDED' || op.status === 'FAILED') break;
    }
  }),
);
const ms = performance.now() - t0;
console.log(`\n${N} onboarding(s) in ${Math.round(ms)} ms; AWS requests by operation:`);
for (const [name, n] of [...counter.counts.entries()].sort((a, b) => b[1] - a[1]))
  console.log(
    `  ${name.padEnd(44)} ${String(n).padStart(5)}  ${((counter.millis.get(name) ?? 0) / n).toFixed(1).padStart(7)} ms each`,
  );
console.log(
  `  ${'total'.padEnd(44)} ${String(counter.total()).padStart(5)}  (${(counter.total() / N).toFixed(1)} per tenant)`,
);
await cp.close();
await stopLocalAws(dataDir);
process.exit(0);

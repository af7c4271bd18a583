import { type Config, loadConfig } from '../core/config.js';
import { aroundCalls } from '../test/support/sdk-middleware.js';

/** Small helpers for the benchmarks: medians, rounds, a loopback load generator. */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number[];
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples };
}

export const round3 = (n: number): number => Math.round(n * 1000) / 1000;

export function fmt(s: Summary, unit: string): string {
  return `median ${round3(s.median)} ${unit} (min ${round3(s.min)}, max ${round3(s.max)}, n=${s.samples.length})`;
}

/**
 * Runs both sides of a comparison in alternating order for `rounds` rounds, so drift in the
 * machine's load falls on both sides alike.
 */
export async function sideBySide(
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<{ a: Summary; b: Summary }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return { a: summarize(as), b: summarize(bs) };
}

/** Requests per second against `url` with `concurrency` loops for `seconds`. */
export async function loadTest(
  url: string,
  headers: Record<string, string>,
  concurrency: number,
  seconds: number,
): Promise<{ rps: number; errors: number }> {
  const deadline = performance.now() + seconds * 1000;
  let ok = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const res = await fetch(url, { headers }).catch(() => undefined);
        if (res?.ok) ok++;
        else errors++;
        await res?.arrayBuffer();
      }
    }),
  );
  return { rps: ok / seconds, errors };
}

/** CPU seconds a process has used, from /proc (Linux); undefined elsewhere. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const { readFile } = await import('node:fs/promises');
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat; here offset by the two fields before ') '.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Counts AWS requests by `Service.Operation`, through the SDK middleware hook every client takes
 * (`AwsTarget.instrument`). What an onboarding costs the emulator is mostly how many requests it makes.
 */
export class RequestCounter {
  readonly counts = new Map<string, number>();
  /** Items DynamoDB reports it read (ScannedCount) for Query and Scan answers, summed. */
  itemsScanned = 0;
  /** Milliseconds spent waiting on each operation's answers, summed. */
  readonly millis = new Map<string, number>();
  onRequest: ((name: string, input: Record<string, unknown>) => void) | undefined;

  readonly instrument = aroundCalls('benchRequestCounter', async (call, send) => {
    const name = `${call.service}.${call.operation}`;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    this.onRequest?.(name, call.input);
    const t0 = performance.now();
    try {
      const result = await send();
      const scanned = (result.output as { ScannedCount?: unknown } | undefined)?.ScannedCount;
      if (typeof scanned === 'number') this.itemsScanned += scanned;
      return result;
    } finally {
      this.millis.set(name, (this.millis.get(name) ?? 0) + performance.now() - t0);
    }
  });

  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Requests made while `run` ran (nothing else may run meanwhile). */
  async during<T>(run: () => Promise<T>): Promise<{ value: T; requests: number }> {
    const before = this.total();
    const value = await run();
    return { value, requests: this.total() - before };
  }
}

/** The control plane's configuration for a benchmark run on the local AWS at `endpoint`. */
export function benchConfig(
  endpoint: string,
  dataDir: string,
  adminKey: string,
  resourcePrefix: string,
): Config {
  return loadConfig({
    env: {},
    overrides: {
      awsEndpoint: endpoint,
      dataDir,
      port: 0,
      adminKey,
      resourcePrefix,
      stackPollMs: 100,
      logLevel: 'warn',
      maxStackOperations: 20,
    },
  });
}

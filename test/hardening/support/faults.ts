/**
 * Test-only fault injection between the AWS SDK and moto, hooked into every client through
 * `startControlPlane(config, { instrument })` (core/aws/clients.ts applies it to each client). It sits
 * inside the SDK's retry middleware, so an injected fault is what a real throttle, 5xx or timeout
 * would be: retried by the SDK first, then by the state machine's Retry.
 *
 * - `pre` faults never reach moto (throttling, a 5xx, a connection timeout);
 * - `lost` faults reach moto, which acts, and then lose the answer (a read timeout): the caller
 *   cannot tell whether the call happened, the hardest case for idempotency.
 */

import { aroundCalls } from '../../support/sdk-middleware.js';

export type FaultKind = 'throttle' | 'server' | 'timeout' | 'lost';

export interface FaultOptions {
  /** Share of calls that fail, 0 to 1. */
  readonly rate: number;
  readonly seed: number;
  /** Relative weights of the kinds injected. @default throttle 3, server 4, timeout 3 */
  readonly weights?: Partial<Record<FaultKind, number>>;
  /** Calls that may fail; @default every call */
  readonly only?: (commandName: string) => boolean;
}

export interface FaultInjector {
  /** Pass to startControlPlane / startTestControlPlane as `instrument`. */
  readonly instrument: (client: { middlewareStack: unknown }) => void;
  /** Injects nothing while false. */
  enabled: boolean;
  /** Calls seen while enabled, faults injected by kind, and by command. */
  readonly stats: { calls: number; injected: Record<FaultKind, number>; byCommand: Record<string, number> };
  /** Fails chosen calls deterministically (a permanent error), whatever the rate. */
  failWhen(rule: (commandName: string, input: Record<string, unknown>) => Error | undefined): void;
  /** Lets chosen calls reach moto, then loses their answer (a read timeout), whatever the rate. */
  loseWhen(rule: (commandName: string, input: Record<string, unknown>) => boolean): void;
  /** Sees every answer (e.g. to learn the id of a resource a later rule should fail on). */
  onAnswer(
    listener: (commandName: string, input: Record<string, unknown>, output: Record<string, unknown>) => void,
  ): void;
}

/** mulberry32: a small seeded PRNG, so a run's fault pattern depends on its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An error shaped as the SDK shapes service and network errors, so its classifiers see it as real. */
export function awsError(
  name: string,
  message: string,
  extra: { status?: number; fault?: 'client' | 'server'; throttling?: boolean; code?: string } = {},
): Error {
  return Object.assign(new Error(message), {
    name,
    ...(extra.code ? { code: extra.code } : {}),
    $fault: extra.fault ?? 'client',
    $metadata: extra.status
      ? { httpStatusCode: extra.status, attempts: 1, totalRetryDelay: 0 }
      : { attempts: 1 },
    ...(extra.throttling ? { $retryable: { throttling: true } } : {}),
  });
}

function faultError(kind: FaultKind, commandName: string): Error {
  switch (kind) {
    case 'throttle':
      return awsError('ThrottlingException', `Rate exceeded (injected into ${commandName})`, {
        status: 400,
        throttling: true,
      });
    case 'server':
      return awsError('InternalFailure', `We encountered an internal error (injected into ${commandName})`, {
        status: 500,
        fault: 'server',
      });
    case 'timeout':
    case 'lost':
      return awsError('TimeoutError', `socket timed out (injected into ${commandName})`, {
        code: 'ETIMEDOUT',
      });
  }
}

export function faultInjector(options: FaultOptions): FaultInjector {
  const random = seededRandom(options.seed);
  const weights = { throttle: 3, server: 4, timeout: 3, lost: 0, ...options.weights };
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const rules: ((commandName: string, input: Record<string, unknown>) => Error | undefined)[] = [];
  const listeners: ((c: string, i: Record<string, unknown>, o: Record<string, unknown>) => void)[] = [];
  const losers: ((commandName: string, input: Record<string, unknown>) => boolean)[] = [];
  const injector: FaultInjector = {
    enabled: true,
    stats: { calls: 0, injected: { throttle: 0, server: 0, timeout: 0, lost: 0 }, byCommand: {} },
    failWhen: (rule) => void rules.push(rule),
    onAnswer: (listener) => void listeners.push(listener),
    loseWhen: (rule) => void losers.push(rule),
    // Inside the SDK's retry middleware (finalizeRequest, high), outside deserialization.
    instrument: aroundCalls(
      'hardeningFaults',
      async ({ commandName, input }, send) => {
        for (const rule of rules) {
          const error = rule(commandName, input);
          if (error) throw error;
        }
        let kind: FaultKind | undefined;
        if (injector.enabled && (options.only?.(commandName) ?? true)) {
          injector.stats.calls += 1;
          if (random() < options.rate) {
            let pick = random() * total;
            for (const k of Object.keys(weights) as FaultKind[]) {
              pick -= weights[k];
              if (pick < 0) {
                kind = k;
                break;
              }
            }
            kind ??= 'server';
          }
        }
        if (losers.some((lose) => lose(commandName, input))) kind = 'lost';
        if (kind && kind !== 'lost') {
          injector.stats.injected[kind] += 1;
          injector.stats.byCommand[commandName] = (injector.stats.byCommand[commandName] ?? 0) + 1;
          if (kind === 'timeout') await new Promise((r) => setTimeout(r, 20));
          throw faultError(kind, commandName);
        }
        const result = await send();
        if (kind === 'lost') {
          injector.stats.injected.lost += 1;
          injector.stats.byCommand[commandName] = (injector.stats.byCommand[commandName] ?? 0) + 1;
          throw faultError('lost', commandName);
        }
        for (const listener of listeners)
          listener(commandName, input, result.output as Record<string, unknown>);
        return result;
      },
      { step: 'finalizeRequest', priority: 'low' },
    ),
  };
  return injector;
}

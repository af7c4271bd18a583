import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A control plane started as `npm start` starts it, in a child process we can SIGKILL. */
export interface ChildControlPlane {
  readonly pid: number;
  /** Where its API listens, from its own start-up line. */
  readonly url: string;
  /** Everything it printed so far (last 64 KiB), for failure messages. */
  output(): string;
  /** Sends the signal and waits for the process to end; resolves with its exit code (null if killed). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const alive = new Set<ChildProcess>();

/** Kills every child this module started that is still running (an afterAll safety net). */
export async function killChildren(): Promise<void> {
  await Promise.all(
    [...alive].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * Runs `node --import tsx control-plane/main.ts` with `env` (and PATH/HOME only from this process),
 * and resolves once it prints "control plane listening on <url>".
 */
export function startChildControlPlane(
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<ChildControlPlane> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'control-plane/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      alive.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child control plane not listening after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-65_536);
      const url = /control plane listening on (http:\/\/[^\s]+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          url,
          output: () => output,
          stop: (signal) => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`child control plane exited (${code}) before listening:\n${output}`));
    });
  });
}

/** Calls a child's API with a bearer key: the status and the parsed JSON body. */
export async function callChild<T = Record<string, unknown>>(
  child: Pick<ChildControlPlane, 'url'>,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${child.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlaneError } from '../errors.js';

/**
 * The local AWS: a `moto_server` on loopback that outlives the control plane, so a restart keeps
 * every tenant's stacks, users and registry rows. Its pid and port are recorded in the data
 * directory; two data directories give two independent local AWS instances.
 */

export interface SidecarState {
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly startedAt: string;
}

export interface LocalAws {
  readonly endpoint: string;
  /** True when this call started moto; false when it reused one recorded in the data directory. */
  readonly started: boolean;
  readonly pid: number;
}

export const MOTO_MISSING_MESSAGE = [
  'The local AWS emulator could not be started: `moto_server` is not on PATH.',
  'Install it with:  pip install "moto[server]"',
  'Or point the control plane at another AWS API:',
  '  - AWS_ENDPOINT_URL=http://127.0.0.1:4566 for LocalStack (or a moto you run yourself), or',
  '  - CONTROL_PLANE_TARGET=aws (or --aws) with real AWS credentials.',
].join('\n');

const stateFile = (dataDir: string) => join(dataDir, 'local-aws.json');

export function readSidecarState(dataDir: string): SidecarState | undefined {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SidecarState;
  } catch {
    return undefined;
  }
}

/** True when something at `endpoint` answers like moto. */
export async function motoAnswers(endpoint: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface EnsureLocalAwsOptions {
  readonly dataDir: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** How long to wait for moto to answer after spawning it. */
  readonly startTimeoutMs?: number;
  /** Executable to run; tests point it at a missing one. */
  readonly command?: string;
}

/** Reuses the moto recorded in `dataDir` if it still answers, else starts a new one. */
export async function ensureLocalAws(options: EnsureLocalAwsOptions): Promise<LocalAws> {
  const { dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  const previous = readSidecarState(dataDir);
  if (previous && processAlive(previous.pid) && (await motoAnswers(previous.endpoint))) {
    return { endpoint: previous.endpoint, started: false, pid: previous.pid };
  }
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const hostArgs = ['-H', '127.0.0.1', '-p', String(port)];
  // Our launcher first (moto with DynamoDB transactions made thread-safe), moto_server as is second.
  const candidates = options.command
    ? [{ command: options.command, args: hostArgs }]
    : [
        {
          command: 'python3',
          args: [fileURLToPath(new URL('./moto_launcher.py', import.meta.url)), ...hostArgs],
        },
        { command: 'moto_server', args: hostArgs },
      ];
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  let lastProblem = MOTO_MISSING_MESSAGE;
  for (const candidate of candidates) {
    const outcome = await spawnAndWait(candidate.command, candidate.args, endpoint, dataDir, deadline);
    if (outcome.kind === 'ready') {
      const state: SidecarState = { pid: outcome.pid, port, endpoint, startedAt: new Date().toISOString() };
      writeFileSync(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`);
      return { endpoint, started: true, pid: state.pid };
    }
    if (outcome.kind === 'failed') lastProblem = outcome.message;
  }
  throw new ControlPlaneError('LOCAL_AWS_UNAVAILABLE', lastProblem);
}

type SpawnOutcome =
  | { kind: 'ready'; pid: number }
  | { kind: 'missing' }
  | { kind: 'failed'; message: string };

async function spawnAndWait(
  command: string,
  args: string[],
  endpoint: string,
  dataDir: string,
  deadline: number,
): Promise<SpawnOutcome> {
  const logFile = join(dataDir, 'moto.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.unref();
  while (Date.now() < deadline) {
    const outcome = await Promise.race([
      spawnError.then((e) => ({ kind: 'error' as const, e })),
      exited.then((code) => ({ kind: 'exit' as const, code })),
      new Promise<{ kind: 'tick' }>((res) => setTimeout(() => res({ kind: 'tick' }), 150)),
    ]);
    if (outcome.kind === 'error') {
      const code = (outcome.e as NodeJS.ErrnoException).code;
      return code === 'ENOENT'
        ? { kind: 'missing' }
        : { kind: 'failed', message: `${command}: ${outcome.e.message}` };
    }
    if (outcome.kind === 'exit') {
      // 3: the launcher's interpreter has no moto; 127: a shim with nothing behind it.
      if (outcome.code === 3 || outcome.code === 127) return { kind: 'missing' };
      return {
        kind: 'failed',
        message: `${command} exited with code ${outcome.code} before answering; see ${logFile}`,
      };
    }
    if (await motoAnswers(endpoint, 500)) return { kind: 'ready', pid: child.pid ?? 0 };
  }
  if (child.pid) process.kill(child.pid, 'SIGTERM');
  return { kind: 'failed', message: `${command} did not answer on ${endpoint} in time; see ${logFile}` };
}

/** Stops the moto recorded in `dataDir`. Returns false when there was none running. */
export async function stopLocalAws(dataDir: string): Promise<boolean> {
  const state = readSidecarState(dataDir);
  rmSync(stateFile(dataDir), { force: true });
  if (!state || !processAlive(state.pid)) return false;
  process.kill(state.pid, 'SIGTERM');
  for (let i = 0; i < 50 && processAlive(state.pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (processAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
  return true;
}

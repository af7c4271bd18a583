import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backoffDelay, sleep } from '../backoff.js';
import { ControlPlaneError } from '../errors.js';
import {
  commandLine,
  DATA_DIR_ENV,
  isMotoCommand,
  isMotoOn,
  motoProcessesFor,
  processAlive,
} from './processes.js';

/**
 * The local AWS: a `moto_server` on loopback that outlives the control plane, so a restart keeps
 * every tenant's stacks, users and registry rows. Its pid and port are recorded in the data
 * directory (`local-aws.json`); two data directories give two independent local AWS instances.
 *
 * A start reuses the recorded moto whenever that process is alive, is moto, holds its port and
 * answers a plain AWS call; it never starts a second one while the recorded one lives. With
 * `persist`, moto keeps a snapshot of its state in the data directory (`moto-state.pickle`, see
 * moto_launcher.py) and a new moto loads it, so the state survives `local-aws:stop` and a reboot.
 * When the recorded moto is gone and nothing can be restored, the start says so (`notice`, and
 * `stateLost` in the record that `tenantctl doctor` shows), never silently presenting an empty world.
 */

export const RECORD_FILE = 'local-aws.json';
export const STATE_FILE = 'moto-state.pickle';
export const LOG_FILE = 'moto.log';
const LOCK_FILE = 'local-aws.lock';

/** How the state of the recorded moto began. */
export type LocalAwsOrigin = 'new' | 'restored' | 'lost';

export interface SidecarState {
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly startedAt: string;
  /** The snapshot moto keeps; absent when its state lives in memory only. */
  readonly stateFile?: string;
  readonly origin?: LocalAwsOrigin;
  /** When origin is `restored`: the snapshot loaded and when it had been written. */
  readonly restoredFrom?: { readonly file: string; readonly savedAt: string };
  /** When origin is `lost`: what start-up found (shown by `tenantctl doctor`). */
  readonly stateLost?: { readonly at: string; readonly message: string };
  /** Set by `local-aws:stop`: this moto was stopped on purpose (the record keeps its port for the next start). */
  readonly stoppedAt?: string;
}

export interface LocalAws {
  readonly endpoint: string;
  /** True when this call started moto; false when it reused one recorded in the data directory. */
  readonly started: boolean;
  readonly pid: number;
  readonly port: number;
  /** `reused`: the recorded moto, live. Else how the state of the moto just started began. */
  readonly origin: 'reused' | LocalAwsOrigin;
  /** What start-up must tell the operator (state restored or lost, stray motos); absent when nothing. */
  readonly notice?: string;
}

export const MOTO_MISSING_MESSAGE = [
  'The local AWS emulator could not be started: `moto_server` is not on PATH.',
  'Install it with:  pip install "moto[server]"',
  'Or point the control plane at another AWS API:',
  '  - AWS_ENDPOINT_URL=http://127.0.0.1:4566 for LocalStack (or a moto you run yourself), or',
  '  - CONTROL_PLANE_TARGET=aws (or --aws) with real AWS credentials.',
].join('\n');

const recordFile = (dataDir: string) => join(dataDir, RECORD_FILE);

export function readSidecarState(dataDir: string): SidecarState | undefined {
  const file = recordFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as SidecarState;
    return Number.isInteger(state.pid) && Number.isInteger(state.port) && typeof state.endpoint === 'string'
      ? state
      : undefined;
  } catch {
    return undefined;
  }
}

export interface ProbePolicy {
  /** Tries before giving up. */
  readonly attempts: number;
  /** Per try: a busy emulator (a large state, a burst of requests) can take seconds to answer. */
  readonly timeoutMs: number;
}

/** Three tries of 5 s, backing off between them. */
export const DEFAULT_PROBE: ProbePolicy = { attempts: 3, timeoutMs: 5000 };

/**
 * One plain AWS call, STS GetCallerIdentity: cheap and independent of what moto holds (unlike
 * `/moto-api/data.json`, which serialises the whole state and answers 500 once an RDS instance exists).
 * moto does not check signatures, only the credential scope that names the service.
 */
async function callerIdentity(endpoint: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.ok && (await res.text()).includes('<Account>');
  } catch {
    return false;
  }
}

/** True when something at `endpoint` answers like AWS (a number: one try of that many ms). */
export async function motoAnswers(
  endpoint: string,
  policy: ProbePolicy | number = DEFAULT_PROBE,
): Promise<boolean> {
  const { attempts, timeoutMs } = typeof policy === 'number' ? { attempts: 1, timeoutMs: policy } : policy;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(backoffDelay({ baseMs: 500 }, attempt - 1));
    if (await callerIdentity(endpoint, timeoutMs)) return true;
  }
  return false;
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

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

export interface EnsureLocalAwsOptions {
  readonly dataDir: string;
  /** 0 (default) picks the previous moto's port when free, else a free one. */
  readonly port?: number;
  /** How long to wait for moto to answer after spawning it (loading a large snapshot takes longer). */
  readonly startTimeoutMs?: number;
  /** Executable to run; tests point it at a missing one. */
  readonly command?: string;
  /** Keep moto's state in `<dataDir>/moto-state.pickle` (what `npm start` does). @default false */
  readonly persist?: boolean;
  readonly probe?: ProbePolicy;
}

/**
 * Reuses the moto recorded in `dataDir` if it is alive, owns its port and answers; refuses to start
 * a second one if it is alive but does not answer; else starts one (restoring the snapshot if any).
 */
export async function ensureLocalAws(options: EnsureLocalAwsOptions): Promise<LocalAws> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  return withStartLock(dataDir, deadline, async () => {
    const probe = options.probe ?? DEFAULT_PROBE;
    const previous = readSidecarState(dataDir);
    if (previous && !previous.stoppedAt && isMotoOn(previous.pid, previous.port)) {
      if (await motoAnswers(previous.endpoint, probe)) {
        return {
          endpoint: previous.endpoint,
          started: false,
          pid: previous.pid,
          port: previous.port,
          origin: 'reused',
        };
      }
      throw new ControlPlaneError(
        'LOCAL_AWS_UNAVAILABLE',
        `The local AWS recorded in ${dataDir} (moto pid ${previous.pid} on port ${previous.port}) is running ` +
          `but did not answer in ${probe.attempts} tries of ${probe.timeoutMs / 1000} s. It holds the local ` +
          'state, so no second one is started: try again when it is less busy, or stop it with ' +
          `\`npm run local-aws:stop\` (${previous.stateFile ? 'which saves its state first' : 'its state is then lost'}). ` +
          `Its log: ${join(dataDir, LOG_FILE)}`,
      );
    }
    return startMoto(options, dataDir, previous, deadline);
  });
}

async function startMoto(
  options: EnsureLocalAwsOptions,
  dataDir: string,
  previous: SidecarState | undefined,
  deadline: number,
): Promise<LocalAws> {
  const stateFile = options.persist ? join(dataDir, STATE_FILE) : undefined;
  const snapshotAt = stateFile && existsSync(stateFile) ? statSync(stateFile).mtime.toISOString() : undefined;
  const port =
    options.port && options.port > 0
      ? options.port
      : previous && previous.port >= 1024 && (await portFree(previous.port))
        ? previous.port
        : await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const hostArgs = ['-H', '127.0.0.1', '-p', String(port)];
  // Our launcher first (thread-safe DynamoDB transactions, snapshots), moto_server as is second.
  const candidates = options.command
    ? [{ command: options.command, args: hostArgs, persists: false }]
    : [
        {
          command: 'python3',
          args: [fileURLToPath(new URL('./moto_launcher.py', import.meta.url)), ...hostArgs],
          persists: true,
        },
        { command: 'moto_server', args: hostArgs, persists: false },
      ];
  let lastProblem = MOTO_MISSING_MESSAGE;
  for (const candidate of candidates) {
    if (snapshotAt && !candidate.persists) {
      // A bare moto would start empty beside a snapshot it cannot load.
      lastProblem =
        `The saved local AWS state in ${stateFile} needs moto_launcher.py, which \`python3\` cannot run ` +
        '(no moto in that interpreter; see `pip install "moto[server]"`). Nothing was started.';
      break;
    }
    const env: NodeJS.ProcessEnv = { ...process.env, [DATA_DIR_ENV]: dataDir };
    delete env.TCP_MOTO_STATE_FILE;
    if (stateFile && candidate.persists) env.TCP_MOTO_STATE_FILE = stateFile;
    const outcome = await spawnAndWait(candidate.command, candidate.args, env, endpoint, dataDir, deadline);
    if (outcome.kind === 'ready') {
      const persisted = stateFile && candidate.persists ? stateFile : undefined;
      const now = new Date().toISOString();
      const { origin, notice } = describeStart(dataDir, previous, persisted, snapshotAt);
      const state: SidecarState = {
        pid: outcome.pid,
        port,
        endpoint,
        startedAt: now,
        ...(persisted ? { stateFile: persisted } : {}),
        origin,
        ...(origin === 'restored' && persisted && snapshotAt
          ? { restoredFrom: { file: persisted, savedAt: snapshotAt } }
          : {}),
        ...(origin === 'lost' && notice ? { stateLost: { at: now, message: notice } } : {}),
      };
      writeFileSync(recordFile(dataDir), `${JSON.stringify(state, null, 2)}\n`);
      const strays = motoProcessesFor(dataDir).filter((p) => p.pid !== outcome.pid);
      const strayNote = strays.length
        ? `moto processes from ${dataDir} that are not the local AWS in use: ${strays
            .map((p) => `pid ${p.pid}${p.port ? ` (port ${p.port})` : ''}`)
            .join(', ')}; \`npm run local-aws:stop\` stops them with it, \`tenantctl doctor\` shows them.`
        : undefined;
      const lines = [notice, strayNote].filter(Boolean);
      return {
        endpoint,
        started: true,
        pid: outcome.pid,
        port,
        origin,
        ...(lines.length ? { notice: lines.join('\n') } : {}),
      };
    }
    if (outcome.kind === 'failed') {
      lastProblem = outcome.message;
      break; // it exists but failed: starting another moto instead would hide the problem
    }
  }
  throw new ControlPlaneError('LOCAL_AWS_UNAVAILABLE', lastProblem);
}

function describeStart(
  dataDir: string,
  previous: SidecarState | undefined,
  persisted: string | undefined,
  snapshotAt: string | undefined,
): { origin: LocalAwsOrigin; notice?: string } {
  if (persisted && snapshotAt) {
    return {
      origin: 'restored',
      notice:
        `local AWS state restored from ${persisted} (saved ${snapshotAt})` +
        (previous && !previous.stoppedAt
          ? `; the previous moto (pid ${previous.pid}) had stopped without \`local-aws:stop\`, so changes made after that snapshot are lost`
          : ''),
    };
  }
  if (!previous) return { origin: 'new' };
  if (previous.stoppedAt)
    return previous.stateFile
      ? {
          origin: 'lost',
          notice:
            `EARLIER LOCAL STATE IS LOST: the local AWS of ${dataDir} was stopped at ${previous.stoppedAt} but its ` +
            `snapshot ${previous.stateFile} is missing. A new, empty local AWS was started.`,
        }
      : {
          origin: 'new',
          notice:
            `the previous local AWS of ${dataDir} was stopped at ${previous.stoppedAt} with its state in memory only: ` +
            'this one starts empty',
        };
  return {
    origin: 'lost',
    notice:
      `EARLIER LOCAL STATE IS LOST: the local AWS recorded in ${dataDir} (moto pid ${previous.pid} on port ` +
      `${previous.port}, started ${previous.startedAt}) is no longer running and left no snapshot to restore` +
      `${previous.stateFile ? '' : ' (it kept its state in memory only)'}. A new, empty local AWS was started: ` +
      'tenants, stacks and registry records from before are gone.' +
      (persisted ? '' : ' This one keeps its state in memory only, too.'),
  };
}

type SpawnOutcome =
  | { kind: 'ready'; pid: number }
  | { kind: 'missing' }
  | { kind: 'failed'; message: string };

async function spawnAndWait(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  endpoint: string,
  dataDir: string,
  deadline: number,
): Promise<SpawnOutcome> {
  const logFile = join(dataDir, LOG_FILE);
  const logFd = openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', logFd, logFd], env });
  closeSync(logFd);
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.unref();
  while (Date.now() < deadline) {
    const outcome = await Promise.race([
      spawnError.then((e) => ({ kind: 'error' as const, e })),
      exited.then((code) => ({ kind: 'exit' as const, code })),
      sleep(150).then(() => ({ kind: 'tick' as const })),
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
      if (outcome.code === 4)
        return {
          kind: 'failed',
          message:
            `The saved local AWS state in ${join(dataDir, STATE_FILE)} could not be loaded (see ${logFile}). ` +
            'Nothing was started and the file is untouched: fix the cause (e.g. a moto upgrade), or move the ' +
            'file away to start an empty local AWS (its tenants are then lost).',
        };
      return {
        kind: 'failed',
        message: `${command} exited with code ${outcome.code} before answering; see ${logFile}`,
      };
    }
    if (await motoAnswers(endpoint, 1000)) return { kind: 'ready', pid: child.pid ?? 0 };
  }
  if (child.pid) process.kill(child.pid, 'SIGTERM');
  return { kind: 'failed', message: `${command} did not answer on ${endpoint} in time; see ${logFile}` };
}

/**
 * One start at a time per data directory: two control planes started together must not each
 * start a moto. The lock names its holder; a holder that died leaves a lock the next start takes.
 */
async function withStartLock<T>(dataDir: string, deadline: number, fn: () => Promise<T>): Promise<T> {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      writeFileSync(file, String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8').trim() || Number.NaN);
      if (Number.isInteger(holder) && !processAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new ControlPlaneError(
          'LOCAL_AWS_UNAVAILABLE',
          `another process (pid ${holder}) is starting the local AWS of ${dataDir}; remove ${file} if it is stuck`,
        );
      await sleep(backoffDelay({ baseMs: 100, maxMs: 1000 }, attempt));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

export interface StoppedMoto {
  readonly pid: number;
  readonly port: number | undefined;
  /** True for the moto the record named; false for a stray one from this data directory. */
  readonly recorded: boolean;
}

export interface StopReport {
  readonly stopped: StoppedMoto[];
  /** The snapshot the recorded moto keeps, if it keeps one. */
  readonly stateFile?: string;
  /** True when the recorded moto wrote its snapshot as it stopped. */
  readonly stateSaved: boolean;
}

/**
 * Stops the moto recorded in `dataDir` and any other moto started from it (an older record's), each
 * with SIGTERM (a persisting moto saves its state then) and SIGKILL after `graceMs`.
 */
export async function stopLocalAws(dataDir: string, graceMs = 30_000): Promise<StopReport> {
  const dir = resolve(dataDir);
  const record = readSidecarState(dir);
  const targets = new Map<number, StoppedMoto>();
  if (record && !record.stoppedAt && processAlive(record.pid)) {
    const argv = commandLine(record.pid);
    // A pid reused by another program (after a reboot) is not ours to kill.
    if (argv === undefined || isMotoCommand(argv) || isMotoOn(record.pid, record.port))
      targets.set(record.pid, { pid: record.pid, port: record.port, recorded: true });
  }
  for (const p of motoProcessesFor(dir))
    if (!targets.has(p.pid)) targets.set(p.pid, { pid: p.pid, port: p.port, recorded: false });
  const stateFile = record?.stateFile;
  const before = stateFile && existsSync(stateFile) ? statSync(stateFile).mtimeMs : 0;
  await Promise.all([...targets.keys()].map((pid) => terminate(pid, graceMs)));
  if (record && !record.stoppedAt)
    writeFileSync(
      recordFile(dir),
      `${JSON.stringify({ ...record, stoppedAt: new Date().toISOString() }, null, 2)}\n`,
    );
  const stateSaved =
    Boolean(stateFile) &&
    targets.has(record?.pid ?? -1) &&
    existsSync(stateFile!) &&
    statSync(stateFile!).mtimeMs > before;
  return { stopped: [...targets.values()], ...(stateFile ? { stateFile } : {}), stateSaved };
}

async function terminate(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < until) await sleep(100);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

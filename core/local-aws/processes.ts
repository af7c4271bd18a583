import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * What the operating system says about moto processes: alive, which port they listen on, which data
 * directory started them. Read from Linux's /proc; where /proc is missing (macOS) every check that
 * needs it answers "unknown" (undefined) and callers fall back to the HTTP probe alone.
 */

/** The variable the sidecar sets on every moto it spawns, naming its data directory. */
export const DATA_DIR_ENV = 'TCP_LOCAL_AWS_DATA_DIR';

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped by its parent) answers kill 0 but is gone.
    const stat = readProc(pid, 'stat');
    const state = stat?.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z';
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const hasProc = (() => {
  try {
    readdirSync('/proc/self/fd');
    return true;
  } catch {
    return false;
  }
})();

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The argument vector of `pid`, or undefined when it cannot be read. */
export function commandLine(pid: number): string[] | undefined {
  const raw = readProc(pid, 'cmdline');
  return raw === undefined ? undefined : raw.split('\0').filter(Boolean);
}

/** True for moto's server or our launcher of it. */
export function isMotoCommand(argv: readonly string[]): boolean {
  return argv.some((a) => /moto_launcher\.py$|moto_server$/.test(a));
}

/** The port a moto command line was told to listen on (`-p PORT` / `--port PORT`). */
export function motoPort(argv: readonly string[]): number | undefined {
  const i = argv.findIndex((a) => a === '-p' || a === '--port');
  const port = i >= 0 ? Number(argv[i + 1]) : Number.NaN;
  return Number.isInteger(port) ? port : undefined;
}

/** Inodes of the TCP sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port, f[3] state (0A = LISTEN), f[9] inode
      if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * True when `pid` holds the socket listening on `port`; false when another process does or nobody
 * listens; undefined when the system cannot tell (no /proc, or the process is not ours to inspect).
 */
export function ownsPort(pid: number, port: number): boolean | undefined {
  if (!hasProc) return undefined;
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // the fd closed while we looked
    }
  }
  return false;
}

/**
 * True when `pid` is a moto serving `port`: its command line says so and (where the system can
 * tell) it holds the listening socket. A pid reused by another program after a reboot is not.
 */
export function isMotoOn(pid: number, port: number): boolean {
  if (!processAlive(pid)) return false;
  const argv = commandLine(pid);
  if (argv === undefined) return !hasProc; // no /proc: trust the probe
  if (!isMotoCommand(argv) || motoPort(argv) !== port) return false;
  return ownsPort(pid, port) !== false;
}

/** Seconds since `pid` started, from /proc (undefined elsewhere). */
export function processUptimeSeconds(pid: number): number | undefined {
  const stat = readProc(pid, 'stat');
  const uptime = safeRead('/proc/uptime');
  if (!stat || !uptime) return undefined;
  // Field 22 (starttime, clock ticks since boot) counts from after the command name, which may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux the project runs on
  const since = Number(uptime.split(' ')[0]) - startTicks / ticksPerSecond;
  return Number.isFinite(since) ? Math.max(0, Math.round(since)) : undefined;
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export interface MotoProcess {
  readonly pid: number;
  readonly port: number | undefined;
  readonly argv: readonly string[];
}

/**
 * Every moto process started for `dataDir`: by the variable the sidecar sets, or (motos started by
 * older versions) by its output going to `<dataDir>/moto.log`.
 */
export function motoProcessesFor(dataDir: string): MotoProcess[] {
  if (!hasProc) return [];
  const dir = resolve(dataDir);
  const log = resolve(dir, 'moto.log');
  const found: MotoProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = commandLine(pid);
    if (!argv || !isMotoCommand(argv)) continue;
    const env = readProc(pid, 'environ');
    let mine = env?.split('\0').includes(`${DATA_DIR_ENV}=${dir}`) ?? false;
    if (!mine) {
      try {
        mine = readlinkSync(`/proc/${pid}/fd/1`) === log;
      } catch {
        mine = false;
      }
    }
    if (mine) found.push({ pid, port: motoPort(argv), argv });
  }
  return found;
}

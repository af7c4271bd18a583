import { type CliIo, runCli } from '../../control-plane/cli/main.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs tenantctl in-process with captured output; stdout is not a terminal unless `tty`. */
export async function runCaptured(
  argv: string[],
  io: Omit<CliIo, 'stdout' | 'stderr'> & { tty?: boolean },
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const { tty, ...rest } = io;
  const code = await runCli(argv, {
    ...rest,
    stdout: { write: (s: string) => (stdout += s), isTTY: tty ?? false },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/** tenantctl run in-process against the API at `url` with `key`: its exit code and what it printed. */
export function tenantctl(
  url: string,
  key: string,
  argv: string[],
  io: Omit<CliIo, 'stdout' | 'stderr' | 'env'> & { tty?: boolean } = {},
): Promise<CliRun> {
  return runCaptured(argv, { ...io, env: { TENANTCTL_URL: url, TENANTCTL_KEY: key } });
}

/** tenantctl's progress lines off a terminal, without their `[  1.2s] ` elapsed-time prefix. */
export const progressLines = (stdout: string): string[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\[\s*[\d.]+s\] /, ''));

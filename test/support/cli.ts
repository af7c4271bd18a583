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

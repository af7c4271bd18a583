import { runCli } from '../../control-plane/cli/main.js';

/** Runs tenantctl in-process against an API at `url` with `key`, capturing its output and exit status. */
export async function tenantctl(
  url: string,
  key: string,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: { TENANTCTL_URL: url, TENANTCTL_KEY: key },
  });
  return { code, stdout, stderr };
}

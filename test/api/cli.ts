import { runCli } from '../../control-plane/cli/main.js';

/** tenantctl run in-process against a listening test app, its output captured. */
export async function tenantctlAt(
  url: string,
  key: string,
  argv: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...argv], {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: { TENANTCTL_URL: url, TENANTCTL_KEY: key },
  });
  return { code, stdout, stderr };
}

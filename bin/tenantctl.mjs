#!/usr/bin/env node
// tenantctl: a launcher for control-plane/cli/main.ts. tsx's loader lets node import the
// TypeScript sources directly, so the CLI needs no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on node 20 that its 2027 releases will need node 22 (the lockfile pins the
// versions used here); in a CLI that warning would precede every command's output. The server
// still shows it once at start-up.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { runCli } = await import('../control-plane/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

#!/usr/bin/env node
// tenantctl: a launcher for control-plane/cli/main.ts. tsx's loader lets node import the
// TypeScript sources directly, so the CLI needs no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../control-plane/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});

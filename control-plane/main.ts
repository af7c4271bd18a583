import '../core/polyfills.js';
import { loadConfig } from '../core/config.js';
import { ControlPlaneError, describeError } from '../core/errors.js';
import { logMode, prettyStream, progressLog } from './logging.js';
import { buildRuntime } from './runtime.js';

/**
 * `npm start`: the control plane on the embedded local AWS (moto), or on AWS with `--aws` /
 * CONTROL_PLANE_TARGET=aws. Start-up failures print their catalogue code and what to do, then exit 1.
 */
try {
  const config = loadConfig({ argv: process.argv });
  // One format for progress lines and request logs (LOG_FORMAT, docs/configuration.md).
  const mode = logMode(config.logFormat, process.stdout.isTTY);
  const cp = await buildRuntime(config, {
    role: 'server',
    progress: progressLog(mode, process.stdout),
    ...(mode === 'pretty' ? { logger: { stream: prettyStream(process.stdout) } } : {}),
    showGeneratedKey: mode === 'pretty',
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    cp.app.log.info(
      { signal },
      'shutting down: in-flight operations keep their records and resume on next start',
    );
    await cp.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (e) {
  if (e instanceof ControlPlaneError) {
    console.error(`${e.code}: ${e.message}`);
    process.exit(1);
  }
  console.error(`start-up failed: ${describeError(e)}`);
  throw e;
}

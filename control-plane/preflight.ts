import { createServer } from 'node:net';
import type { Config } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';

/**
 * Checks `npm start` makes before any side effect (no moto started, no platform deployed, no admin
 * key generated): the API's port is free, and a configured local AWS answers. The configuration and
 * the tier catalog were validated before this. Each failure is one ControlPlaneError: one line.
 */

export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES'
          ? portError(host, port, e.code)
          : new ControlPlaneError('PORT_IN_USE', `cannot listen on ${host}:${port}: ${e.message}`),
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export function portError(host: string, port: number, code: string | undefined): ControlPlaneError {
  return new ControlPlaneError(
    'PORT_IN_USE',
    code === 'EACCES'
      ? `port ${port} on ${host} needs privileges; set PORT to another port`
      : `port ${port} on ${host} is in use (another control plane?); stop it or set PORT to a free port`,
    { details: { host, port } },
  );
}

/** A local endpoint (AWS_ENDPOINT_URL in local mode) answers HTTP at all, within `timeoutMs`. */
export async function assertEndpointAnswers(endpoint: string, timeoutMs = 3000): Promise<void> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new ControlPlaneError(
      'LOCAL_AWS_UNAVAILABLE',
      `AWS_ENDPOINT_URL ${endpoint} does not answer (${cause}); start it, or unset AWS_ENDPOINT_URL to let the control plane start moto`,
      { details: { endpoint } },
    );
  }
}

export async function preflight(config: Config): Promise<void> {
  await assertPortFree(config.host, config.port);
  if (config.target === 'local' && config.awsEndpoint) await assertEndpointAnswers(config.awsEndpoint);
}

import type { Config } from '../core/config.js';
import { type BuildRuntimeOptions, buildRuntime, type ServerRuntime } from './runtime.js';

/** A whole control plane as `npm start` runs it (the `server` role of buildRuntime). */
export type ControlPlane = ServerRuntime;

export type StartOptions = Omit<BuildRuntimeOptions<'server'>, 'role'>;

/**
 * Starts a whole control plane: local AWS (if needed), registry, platform (stack, user pool, usage
 * plans), workflows, API; then resumes operations a previous process left running.
 */
export function startControlPlane(config: Config, options: StartOptions = {}): Promise<ControlPlane> {
  return buildRuntime(config, { ...options, role: 'server' });
}

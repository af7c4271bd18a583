import '../core/polyfills.js';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { loadConfig } from '../core/config.js';
import type { RolloutEngine, WorkflowEngine } from '../workflows/index.js';
import { RESUME_OPEN_EVENT } from './infra/contract.js';
import { buildRuntime, perContainer } from './runtime.js';
import { readSecretSettings } from './secret-settings.js';

export { readSecretSettings };

/**
 * The API on AWS Lambda, behind an API Gateway HTTP API (payload format 2.0): each request is
 * handed to the same Fastify app `npm start` serves, through `inject` (no socket). Workflows run on
 * Step Functions (WORKFLOW_ENGINE=stepfunctions, STATE_MACHINE_ARN_PREFIX), so nothing runs in
 * this process between requests. Built once per container; see control-plane/infra.
 */

/** The part of an HTTP API (payload 2.0) event the adapter reads. */
export interface HttpApiEvent {
  readonly rawPath: string;
  readonly rawQueryString?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly cookies?: readonly string[];
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext: {
    readonly http: { readonly method: string; readonly sourceIp?: string };
  };
}

export interface HttpApiResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies?: string[];
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

export type ResumeOpenEvent = typeof RESUME_OPEN_EVENT;

export interface ApiRuntime {
  readonly app: FastifyInstance;
  readonly engine: Pick<WorkflowEngine, 'resumeOpen'>;
  /** RUNNING rollouts whose execution was lost are started again on the same schedule. */
  readonly rolloutEngine?: Pick<RolloutEngine, 'resumeOpen'>;
}

export function toInjectOptions(event: HttpApiEvent): InjectOptions {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers[name] = value;
  if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  return {
    method: event.requestContext.http.method as InjectOptions['method'],
    url: `${event.rawPath}${query}`,
    headers,
    ...(event.body !== undefined
      ? { payload: event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body }
      : {}),
    ...(event.requestContext.http.sourceIp ? { remoteAddress: event.requestContext.http.sourceIp } : {}),
  };
}

const TEXTUAL =
  /^(text\/|application\/(json|[\w.+-]+\+json|javascript|xml|yaml|x-www-form-urlencoded)|image\/svg\+xml)/;

export function toHttpApiResult(response: {
  statusCode: number;
  headers: Record<string, string | number | string[] | undefined>;
  rawPayload: Buffer;
}): HttpApiResult {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    if (name.toLowerCase() === 'set-cookie') cookies = Array.isArray(value) ? value : [String(value)];
    else headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  const type = String(response.headers['content-type'] ?? '');
  const textual = response.rawPayload.length === 0 || TEXTUAL.test(type);
  return {
    statusCode: response.statusCode,
    headers,
    ...(cookies ? { cookies } : {}),
    body: response.rawPayload.toString(textual ? 'utf8' : 'base64'),
    isBase64Encoded: !textual,
  };
}

const isResumeEvent = (event: unknown): event is ResumeOpenEvent =>
  typeof event === 'object' &&
  event !== null &&
  (event as { action?: unknown }).action === RESUME_OPEN_EVENT.action;

/** The Lambda handler over a runtime built on first use (and rebuilt after a failed build). */
export function createHandler(init: () => Promise<ApiRuntime>) {
  const ready = perContainer(init);
  return async (
    event: HttpApiEvent | ResumeOpenEvent,
  ): Promise<HttpApiResult | { resumed: number; rollouts?: number }> => {
    const runtime = await ready();
    if (isResumeEvent(event)) {
      const resumed = await runtime.engine.resumeOpen();
      if (!runtime.rolloutEngine) return { resumed };
      return { resumed, rollouts: await runtime.rolloutEngine.resumeOpen() };
    }
    return toHttpApiResult(await runtime.app.inject(toInjectOptions(event)));
  };
}

/** The API as the control-plane stack configures it (environment + secrets). */
export async function initFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<ApiRuntime> {
  const secrets = await readSecretSettings(env);
  const config = loadConfig({ env, overrides: { target: 'aws', ...secrets } });
  return buildRuntime(config, { role: 'api-lambda' });
}

export const handler = createHandler(() => initFromEnvironment());

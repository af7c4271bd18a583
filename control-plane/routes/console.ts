import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ControlPlaneError, describeError } from '../../core/errors.js';
import { type Asset, CONSOLE_CSP, type ConsoleAssets } from '../console/assets.js';
import type { Router } from '../route.js';

/** Where the console's assets come from; absent, the console routes answer CONSOLE_UNAVAILABLE. */
export type ConsoleSource = () => Promise<ConsoleAssets>;

const AssetParamsSchema = z.object({
  file: z.string().regex(/^[A-Za-z0-9_-]{1,80}\.(js|css)$/, 'an asset name such as main-ABC123.js'),
});

function send(reply: FastifyReply, asset: Asset, cache: string): FastifyReply {
  return reply
    .type(asset.type)
    .header('cache-control', cache)
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .send(asset.body);
}

/** The web console (docs/console.md): its page and its assets, all served from this process. */
export function consoleRoutes(router: Router, source: ConsoleSource | undefined): void {
  const load = async (): Promise<ConsoleAssets> => {
    if (!source)
      throw new ControlPlaneError('CONSOLE_UNAVAILABLE', 'this process serves no console (API function)');
    try {
      return await source();
    } catch (e) {
      throw new ControlPlaneError(
        'CONSOLE_UNAVAILABLE',
        `the console could not be built: ${describeError(e)}`,
        {
          cause: e,
        },
      );
    }
  };
  const tags = ['console'];
  router.add({
    method: 'GET',
    url: '/console',
    operationId: 'console',
    summary: 'The web console',
    description:
      'A single-page app for operators: tenants, a tenant, a live operation, tiers. It signs in with an API key or JWT and calls this API with it; the page itself needs no credential.',
    tags,
    auth: 'public',
    responses: { 200: { description: 'The console page.', contentType: 'text/html' } },
    errors: ['CONSOLE_UNAVAILABLE'],
    handler: async (_input, _request, reply) => send(reply, (await load()).index, 'no-cache'),
  });
  router.add({
    method: 'GET',
    url: '/console/assets/:file',
    operationId: 'consoleAsset',
    summary: "A console asset (script or stylesheet, named by its content's hash)",
    tags,
    auth: 'public',
    params: AssetParamsSchema,
    responses: { 200: { description: 'The asset.', contentType: 'text/javascript' } },
    errors: ['CONSOLE_UNAVAILABLE', 'ROUTE_NOT_FOUND'],
    handler: async ({ params }, _request, reply) => {
      const asset = (await load()).files.get(params.file);
      if (!asset) throw new ControlPlaneError('ROUTE_NOT_FOUND', `no console asset named ${params.file}`);
      return send(reply, asset, 'public, max-age=31536000, immutable');
    },
  });
}

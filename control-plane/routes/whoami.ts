import { z } from 'zod';
import type { Router } from '../route.js';
import { ScopeSchema } from '../schemas.js';

export const WhoAmISchema = z
  .object({
    /** `key:<name>` or `jwt:<sub>`, as the audit trail records the caller. */
    actor: z.string(),
    credential: z.enum(['api-key', 'jwt']),
    /** As granted; `admin` implies every scope. */
    scopes: z.array(ScopeSchema),
  })
  .meta({ id: 'WhoAmI' });

/** Who the caller is and what it may do: the console hides what the credential cannot do. */
export function whoAmIRoutes(router: Router): void {
  router.add({
    method: 'GET',
    url: '/v1/whoami',
    operationId: 'whoAmI',
    summary: 'The calling credential and its scopes',
    description:
      'Any valid credential may ask, whatever its scopes: it reveals nothing but what the caller holds. Clients use it to hide what they may not do; the server enforces the scopes on every route regardless.',
    tags: ['meta'],
    auth: 'authenticated',
    responses: { 200: { description: 'The caller.', schema: WhoAmISchema } },
    handler: async (_input, request): Promise<z.output<typeof WhoAmISchema>> => {
      const principal = request.principal!;
      return {
        actor: principal.actor,
        credential: principal.actor.startsWith('jwt:') ? 'jwt' : 'api-key',
        scopes: [...principal.scopes].sort(),
      };
    },
  });
}

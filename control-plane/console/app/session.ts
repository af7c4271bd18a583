import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/** Who is signed in and what this control plane offers: what the console shows follows from both. */

export interface WhoAmI {
  readonly actor: string;
  readonly credential: 'api-key' | 'jwt';
  readonly scopes: readonly string[];
}

type OpenApi = { paths?: Record<string, Record<string, unknown>> };

export class Session {
  constructor(
    readonly who: WhoAmI,
    private readonly openapi: OpenApi,
  ) {}

  /** The credential holds `scope` (admin holds every scope). The server enforces it regardless. */
  can(scope: string): boolean {
    return this.who.scopes.includes('admin') || this.who.scopes.includes(scope);
  }

  /** The API offers this route (OpenAPI path syntax: /v1/tenants/{tenantId}). */
  offers(method: string, path: string): boolean {
    return Boolean(this.openapi.paths?.[path]?.[method.toLowerCase()]);
  }

  /** The scope a route asks for, from its OpenAPI security entry. */
  scopeOf(method: string, path: string): string | undefined {
    const op = this.openapi.paths?.[path]?.[method.toLowerCase()] as
      | { security?: { bearerAuth?: string[] }[] }
      | undefined;
    return op?.security?.[0]?.bearerAuth?.[0];
  }

  /** The query parameters of a route that take a closed set of values (an OpenAPI enum): filters. */
  queryEnums(method: string, path: string): Map<string, string[]> {
    const op = this.openapi.paths?.[path]?.[method.toLowerCase()] as
      | { parameters?: { name: string; in: string; schema?: { enum?: unknown[] } }[] }
      | undefined;
    const out = new Map<string, string[]>();
    for (const p of op?.parameters ?? [])
      if (p.in === 'query' && Array.isArray(p.schema?.enum)) out.set(p.name, p.schema.enum.map(String));
    return out;
  }

  /** Offered and allowed: what a button or page needs before it is shown. */
  may(method: string, path: string): boolean {
    if (!this.offers(method, path)) return false;
    const scope = this.scopeOf(method, path);
    return scope === undefined || this.can(scope);
  }
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

import type { Session } from './session.js';

/**
 * Pages for APIs other parts of the control plane add. Each is listed in the navigation, and its
 * address opens it, only when /openapi.json has its route and the credential holds its scope;
 * absent, there is no page at all (never an empty placeholder).
 */
export const API_PAGES = [
  { key: 'rollouts', title: 'Rollouts', path: '/v1/rollouts' },
  { key: 'health', title: 'Health', path: '/v1/tenants/{tenantId}/health' },
  { key: 'costs', title: 'Cost', path: '/v1/costs' },
  { key: 'quotas', title: 'Quotas', path: '/v1/quotas' },
] as const;

export type ApiPage = (typeof API_PAGES)[number];

export function offeredPages(session: Session): ApiPage[] {
  return API_PAGES.filter((p) => session.may('GET', p.path));
}

export const offered = (session: Session, key: ApiPage['key']): boolean =>
  offeredPages(session).some((p) => p.key === key);

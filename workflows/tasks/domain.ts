import { type HandlerOf, loadScope } from './context.js';

/**
 * ReleaseDomain (offboarding, after the stacks are gone, so nothing of the tenant's still holds
 * the certificate): deletes the certificate of the tenant's custom domain in ACM and drops the
 * domain from its config. A re-run finds no domain and does nothing; a certificate still in use
 * elsewhere is reported in the step's detail and the audit event, not a failed offboarding.
 */
export const releaseDomain: HandlerOf<'ReleaseDomain'> = async (input, deps) => {
  const { tenant, operation } = await loadScope(deps, input);
  const done = await deps.tenantDomains.retireDomain(tenant.tenantId, operation.actor);
  switch (done.outcome) {
    case 'none':
      return { detail: 'no custom domain' };
    case 'in-use':
      return {
        detail: `domain ${done.hostname} removed; certificate ${done.certificateArn} is still in use by another resource and was kept: delete it once detached`,
        certificate: done,
      };
    default:
      return {
        detail: `domain ${done.hostname} removed; certificate ${done.certificateArn} ${done.outcome === 'deleted' ? 'deleted' : 'already gone'}`,
        certificate: done,
      };
  }
};

import { type AslDefinition, Flow } from './builder.js';

/**
 * offboard: final snapshot → users, group, API key → last usage reported, subscription cancelled → stacks (DELETE_FAILED retried, then reported,
 * never marked gone) → custom domain's
 * certificate deleted (an in-use one reported, not fatal) and the domain dropped from the config → pooled data exported (manifest) then erased, once the tenant role is gone
 * and nothing writes any more → dedicated account closed → OFFBOARDED. Nothing to compensate: a
 * failure leaves the tenant FAILED with the reason, and offboarding can be started again from FAILED.
 */
export function offboardDefinition(): AslDefinition {
  const onFail = { catchTo: 'RecordFailure' };
  return new Flow()
    .taskWithResult('Begin', '$.plan', 'SnapshotDatabase', { task: 'BeginOperation', ...onFail })
    .task('SnapshotDatabase', 'DeleteIdentity', { args: { role: 'all' }, ...onFail })
    .task('DeleteIdentity', 'DeleteApiKey', onFail)
    .task('DeleteApiKey', 'ReportUsage', onFail)
    .task('ReportUsage', 'CancelSubscription', onFail)
    .task('CancelSubscription', 'DeleteStacks', onFail)
    .poll('DeleteStacks', 'ReleaseDomain', { task: 'RetireStacks', args: { role: 'all' }, ...onFail })
    .task('ReleaseDomain', 'ExportData', onFail)
    .poll('ExportData', 'EraseData', { task: 'ExportTenantData', ...onFail })
    .poll('EraseData', 'DedicatedAccount?', { task: 'EraseTenantData', args: { after: 'export' }, ...onFail })
    .choice('DedicatedAccount?', '$.plan.dedicatedAccount', 'CloseAccount', 'Finish')
    .task('CloseAccount', 'Finish', onFail)
    .task('Finish', undefined, onFail)
    .failureEnding({ rollback: false })
    .build(
      'Offboard a tenant: snapshot, delete its identity, API key and stacks; keep its record and audit trail.',
      'Begin',
    );
}

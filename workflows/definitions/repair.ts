import { type AslDefinition, Flow } from './builder.js';

/**
 * repair (docs/reconcile.md): an ACTIVE tenant's idempotent ensure steps again, as onboarding ran
 * them. A missing stack is created again and a present one adopted, then the recorded template is
 * re-applied with an update; the group and admin user are ensured and enabled; the API key is
 * ensured (made again when it was deleted), put in its tier's usage plan only, and enabled. Nothing
 * to undo: a failure returns the tenant to ACTIVE with lastError.
 */
export function repairDefinition(): AslDefinition {
  const onFail = { catchTo: 'RecordRollback' };
  return new Flow()
    .taskWithResult('Begin', '$.plan', 'RepairStack', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .poll('RepairStack', 'ReapplyTemplate', {
      task: 'EnsureStack',
      args: { which: 'tier', role: 'current' },
      ...onFail,
    })
    .poll('ReapplyTemplate', 'RepairIdentity', {
      task: 'EnsureStackUpdated',
      args: { tier: 'tenant', reapply: true },
      ...onFail,
    })
    .task('RepairIdentity', 'EnableUsers', { task: 'CreateIdentity', ...onFail })
    .task('EnableUsers', 'RepairApiKey', { task: 'SetUsersEnabled', args: { enabled: true }, ...onFail })
    .task('RepairApiKey', 'RepairUsagePlan', { task: 'CreateApiKey', args: { tier: 'tenant' }, ...onFail })
    .task('RepairUsagePlan', 'EnableApiKey', { task: 'MoveApiKey', args: { tier: 'tenant' }, ...onFail })
    .task('EnableApiKey', 'Finish', { task: 'SetApiKeyEnabled', args: { enabled: true }, ...onFail })
    .task('Finish', undefined, onFail)
    .failureEnding({ rollback: true })
    .build('Repair a tenant: run its idempotent ensure steps again (stack, identity, API key).', 'Begin');
}

import { type AslDefinition, Flow } from './builder.js';

/**
 * update: a tenant's name, admin email and allowed principals. A silo tenant's new principals reach
 * its endpoint service's permissions through a stack update (AllowedPrincipals parameter); a failed
 * update is rolled back by CloudFormation, so the tenant is left as it was. A new admin email
 * reaches the admin user in Cognito; when that fails, a stack update already made is undone.
 * Finish records the fields.
 */
export function updateDefinition(): AslDefinition {
  return new Flow()
    .taskWithResult('Begin', '$.plan', 'UpdateStack?', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .choice('UpdateStack?', '$.plan.updateStack', 'UpdateStack', 'AdminEmail?')
    .poll('UpdateStack', 'AdminEmail?', {
      task: 'EnsureStackUpdated',
      args: { tier: 'tenant', principals: 'requested' },
      catchTo: 'RecordRollback',
    })
    .choice('AdminEmail?', '$.plan.updateAdminEmail', 'SetAdminEmail', 'Finish')
    .task('SetAdminEmail', 'Finish', { args: { email: 'requested' }, catchTo: 'UndoUpdate?' })
    .choice('UndoUpdate?', '$.plan.updateStack', 'UndoUpdate', 'RecordRollback')
    .undo('UndoUpdate', 'RecordRollback', {
      task: 'EnsureStackUpdated',
      args: { tier: 'tenant', principals: 'tenant' },
      poll: true,
    })
    .task('Finish', undefined, { catchTo: 'RecordFailure' })
    .failureEnding({ rollback: true })
    .build("Update a tenant's name, admin email or allowed principals.", 'Begin');
}

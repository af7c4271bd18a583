import { type AslDefinition, Flow } from './builder.js';

/**
 * suspend: users signed out and disabled, API key disabled, tenant role blocked by a deny policy,
 * dedicated database stopped. Data untouched. Each block records what it blocked (the tenant's
 * `access.suspension`), and resume and the undo steps restore exactly that.
 */
export function suspendDefinition(): AslDefinition {
  const undo = { catchTo: 'UndoDatabase' };
  return new Flow()
    .task('Begin', 'DisableUsers', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .task('DisableUsers', 'DisableApiKey', { task: 'SetUsersEnabled', args: { enabled: false }, ...undo })
    .task('DisableApiKey', 'BlockRole', { task: 'SetApiKeyEnabled', args: { enabled: false }, ...undo })
    .task('BlockRole', 'StopDatabase', { task: 'SetRoleBlocked', args: { blocked: true }, ...undo })
    .poll('StopDatabase', 'Finish', { task: 'SetDatabaseRunning', args: { running: false }, ...undo })
    .task('Finish', undefined, { ...undo })
    .undo('UndoDatabase', 'UndoRole', { task: 'SetDatabaseRunning', args: { running: true }, poll: true })
    .undo('UndoRole', 'UndoApiKey', { task: 'SetRoleBlocked', args: { blocked: false } })
    .undo('UndoApiKey', 'UndoUsers', { task: 'SetApiKeyEnabled', args: { enabled: true } })
    .undo('UndoUsers', 'RecordRollback', { task: 'SetUsersEnabled', args: { enabled: true } })
    .failureEnding({ rollback: true })
    .build('Suspend a tenant: block sign-in and API access, stop its dedicated database.', 'Begin');
}

/** resume: the reverse of suspend, database first so the API finds it running. */
export function resumeDefinition(): AslDefinition {
  const undo = { catchTo: 'UndoUsers' };
  return new Flow()
    .task('Begin', 'StartDatabase', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .poll('StartDatabase', 'UnblockRole', { task: 'SetDatabaseRunning', args: { running: true }, ...undo })
    .task('UnblockRole', 'EnableApiKey', { task: 'SetRoleBlocked', args: { blocked: false }, ...undo })
    .task('EnableApiKey', 'EnableUsers', { task: 'SetApiKeyEnabled', args: { enabled: true }, ...undo })
    .task('EnableUsers', 'Finish', { task: 'SetUsersEnabled', args: { enabled: true }, ...undo })
    .task('Finish', undefined, { ...undo })
    .undo('UndoUsers', 'UndoApiKey', { task: 'SetUsersEnabled', args: { enabled: false } })
    .undo('UndoApiKey', 'UndoRole', { task: 'SetApiKeyEnabled', args: { enabled: false } })
    .undo('UndoRole', 'UndoDatabase', { task: 'SetRoleBlocked', args: { blocked: true } })
    .undo('UndoDatabase', 'RecordRollback', {
      task: 'SetDatabaseRunning',
      args: { running: false },
      poll: true,
    })
    .failureEnding({ rollback: true })
    .build('Resume a suspended tenant.', 'Begin');
}

import { type AslDefinition, Flow } from './builder.js';

/** suspend: users disabled, API key disabled, dedicated database stopped. Data untouched. */
export function suspendDefinition(): AslDefinition {
  const undo = { catchTo: 'UndoDatabase' };
  return new Flow()
    .task('Begin', 'DisableUsers', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .task('DisableUsers', 'DisableApiKey', { task: 'SetUsersEnabled', args: { enabled: false }, ...undo })
    .task('DisableApiKey', 'StopDatabase', { task: 'SetApiKeyEnabled', args: { enabled: false }, ...undo })
    .poll('StopDatabase', 'Finish', { task: 'SetDatabaseRunning', args: { running: false }, ...undo })
    .task('Finish', undefined, { ...undo })
    .undo('UndoDatabase', 'UndoApiKey', { task: 'SetDatabaseRunning', args: { running: true }, poll: true })
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
    .poll('StartDatabase', 'EnableApiKey', { task: 'SetDatabaseRunning', args: { running: true }, ...undo })
    .task('EnableApiKey', 'EnableUsers', { task: 'SetApiKeyEnabled', args: { enabled: true }, ...undo })
    .task('EnableUsers', 'Finish', { task: 'SetUsersEnabled', args: { enabled: true }, ...undo })
    .task('Finish', undefined, { ...undo })
    .undo('UndoUsers', 'UndoApiKey', { task: 'SetUsersEnabled', args: { enabled: false } })
    .undo('UndoApiKey', 'UndoDatabase', { task: 'SetApiKeyEnabled', args: { enabled: false } })
    .undo('UndoDatabase', 'RecordRollback', {
      task: 'SetDatabaseRunning',
      args: { running: false },
      poll: true,
    })
    .failureEnding({ rollback: true })
    .build('Resume a suspended tenant.', 'Begin');
}

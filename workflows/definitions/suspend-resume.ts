import { type AslDefinition, Flow } from './builder.js';

/** suspend: users disabled, API key disabled, dedicated database stopped. Data untouched. */
export function suspendDefinition(): AslDefinition {
  const undo = { catchTo: 'UndoDatabase' };
  const undoFailed = { catchTo: 'RecordFailure', errorPath: '$.compensationError' };
  return new Flow()
    .task('Begin', 'DisableUsers', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .task('DisableUsers', 'DisableApiKey', { task: 'SetUsersEnabled', args: { enabled: false }, ...undo })
    .task('DisableApiKey', 'StopDatabase', { task: 'SetApiKeyEnabled', args: { enabled: false }, ...undo })
    .poll('StopDatabase', 'Finish', { task: 'SetDatabaseRunning', args: { running: false }, ...undo })
    .task('Finish', undefined, { ...undo })
    .poll('UndoDatabase', 'UndoApiKey', {
      task: 'SetDatabaseRunning',
      args: { running: true },
      ...undoFailed,
    })
    .task('UndoApiKey', 'UndoUsers', { task: 'SetApiKeyEnabled', args: { enabled: true }, ...undoFailed })
    .task('UndoUsers', 'RecordRollback', { task: 'SetUsersEnabled', args: { enabled: true }, ...undoFailed })
    .failureEnding({ rollback: true })
    .build('Suspend a tenant: block sign-in and API access, stop its dedicated database.', 'Begin');
}

/** resume: the reverse of suspend, database first so the API finds it running. */
export function resumeDefinition(): AslDefinition {
  const undo = { catchTo: 'UndoUsers' };
  const undoFailed = { catchTo: 'RecordFailure', errorPath: '$.compensationError' };
  return new Flow()
    .task('Begin', 'StartDatabase', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .poll('StartDatabase', 'EnableApiKey', { task: 'SetDatabaseRunning', args: { running: true }, ...undo })
    .task('EnableApiKey', 'EnableUsers', { task: 'SetApiKeyEnabled', args: { enabled: true }, ...undo })
    .task('EnableUsers', 'Finish', { task: 'SetUsersEnabled', args: { enabled: true }, ...undo })
    .task('Finish', undefined, { ...undo })
    .task('UndoUsers', 'UndoApiKey', { task: 'SetUsersEnabled', args: { enabled: false }, ...undoFailed })
    .task('UndoApiKey', 'UndoDatabase', { task: 'SetApiKeyEnabled', args: { enabled: false }, ...undoFailed })
    .poll('UndoDatabase', 'RecordRollback', {
      task: 'SetDatabaseRunning',
      args: { running: false },
      ...undoFailed,
    })
    .failureEnding({ rollback: true })
    .build('Resume a suspended tenant.', 'Begin');
}

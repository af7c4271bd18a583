import { type AslDefinition, Flow } from './builder.js';

/**
 * update-template: one tenant's part of a rollout. The tenant's stack is updated to a registered
 * template version with its tier's parameters (the same stack-update path a tier change takes).
 * A failed update has been rolled back by CloudFormation before the step reports it: the
 * operation ends rolled back and the tenant stays ACTIVE on its old version, `lastError` saying why.
 */
export function updateTemplateDefinition(): AslDefinition {
  return new Flow()
    .taskWithResult('Begin', '$.plan', 'UpdateStack', { task: 'BeginOperation', catchTo: 'RecordFailure' })
    .poll('UpdateStack', 'Finish', {
      task: 'EnsureStackAtVersion',
      args: { version: 'target' },
      catchTo: 'RecordRollback',
    })
    .task('Finish', undefined, { catchTo: 'RecordFailure' })
    .failureEnding({ rollback: true })
    .build("Update a tenant's stack to a template version (one tenant of a rollout).", 'Begin');
}

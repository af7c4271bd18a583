import { type AslDefinition, Flow } from './builder.js';

/**
 * change-tier. Same isolation model: update the stack with the new tier's parameters, move the
 * API key to the new tier's usage plan and the subscription to its prices. Another model: create the target stack, hand off to the
 * application plane to migrate data (event + callback), cut over, retire the old stack.
 * Before the cut-over every failure is undone; after it, the old stack is retried and reported.
 */
export function changeTierDefinition(): AslDefinition {
  const undoSame = { catchTo: 'UndoUpdate' };
  const undoMigration = { catchTo: 'UndoTargetStack' };
  return (
    new Flow()
      .taskWithResult('Begin', '$.plan', 'SameIsolation?', {
        task: 'BeginOperation',
        catchTo: 'RecordFailure',
      })
      .choice('SameIsolation?', '$.plan.sameIsolation', 'UpdateStack', 'ResolveTargetTemplate')
      // same model
      .poll('UpdateStack', 'MoveApiKey', {
        task: 'EnsureStackUpdated',
        args: { tier: 'target' },
        ...undoSame,
      })
      .task('MoveApiKey', 'MoveSubscription', { args: { tier: 'target' }, ...undoSame })
      .task('MoveSubscription', 'Finish', { args: { tier: 'target' }, ...undoSame })
      .undo('UndoUpdate', 'UndoApiKey', { task: 'EnsureStackUpdated', args: { tier: 'tenant' }, poll: true })
      .undo('UndoApiKey', 'UndoSubscription', { task: 'MoveApiKey', args: { tier: 'tenant' } })
      .undo('UndoSubscription', 'RecordRollback', { task: 'MoveSubscription', args: { tier: 'tenant' } })
      // model change
      .task('ResolveTargetTemplate', 'NewAccount?', {
        task: 'ResolveTemplate',
        args: { which: 'target' },
        ...undoMigration,
      })
      .choice('NewAccount?', '$.plan.vendAccount', 'VendTargetAccount', 'CreateTargetStack')
      .poll('VendTargetAccount', 'CreateTargetStack', {
        task: 'VendAccount',
        args: { which: 'target' },
        ...undoMigration,
      })
      .poll('CreateTargetStack', 'RequestMigration', {
        task: 'EnsureStack',
        args: { which: 'target', role: 'target' },
        ...undoMigration,
      })
      .task('RequestMigration', 'AwaitMigration', undoMigration)
      .poll('AwaitMigration', 'CopyPooledData', undoMigration)
      // Leaving the pool: the platform copies the pooled items and objects it can see into the
      // dedicated table and bucket before the cut-over (a no-op when the target has none), and
      // erases the pooled copies after it.
      .poll('CopyPooledData', 'CutOver', { task: 'CopyTenantData', ...undoMigration })
      .task('CutOver', 'MoveApiKeyToTarget', undoMigration)
      .task('MoveApiKeyToTarget', 'MoveSubscriptionToTarget', {
        task: 'MoveApiKey',
        args: { tier: 'target' },
        catchTo: 'RecordFailure',
      })
      .task('MoveSubscriptionToTarget', 'ErasePooledData', {
        task: 'MoveSubscription',
        args: { tier: 'target' },
        catchTo: 'RecordFailure',
      })
      .poll('ErasePooledData', 'SnapshotOldDatabase', {
        task: 'EraseTenantData',
        args: { after: 'copy' },
        catchTo: 'RecordFailure',
      })
      .task('SnapshotOldDatabase', 'RetireOldStack', {
        task: 'SnapshotDatabase',
        args: { role: 'retiring' },
        catchTo: 'RecordFailure',
      })
      .poll('RetireOldStack', 'CloseOldAccount?', {
        task: 'RetireStacks',
        args: { role: 'retiring' },
        catchTo: 'RecordFailure',
      })
      .choice('CloseOldAccount?', '$.plan.closeAccount', 'CloseOldAccount', 'Finish')
      .task('CloseOldAccount', 'Finish', { task: 'CloseAccount', catchTo: 'RecordFailure' })
      .undo('UndoTargetStack', 'UndoAccount?', { task: 'RetireStacks', args: { role: 'target' }, poll: true })
      .choice('UndoAccount?', '$.plan.vendAccount', 'UndoAccount', 'RecordRollback')
      .undo('UndoAccount', 'RecordRollback', { task: 'CloseAccount' })
      // end
      .task('Finish', undefined, { catchTo: 'RecordFailure' })
      .failureEnding({ rollback: true })
      .build(
        "Move a tenant to another tier, migrating it to another isolation model when the tiers' models differ.",
        'Begin',
      )
  );
}

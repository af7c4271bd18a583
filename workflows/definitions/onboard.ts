import { type AslDefinition, Flow } from './builder.js';

/**
 * onboard: PROVISIONING → template → (dedicated account) → stack → identity → API key → billing
 * customer and subscription → ACTIVE. Any failure compensates in reverse (subscription, API key,
 * users, group, stack, account) and ends FAILED with
 * the failing step and the AWS reason.
 */
export function onboardDefinition(): AslDefinition {
  const onFail = { catchTo: 'Compensate' };
  return new Flow()
    .taskWithResult('Begin', '$.plan', 'ResolveTemplate', {
      task: 'BeginOperation',
      catchTo: 'RecordFailure',
    })
    .task('ResolveTemplate', 'DedicatedAccount?', { args: { which: 'tier' }, ...onFail })
    .choice('DedicatedAccount?', '$.plan.dedicatedAccount', 'VendAccount', 'CreateStack')
    .poll('VendAccount', 'CreateStack', { args: { which: 'tier' }, ...onFail })
    .poll('CreateStack', 'CreateIdentity', {
      task: 'EnsureStack',
      args: { which: 'tier', role: 'current' },
      ...onFail,
    })
    .task('CreateIdentity', 'CreateApiKey', onFail)
    .task('CreateApiKey', 'CreateBillingCustomer', { args: { tier: 'tenant' }, ...onFail })
    .task('CreateBillingCustomer', 'CreateSubscription', { task: 'EnsureBillingCustomer', ...onFail })
    .task('CreateSubscription', 'Activate', {
      task: 'EnsureSubscription',
      args: { tier: 'tenant' },
      ...onFail,
    })
    .task('Activate', undefined, { task: 'Finish', ...onFail })
    .undo('Compensate', 'RecordRollback', { task: 'CompensateOnboard', poll: true })
    .failureEnding({ rollback: true })
    .build('Onboard a tenant: create its stack, identity and API access.', 'Begin');
}

import {
  DescribeDBInstancesCommand,
  StartDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { clientsFor } from './accounts.js';
import { type HandlerOf, loadScope, type PollResult } from './context.js';
import { databaseOf, stackOf } from './stacks.js';

/**
 * SetDatabaseRunning: stop (suspend) or start (resume) the tenant's dedicated database, waiting
 * until it is `stopped` / `available`. Pool tenants have none: nothing to do. AWS starts a stopped
 * instance again after 7 days; docs/operations.md says how to keep long suspensions stopped.
 */
export const setDatabaseRunning: HandlerOf<'SetDatabaseRunning'> = async (
  input,
  deps,
): Promise<PollResult> => {
  const scope = await loadScope(deps, input);
  const ref = stackOf(scope.tenant, 'current');
  if (!ref) return { done: true, detail: 'no stack' };
  const aws = await clientsFor(deps, { tenantId: scope.tenant.tenantId, accountId: ref.accountId });
  const db = await databaseOf(deps, scope, ref);
  if (!db) return { done: true, detail: 'no dedicated database' };
  const running = input.args.running === true;
  const out = await aws.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: db }));
  const status = out.DBInstances?.[0]?.DBInstanceStatus ?? 'unknown';
  const wanted = running ? 'available' : 'stopped';
  if (status === wanted) return { done: true, detail: status };
  if (running && status === 'stopped')
    await aws.rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: db }));
  else if (!running && status === 'available')
    await aws.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: db }));
  return { done: false, detail: `database ${db} ${status}` };
};

/** `tenantctl rollout`'s options and command spec (in args.ts's tables; no imports, so no cycle). */

export const ROLLOUT_OPTIONS = {
  isolation: { type: 'string', help: 'rollout start: isolation models, comma-separated (pool,bridge,silo)' },
  tiers: { type: 'string', help: 'rollout start: tiers, comma-separated (instead of --isolation)' },
  target: { type: 'string', help: 'rollout start: template version id, or latest (default)' },
  wave: {
    type: 'string',
    multiple: true,
    help: 'rollout start: a wave, repeatable: tiers (basic,standard), a percentage (25%) or tenants (@slug,t_…)',
  },
  'max-concurrency': { type: 'string', help: 'rollout start|budget: updates at once (default 10)' },
  budget: {
    type: 'string',
    help: 'rollout start|budget: failures tolerated, a count (3) or a percentage (5%)',
  },
  canary: { type: 'string', help: 'rollout start: the first N tenants go first, alone' },
  'canary-bake': { type: 'string', help: 'rollout start: seconds the canary must stay healthy' },
  bake: { type: 'string', help: 'rollout start: seconds between waves' },
  'on-failure': {
    type: 'string',
    help: 'rollout start: pause (default), abort, or rollback (undo what it updated) at the budget',
  },
} as const;

export const ROLLOUT_COMMAND = {
  summary:
    'fleet rollouts: start | status <id> | tenants <id> | pause <id> | resume <id> | abort <id> | list | budget <id> (--wait follows)',
  positionals: ['action', 'rollout'],
  optionalPositionals: 1,
  options: [
    'isolation',
    'tiers',
    'target',
    'wave',
    'max-concurrency',
    'budget',
    'canary',
    'canary-bake',
    'bake',
    'on-failure',
    'wait',
    'interval',
    'idempotency-key',
  ],
} as const;

import type { CommandOption, CommandSpec } from './args.js';

/**
 * The operator's commands, in the one command table (args.ts COMMANDS): API keys, operation
 * history, tenant updates and the migration hand-off. Two-word names form a group (`keys list`).
 */

const MUTATING = ['wait', 'interval', 'idempotency-key'] as const satisfies readonly CommandOption[];

export const OPERATOR_COMMANDS = {
  update: {
    summary: "change a tenant's name, admin email or allowed principals",
    positionals: ['tenant'],
    options: ['name', 'email', 'allowed-principal', ...MUTATING],
  },
  ops: {
    summary: 'list operations, newest first (all, or one tenant’s)',
    positionals: [],
    options: ['tenant', 'status', 'type', 'limit', 'cursor'],
  },
  'migration complete': {
    summary: 'answer a migration hand-off: the application plane has migrated the data',
    positionals: ['operationId'],
    options: ['reason'],
  },
  'migration fail': {
    summary: 'answer a migration hand-off: the migration failed, roll the tier change back',
    positionals: ['operationId'],
    options: ['reason'],
  },
  'keys list': { summary: 'list API keys: names, scopes, created, last used', positionals: [], options: [] },
  'keys create': {
    summary: 'create an API key (the secret is printed once)',
    positionals: ['name'],
    options: ['scope'],
    required: ['scope'],
  },
  'keys revoke': {
    summary: 'revoke an API key (it gets 401 from now on)',
    positionals: ['name'],
    options: [],
  },
  'keys rotate': {
    summary: 'a new secret for an API key; the old one works for an overlap',
    positionals: ['name'],
    options: ['overlap'],
  },
  'keys events': {
    summary: 'the audit trail of API key changes, newest first',
    positionals: [],
    options: ['limit', 'cursor'],
  },
} as const satisfies Record<string, CommandSpec>;

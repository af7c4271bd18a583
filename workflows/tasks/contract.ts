import { z } from 'zod';
import { STACK_ROLES } from '../../core/registry/records.js';

/**
 * The contract between the state machines and the task handlers: every task a Task state may name
 * (`Parameters.task`) and the `args` it accepts. The definitions' builder only takes a `TaskName`,
 * so a Task state naming an unknown handler does not typecheck; `TASK_HANDLERS` (./index.ts) must
 * have exactly these keys; the task runner validates `args` with these schemas before a handler
 * runs and fails the task with TASK_ARGS_INVALID when they do not match. Pure: no AWS, no
 * handlers, so the definitions and their tests import it cheaply.
 */

/** Which tier a step works on: the tenant's current one (`tier`/`tenant`) or the operation's target. */
const Which = z.enum(['tier', 'target']);
const TierChoice = z.enum(['tenant', 'target']);
/** The role a stack plays for its tenant (StackRef.role): `retiring` after a cut-over. */
const StackRole = z.enum(STACK_ROLES);
/** Stacks a step acts on: one role, or every stack of the tenant. */
const StackSelection = z.enum(['all', ...STACK_ROLES]);
/** Tests page tenant data in small parts; production uses the handlers' defaults. */
const PartSizes = {
  partItems: z.int().positive().optional(),
  partObjects: z.int().positive().optional(),
};

const none = z.strictObject({});

export const TASK_ARGS = {
  BeginOperation: none,
  ResolveTemplate: z.strictObject({ which: Which }),
  EnsureStack: z.strictObject({ which: Which, role: StackRole.exclude(['retiring']) }),
  /**
   * `principals: 'requested'`: the allowed principals an update operation asks for, not the tenant's.
   * `reapply`: update even when the parameters match (a repair re-applies the recorded template).
   */
  EnsureStackUpdated: z.strictObject({
    tier: TierChoice,
    principals: z.enum(['tenant', 'requested']).optional(),
    reapply: z.boolean().optional(),
  }),
  /** The operation's `input.templateVersion` (update-template), or `input.fromVersion` to undo it. */
  EnsureStackAtVersion: z.strictObject({ version: z.enum(['target', 'from']) }),
  RetireStacks: z.strictObject({ role: StackSelection }),
  SnapshotDatabase: z.strictObject({ role: StackSelection }),
  CreateIdentity: none,
  DeleteIdentity: none,
  SetUsersEnabled: z.strictObject({ enabled: z.boolean() }),
  /** The update operation's requested admin email, or (undoing) the tenant's recorded one. */
  SetAdminEmail: z.strictObject({ email: z.enum(['requested', 'tenant']) }),
  CreateApiKey: z.strictObject({ tier: TierChoice }),
  MoveApiKey: z.strictObject({ tier: TierChoice }),
  SetApiKeyEnabled: z.strictObject({ enabled: z.boolean() }),
  SetRoleBlocked: z.strictObject({ blocked: z.boolean() }),
  DeleteApiKey: none,
  SetDatabaseRunning: z.strictObject({ running: z.boolean() }),
  RequestMigration: none,
  AwaitMigration: none,
  CutOver: none,
  Finish: none,
  RecordFailure: z.strictObject({ outcome: z.enum(['failed', 'rolled-back']) }),
  CompensateOnboard: none,
  VendAccount: z.strictObject({ which: Which }),
  CloseAccount: none,
  ExportTenantData: z.strictObject(PartSizes),
  CopyTenantData: z.strictObject(PartSizes),
  /** `export` needs this operation's manifest, `copy` its copy marker, before anything is erased. */
  EraseTenantData: z.strictObject({ after: z.enum(['export', 'copy']), ...PartSizes }),
  EnsureBillingCustomer: none,
  /** The subscription on the prices of the tenant's tier (`tenant`) or the operation's target. */
  EnsureSubscription: z.strictObject({ tier: TierChoice }),
  MoveSubscription: z.strictObject({ tier: TierChoice }),
  CancelSubscription: none,
  ReportUsage: none,
  ReleaseDomain: none,
} as const satisfies Record<string, z.ZodType<Record<string, unknown>>>;

/** The name of a task handler, as a Task state's `Parameters.task` gives it. */
export type TaskName = keyof typeof TASK_ARGS;

/** The `args` a task accepts, as its handler receives them (validated). */
export type TaskArgs<K extends TaskName> = z.output<(typeof TASK_ARGS)[K]>;

/** The `args` a definition may write for a task (before validation). */
export type TaskArgsInput<K extends TaskName> = z.input<(typeof TASK_ARGS)[K]>;

export const TASK_NAMES = Object.keys(TASK_ARGS) as TaskName[];

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASK_ARGS, name);
}

export type ArgsCheck<K extends TaskName> =
  | { readonly ok: true; readonly args: TaskArgs<K> }
  | { readonly ok: false; readonly message: string };

/**
 * Validates a Task state's `args` for `task`. The message names each bad field and what it
 * accepts, e.g. `args.role: Invalid option: expected one of "all"|"current"|…`.
 */
export function checkTaskArgs<K extends TaskName>(task: K, args: unknown): ArgsCheck<K> {
  const parsed = TASK_ARGS[task].safeParse(args ?? {});
  if (parsed.success) return { ok: true, args: parsed.data as TaskArgs<K> };
  const issues = parsed.error.issues.map((i) => {
    const path = ['args', ...i.path.map(String)].join('.');
    return `${path}: ${i.message}`;
  });
  return { ok: false, message: `task ${task} got invalid args: ${issues.join('; ')}` };
}

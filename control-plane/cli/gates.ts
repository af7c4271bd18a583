import type { z } from 'zod';
import type { GatesResponseSchema } from '../routes/gates.js';
import type { ParsedCommand } from './args.js';
import type { CommandEnv } from './commands.js';
import { table } from './render.js';

/**
 * `tenantctl gates`: the cross-process gates (GET /v1/gates, admin): per gate how many slots are
 * held and how many wait, then one line per slot and waiter with its owner, the owner operation's
 * status and the expiry. A slot or waiter of an ended operation, or an expired one, is flagged: the
 * next waiter's poll sweeps it.
 */

type Gates = z.output<typeof GatesResponseSchema>;

export function renderGates({ gates }: Gates): string {
  const out: string[] = [];
  for (const g of gates) {
    const held = g.slots.filter((s) => !s.expired).length;
    const waiting = g.waiters.filter((w) => !w.expired).length;
    out.push(`${g.gate}: ${held}/${g.capacity} slots held, ${waiting} waiting`);
    const flag = (i: { expired: boolean; operationStatus?: string | undefined }) =>
      i.expired
        ? 'expired'
        : i.operationStatus === 'SUCCEEDED' ||
            i.operationStatus === 'FAILED' ||
            i.operationStatus === 'MISSING'
          ? 'stale'
          : '';
    const rows = [
      ...g.slots.map((s) => [`slot ${s.slot}`, s.owner, s.operationStatus ?? '-', s.expiresAt, flag(s)]),
      ...g.waiters.map((w) => [
        w.position === null ? 'waiter' : `wait ${w.position}`,
        w.owner,
        w.operationStatus ?? '-',
        w.expiresAt,
        flag(w),
      ]),
    ];
    if (rows.length)
      out.push(
        table(
          ['  HELD AS', 'OWNER', 'OPERATION', 'EXPIRES', ''],
          rows.map(([a, ...r]) => [`  ${a}`, ...r]),
        ).trimEnd(),
      );
  }
  return `${out.join('\n')}\n`;
}

export async function gatesCommand(env: CommandEnv, _cmd: ParsedCommand): Promise<number> {
  const answer = await env.client.request<Gates>('GET', '/v1/gates');
  env.stdout.write(env.json ? `${JSON.stringify(answer, null, 2)}\n` : renderGates(answer));
  return 0;
}

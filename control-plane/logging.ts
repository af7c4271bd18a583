import { hostname } from 'node:os';
import type { Config } from '../core/config.js';

/**
 * One log format per mode (LOG_FORMAT): `pretty` for a terminal, one line per record
 * (`12:00:01.234 INFO  message key=value …`), or `json`, pino's JSON lines, for pipes and log
 * collectors. `auto` (the default) picks pretty when stdout is a terminal, JSON otherwise. Start-up
 * progress lines and the API's request logs go through the same format, so the two never mix.
 */

export type LogMode = 'pretty' | 'json';

export interface Out {
  write(chunk: string): unknown;
}

export function logMode(format: Config['logFormat'], isTTY: boolean | undefined): LogMode {
  if (format === 'auto') return isTTY ? 'pretty' : 'json';
  return format;
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields every record has, shown in the prefix or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

const pad2 = (n: number) => String(n).padStart(2, '0');

function clock(time: unknown): string {
  const d = new Date(typeof time === 'number' ? time : Date.now());
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A request's or response's few telling fields, not its whole object. */
function compact(key: string, value: unknown): string {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (key === 'req') return `${v.method} ${v.url}`;
    if (key === 'res') return String(v.statusCode);
    if (key === 'err') return `${v.type ?? 'Error'}: ${v.message}`;
    return JSON.stringify(value);
  }
  return typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value);
}

/** One record as a pretty line. */
export function formatPretty(record: Record<string, unknown>): string {
  const level = (LEVELS[Number(record.level)] ?? 'INFO').padEnd(5);
  const fields = Object.entries(record)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${compact(k, v)}`);
  return `${clock(record.time)} ${level} ${String(record.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

/** A stream for pino (Fastify's `logger.stream`): its JSON lines, written pretty. */
export function prettyStream(out: Out): { write(chunk: string): void } {
  return {
    write(chunk) {
      for (const line of chunk.split('\n')) {
        if (!line) continue;
        try {
          out.write(formatPretty(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(`${line}\n`);
        }
      }
    },
  };
}

/** Start-up progress lines in the mode's format (JSON lines shaped like pino's, info level). */
export function progressLog(mode: LogMode, out: Out, now: () => number = Date.now): (line: string) => void {
  return (line) => {
    const record = { level: 30, time: now(), pid: process.pid, hostname: hostname(), msg: line };
    out.write(mode === 'json' ? `${JSON.stringify(record)}\n` : formatPretty(record));
  };
}

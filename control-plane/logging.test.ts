import { describe, expect, it } from 'vitest';
import { formatPretty, logMode, prettyStream, progressLog } from './logging.js';

describe('log format', () => {
  it('auto: pretty on a terminal, JSON when piped; LOG_FORMAT wins', () => {
    expect(logMode('auto', true)).toBe('pretty');
    expect(logMode('auto', false)).toBe('json');
    expect(logMode('auto', undefined)).toBe('json');
    expect(logMode('json', true)).toBe('json');
    expect(logMode('pretty', false)).toBe('pretty');
  });

  it('pretty: one line per record, level, message, then the fields (requests compact)', () => {
    const time = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    expect(formatPretty({ level: 30, time, pid: 1, hostname: 'h', msg: 'platform ready' })).toBe(
      '03:04:05.006 INFO  platform ready\n',
    );
    expect(
      formatPretty({
        level: 30,
        time,
        msg: 'request completed',
        requestId: 'r1',
        req: { method: 'GET', url: '/v1/tiers' },
        res: { statusCode: 200 },
        responseTime: 1.5,
      }),
    ).toBe('03:04:05.006 INFO  request completed requestId=r1 req=GET /v1/tiers res=200 responseTime=1.5\n');
    expect(formatPretty({ level: 50, time, msg: 'boom', err: { type: 'Error', message: 'x y' } })).toBe(
      '03:04:05.006 ERROR boom err=Error: x y\n',
    );
  });

  it("the stream turns pino's JSON lines pretty; progress lines share the mode's format", () => {
    let out = '';
    const sink = { write: (s: string) => (out += s) };
    prettyStream(sink).write(`${JSON.stringify({ level: 40, time: 0, msg: 'slow' })}\n`);
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}slow\n$/);

    out = '';
    progressLog('json', sink, () => 42)('control plane listening on http://127.0.0.1:3000');
    const record = JSON.parse(out) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: 30,
      time: 42,
      msg: 'control plane listening on http://127.0.0.1:3000',
    });
    expect(out.trimEnd().split('\n')).toHaveLength(1);

    out = '';
    progressLog('pretty', sink, () => 42)('platform ready');
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.042 INFO {2}platform ready\n$/);
  });
});

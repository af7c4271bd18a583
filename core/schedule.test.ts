import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { every } from './schedule.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A job whose runs end only when the test says so. */
function heldJob() {
  const ends: (() => void)[] = [];
  const fails: ((e: Error) => void)[] = [];
  const job = vi.fn(
    () =>
      new Promise<void>((resolve, reject) => {
        ends.push(resolve);
        fails.push(reject);
      }),
  );
  return { job, end: () => ends.shift()?.(), fail: (e: Error) => fails.shift()?.(e) };
}

describe('every', () => {
  it('runs the job each interval, and skips a turn while a run is still going', async () => {
    const { job, end } = heldJob();
    const s = every(10, job, () => undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(job).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(20_000); // two turns due, the first run still going
    expect(job).toHaveBeenCalledTimes(1);
    end();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(job).toHaveBeenCalledTimes(2);
    s.stop();
  });

  it('logs a failed run and goes on', async () => {
    const { job, fail, end } = heldJob();
    const errors: unknown[] = [];
    const s = every(5, job, (e) => errors.push(e));
    await vi.advanceTimersByTimeAsync(5_000);
    fail(new Error('throttled'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(errors.map((e) => (e as Error).message)).toEqual(['throttled']);
    expect(job).toHaveBeenCalledTimes(2);
    end();
    s.stop();
  });

  it('runs nothing once stopped, and nothing at all with an interval of 0', async () => {
    const { job, end } = heldJob();
    const s = every(1, job, () => undefined);
    await vi.advanceTimersByTimeAsync(1_000);
    end();
    s.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(job).toHaveBeenCalledTimes(1);
    const off = every(0, job, () => undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(job).toHaveBeenCalledTimes(1);
    off.stop();
  });
});

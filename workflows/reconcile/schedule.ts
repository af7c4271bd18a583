import type { Reconciler } from './reconciler.js';

/**
 * Local mode's schedule (RECONCILE_INTERVAL_SECONDS): a run every interval in the server process,
 * never two at once (a run still going when the next is due skips that turn). On AWS an
 * EventBridge Scheduler rule starts the reconcile state machine instead (control-plane/infra).
 */
export function scheduleReconcile(
  reconciler: Reconciler,
  intervalSeconds: number,
  log?: { error(obj: unknown, msg?: string): void },
): { stop(): void } {
  if (intervalSeconds <= 0) return { stop: () => undefined };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    reconciler
      .runAll()
      .catch((e: unknown) => log?.error({ err: e }, 'scheduled reconcile failed'))
      .finally(() => {
        busy = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

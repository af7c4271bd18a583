/**
 * A job run every `intervalSeconds` in this process, never two at once: a run still going when the
 * next is due skips that turn. 0 schedules nothing. The timer does not keep the process alive, and
 * a failed run is logged and the schedule goes on. For local mode's periodic jobs (reconcile, the
 * usage report); on AWS an EventBridge Scheduler rule starts a workflow instead.
 */
export function every(
  intervalSeconds: number,
  job: () => Promise<unknown>,
  onError: (e: unknown) => void,
): { stop(): void } {
  if (intervalSeconds <= 0) return { stop: () => undefined };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    job()
      .catch(onError)
      .finally(() => {
        busy = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * In-process pacing for AWS APIs with account-wide rate limits (Cognito's 50 user-creating calls
 * per second). A burst of onboardings queues here instead of being throttled by AWS.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Resolves when a call may go out. Calls are admitted in arrival order. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const t = this.now();
        this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
        this.last = t;
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.sleep(((1 - this.tokens) / this.perSecond) * 1000);
      }
    });
    this.queue = turn;
    return turn;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.take();
    return fn();
  }
}

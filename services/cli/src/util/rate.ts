import { setTimeout as delay } from 'node:timers/promises';

/**
 * A token bucket in events per second with a one-second burst: `take(n)` waits until n events may go.
 * A batch larger than the burst is let through once the bucket is full and leaves it in debt.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }

  async take(n: number, signal?: AbortSignal): Promise<void> {
    const need = Math.min(n, this.perSecond);
    for (this.refill(); this.tokens < need; this.refill()) {
      await delay(Math.max(1, ((need - this.tokens) / this.perSecond) * 1000), undefined, signal === undefined ? {} : { signal });
    }
    this.tokens -= n;
  }
}

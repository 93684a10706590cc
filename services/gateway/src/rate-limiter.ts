import type { Clock } from './clock.js';

export interface RateLimit {
  /** Sustained events per second. */
  eventsPerSecond: number;
  /** Bucket size: how many events may arrive at once after a quiet period. */
  burst: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per API key, counted in events (a batch of 500 costs 500). A request is let through while the
 * bucket holds min(cost, burst) tokens and then takes its full cost, so the bucket may go into debt: batches
 * larger than the burst still pass, and the long-run rate stays at eventsPerSecond.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly clock: Clock) {}

  take(keyId: string, limit: RateLimit, cost: number): RateDecision {
    const bucket = this.refill(keyId, limit);
    const needed = Math.min(cost, limit.burst);
    if (bucket.tokens < needed) {
      return { ok: false, retryAfterMs: Math.ceil(((needed - bucket.tokens) / limit.eventsPerSecond) * 1000) };
    }
    bucket.tokens -= cost;
    return { ok: true };
  }

  /** Cheap check before a body is read: refuses only when not even one event would pass. */
  peek(keyId: string, limit: RateLimit): RateDecision {
    const bucket = this.refill(keyId, limit);
    if (bucket.tokens >= 1) return { ok: true };
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / limit.eventsPerSecond) * 1000) };
  }

  private refill(keyId: string, limit: RateLimit): Bucket {
    const now = this.clock.now();
    let bucket = this.buckets.get(keyId);
    if (bucket === undefined) {
      bucket = { tokens: limit.burst, at: now };
      this.buckets.set(keyId, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(limit.burst, bucket.tokens + elapsed * limit.eventsPerSecond);
    bucket.at = now;
    return bucket;
  }
}

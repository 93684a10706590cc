import type { Clock } from './clock.js';

export interface RecentlySeenOptions {
  /** How long a (source, id) is remembered. */
  windowMs: number;
  /** Upper bound on remembered keys; past it the oldest are forgotten early. */
  maxEntries: number;
}

/**
 * A bounded set of recently acknowledged dedup keys. A Map iterates in insertion order, and keys are inserted
 * in time order, so the oldest entries are always at the front: forgetting is a walk from the front that
 * stops at the first key still inside the window. One hash lookup per check, amortised O(1) per insert.
 * Downstream consumers dedupe by (source, id) anyway; this only spares Kafka the second write of a retry.
 */
export class RecentlySeen {
  private readonly seenAt = new Map<string, number>();
  /**
   * No entry expires before this time (the oldest one's expiry, as of the last walk): until then an insert
   * under maxEntries has nothing to forget, and skips the walk.
   */
  private nextExpiry = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly options: RecentlySeenOptions,
  ) {}

  has(key: string): boolean {
    const at = this.seenAt.get(key);
    return at !== undefined && at > this.clock.now() - this.options.windowMs;
  }

  add(key: string): void {
    this.addAll([key]);
  }

  /** Remembers keys acknowledged together (one clock reading, one walk). */
  addAll(keys: readonly string[]): void {
    if (keys.length === 0) return;
    const now = this.clock.now();
    const seenAt = this.seenAt;
    for (const key of keys) {
      const size = seenAt.size;
      seenAt.set(key, now);
      if (seenAt.size === size) {
        // Seen before: re-inserting moves the key to the back, keeping the Map in time order.
        seenAt.delete(key);
        seenAt.set(key, now);
      }
    }
    if (now >= this.nextExpiry || seenAt.size > this.options.maxEntries) this.forget(now);
  }

  get size(): number {
    return this.seenAt.size;
  }

  private forget(now: number): void {
    const cutoff = now - this.options.windowMs;
    for (const [key, at] of this.seenAt) {
      if (at > cutoff && this.seenAt.size <= this.options.maxEntries) {
        this.nextExpiry = at + this.options.windowMs;
        return;
      }
      this.seenAt.delete(key);
    }
    this.nextExpiry = Number.NEGATIVE_INFINITY;
  }
}

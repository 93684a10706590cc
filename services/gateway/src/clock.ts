/** Wall-clock milliseconds, injected so rate limits and the duplicate window are testable without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

import type { Clock } from './clock.js';

/** A clock that moves only when told: rate limits and windows are tested without waiting. */
export class ManualClock implements Clock {
  constructor(private at = 1_700_000_000_000) {}

  now(): number {
    return this.at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

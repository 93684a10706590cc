import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from './rate-limiter.js';
import { ManualClock } from './test-clock.js';

const limit = { eventsPerSecond: 10, burst: 20 };

test('a full bucket lets a burst through, then refuses with the wait until enough tokens return', () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter(clock);
  assert.deepEqual(limiter.take('k', limit, 20), { ok: true });
  assert.deepEqual(limiter.take('k', limit, 5), { ok: false, retryAfterMs: 500 });
  clock.advance(500);
  assert.deepEqual(limiter.take('k', limit, 5), { ok: true });
  assert.equal(limiter.peek('k', limit).ok, false);
});

test('keys have separate buckets', () => {
  const limiter = new RateLimiter(new ManualClock());
  assert.equal(limiter.take('a', limit, 20).ok, true);
  assert.equal(limiter.take('b', limit, 20).ok, true);
  assert.equal(limiter.take('a', limit, 1).ok, false);
});

test('a batch bigger than the burst passes on a full bucket and leaves a debt that holds the long-run rate', () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter(clock);
  assert.equal(limiter.take('k', limit, 100).ok, true);
  // 80 events of debt + 1 needed = 8.1 s at 10/s.
  assert.deepEqual(limiter.peek('k', limit), { ok: false, retryAfterMs: 8100 });
  clock.advance(8100);
  assert.equal(limiter.peek('k', limit).ok, true);
});

test('refill never exceeds the burst', () => {
  const clock = new ManualClock();
  const limiter = new RateLimiter(clock);
  limiter.take('k', limit, 1);
  clock.advance(60_000);
  assert.equal(limiter.take('k', limit, 20).ok, true);
  assert.equal(limiter.take('k', limit, 1).ok, false);
});

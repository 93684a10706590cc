import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentlySeen } from './recently-seen.js';
import { ManualClock } from './test-clock.js';

test('remembers keys for at least the window, then forgets them', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 8000, maxEntries: 1000, generations: 8 });
  seen.add('a');
  assert.equal(seen.has('a'), true);
  clock.advance(7999);
  assert.equal(seen.has('a'), true);
  clock.advance(2001);
  assert.equal(seen.has('a'), false);
  assert.equal(seen.has('never'), false);
});

test('memory stays bounded: past maxEntries the oldest generation is dropped', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 60_000, maxEntries: 900, generations: 8 });
  for (let i = 0; i < 10_000; i++) seen.add(`k${i}`);
  assert.ok(seen.size <= 900, `size ${seen.size}`);
  assert.equal(seen.has('k9999'), true);
  assert.equal(seen.has('k0'), false);
});

test('a long quiet period clears everything at once', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 1000, maxEntries: 100 });
  seen.add('x');
  clock.advance(1_000_000);
  assert.equal(seen.has('x'), false);
  assert.equal(seen.size, 0);
});

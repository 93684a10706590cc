import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentlySeen } from './recently-seen.js';
import { ManualClock } from './test-clock.js';

test('remembers keys for the window, then forgets them', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 8000, maxEntries: 1000 });
  seen.add('a');
  clock.advance(5000);
  seen.add('b');
  assert.equal(seen.has('a'), true);
  clock.advance(2999);
  assert.equal(seen.has('a'), true);
  clock.advance(1);
  assert.equal(seen.has('a'), false);
  assert.equal(seen.has('b'), true);
  assert.equal(seen.has('never'), false);
  seen.add('c');
  assert.equal(seen.size, 2, 'the expired key is dropped on the next insert');
});

test('a key seen again is remembered from its latest sighting', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 1000, maxEntries: 10 });
  seen.add('a');
  clock.advance(900);
  seen.add('a');
  clock.advance(900);
  assert.equal(seen.has('a'), true);
});

test('memory stays bounded: past maxEntries the oldest generation is dropped', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 60_000, maxEntries: 900 });
  for (let i = 0; i < 10_000; i++) seen.add(`k${i}`);
  assert.equal(seen.size, 900);
  assert.equal(seen.has('k9999'), true);
  assert.equal(seen.has('k9100'), true);
  assert.equal(seen.has('k9099'), false);
});

test('a long quiet period clears everything at once', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 1000, maxEntries: 100 });
  seen.add('x');
  clock.advance(1_000_000);
  assert.equal(seen.has('x'), false);
  seen.add('y');
  assert.equal(seen.size, 1);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
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

/** The straightforward version (walk on every insert): the optimised one must behave exactly like it. */
class Reference {
  private readonly seenAt = new Map<string, number>();
  constructor(
    private readonly clock: ManualClock,
    private readonly options: { windowMs: number; maxEntries: number },
  ) {}
  has(key: string): boolean {
    const at = this.seenAt.get(key);
    return at !== undefined && at > this.clock.now() - this.options.windowMs;
  }
  add(key: string): void {
    const now = this.clock.now();
    this.seenAt.delete(key);
    this.seenAt.set(key, now);
    const cutoff = now - this.options.windowMs;
    for (const [k, at] of this.seenAt) {
      if (at > cutoff && this.seenAt.size <= this.options.maxEntries) break;
      this.seenAt.delete(k);
    }
  }
  get size(): number {
    return this.seenAt.size;
  }
}

test('answers and size match the walk-on-every-insert version over random histories', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), key: fc.nat(30) }),
    fc.record({ kind: fc.constant('has' as const), key: fc.nat(30) }),
    fc.record({ kind: fc.constant('addAll' as const), keys: fc.array(fc.nat(30), { maxLength: 50 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.nat(50), fc.nat(3000)) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 40 }), fc.array(op, { maxLength: 300 }), (windowMs, maxEntries, ops) => {
      const clock = new ManualClock();
      const seen = new RecentlySeen(clock, { windowMs, maxEntries });
      const reference = new Reference(clock, { windowMs, maxEntries });
      for (const o of ops) {
        if (o.kind === 'advance') clock.advance(o.ms);
        else if (o.kind === 'add') seen.add(`k${o.key}`), reference.add(`k${o.key}`);
        else if (o.kind === 'addAll') {
          // Keys acknowledged together: the same as adding them one by one at the same time.
          seen.addAll(o.keys.map((k) => `k${k}`));
          for (const k of o.keys) reference.add(`k${k}`);
        }
        else assert.equal(seen.has(`k${o.key}`), reference.has(`k${o.key}`));
        assert.equal(seen.size, reference.size);
      }
    }),
    { numRuns: 2000 },
  );
});

test('at scale (index rebuilt, ring grown and compacted, keys seen again) it still matches the walk-on-every-insert version', () => {
  const op = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('addAll' as const), keys: fc.array(fc.nat(6000), { maxLength: 400, size: 'max' }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('has' as const), keys: fc.array(fc.nat(6000), { maxLength: 200, size: 'max' }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.nat(50), fc.nat(3000)) }) },
  );
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 1, max: 5000 }), fc.array(op, { maxLength: 60, size: 'max' }), (windowMs, maxEntries, ops) => {
      const clock = new ManualClock();
      const seen = new RecentlySeen(clock, { windowMs, maxEntries });
      const reference = new Reference(clock, { windowMs, maxEntries });
      for (const o of ops) {
        if (o.kind === 'advance') clock.advance(o.ms);
        else if (o.kind === 'addAll') {
          seen.addAll(o.keys.map((k) => `k${k}`));
          for (const k of o.keys) reference.add(`k${k}`);
        } else for (const k of o.keys) assert.equal(seen.has(`k${k}`), reference.has(`k${k}`), `k${k}`);
        assert.equal(seen.size, reference.size);
      }
    }),
    { numRuns: 150 },
  );
});

test('one key acknowledged over and over does not grow the memory without bound', () => {
  const clock = new ManualClock();
  const seen = new RecentlySeen(clock, { windowMs: 60_000, maxEntries: 1_000_000 });
  seen.add('first'); // stays inside the window: the walk stops at it
  for (let i = 0; i < 200_000; i++) seen.add('again');
  assert.equal(seen.size, 2);
  assert.equal(seen.has('first'), true);
  assert.equal(seen.has('again'), true);
  const ring = (seen as unknown as { keys: unknown[] }).keys.length;
  assert.ok(ring <= 8192, `ring of ${ring} positions for 2 keys`);
});

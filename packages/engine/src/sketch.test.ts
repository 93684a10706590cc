import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DDSketch } from '@datadog/sketches-js';
import fc from 'fast-check';
import { RELATIVE_ACCURACY, Sketch } from './sketch.js';

const values = fc.array(fc.oneof(fc.integer({ min: 0, max: 40_000_000 }), fc.constant(0), fc.integer({ min: 60, max: 7_200 })), { minLength: 1, maxLength: 300 });

test('quantiles equal those of @datadog/sketches-js DDSketch at the same relative accuracy', () => {
  fc.assert(
    fc.property(values, fc.double({ min: 0, max: 1, noNaN: true }), (vs, q) => {
      const ours = new Sketch();
      const lib = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
      for (const v of vs) {
        ours.add(v, 1);
        lib.accept(v);
      }
      const a = ours.quantile(q);
      const b = lib.getValueAtQuantile(q);
      assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `q=${q}: ours ${a}, library ${b}`);
    }),
    { numRuns: 200 },
  );
});

test('relative error of p50 and p90 stays within 1 % of the exact order statistic', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 10_000_000 }), { minLength: 1, maxLength: 500 }), (vs) => {
      const s = new Sketch();
      for (const v of vs) s.add(v, 1);
      const sorted = [...vs].sort((x, y) => x - y);
      for (const q of [0.5, 0.9]) {
        // DDSketch returns a value within α of the element of rank floor(q·(n−1)).
        const exact = sorted[Math.floor(q * (sorted.length - 1))] as number;
        const got = s.quantile(q);
        assert.ok(Math.abs(got - exact) <= RELATIVE_ACCURACY * exact + 1e-9, `q=${q}: exact ${exact}, got ${got}`);
      }
    }),
    { numRuns: 200 },
  );
});

test('retracting a value restores the previous sketch exactly, whatever the order', () => {
  fc.assert(
    fc.property(values, values, (keep, transient) => {
      const a = new Sketch();
      for (const v of keep) a.add(v, 1);
      const b = new Sketch();
      for (const v of transient) b.add(v, 1);
      for (const v of keep) b.add(v, 1);
      for (const v of transient) b.add(v, -1);
      assert.deepEqual(b.entries(), a.entries());
      assert.equal(b.count, a.count);
      assert.equal(b.zeroCount, a.zeroCount);
      assert.equal(b.quantile(0.5), a.quantile(0.5));
    }),
    { numRuns: 100 },
  );
});

test('an empty sketch has no quantile', () => {
  const s = new Sketch();
  assert.ok(Number.isNaN(s.quantile(0.5)));
  s.add(3600, 1);
  s.add(3600, -1);
  assert.ok(s.isEmpty());
  assert.ok(Number.isNaN(s.quantile(0.5)));
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EngineDecodeError } from './errors.js';
import { MEASURE_COUNT } from './measures.js';
import { decodePartial, encodePartial, makePartial, mergePartials, partialKey, windowRef, type IndicatorPartial } from './partials.js';
import { Sketch } from './sketch.js';
import { canonical } from './testkit.js';

/** Few keys, so merges collide; integer measures as the engine produces; random sketches and flags. */
const partial: fc.Arbitrary<IndicatorPartial> = fc
  .record({
    kind: fc.constantFrom('day', 'month', 'now', 'minute') as fc.Arbitrary<'day' | 'month' | 'now' | 'minute'>,
    index: fc.integer({ min: 0, max: 2 }),
    scope: fc.constantFrom({ kind: 'province', code: 'H21' }, { kind: 'unit', code: 'H21.17', group: 'department' }, { kind: 'channel', code: 'online' }),
    measures: fc.array(fc.integer({ min: -1_000, max: 1_000_000 }), { minLength: MEASURE_COUNT, maxLength: MEASURE_COUNT }),
    sketch: fc.option(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 20 }), { nil: undefined }),
    closed: fc.boolean(),
    revised: fc.boolean(),
  })
  .map((r) => {
    let sketch: Sketch | null = null;
    if (r.sketch !== undefined) {
      sketch = new Sketch();
      for (const v of r.sketch) sketch.add(v, 1);
    }
    const index = r.kind === 'now' ? 0 : r.kind === 'day' ? 20_100 + r.index : r.kind === 'month' ? 2025 * 12 + r.index : 29_000_000 + r.index;
    return makePartial(windowRef(r.kind, index), r.scope as IndicatorPartial['scope'], Float64Array.from(r.measures), sketch, r.closed, r.revised);
  });

const bag = fc.array(partial, { maxLength: 6 });

test('merge is commutative and associative, exactly', () => {
  fc.assert(
    fc.property(bag, bag, bag, (a, b, c) => {
      assert.deepEqual(canonical(mergePartials(a, b)), canonical(mergePartials(b, a)));
      assert.deepEqual(canonical(mergePartials(mergePartials(a, b), c)), canonical(mergePartials(a, mergePartials(b, c))));
      assert.deepEqual(canonical(mergePartials(a, b, c)), canonical(mergePartials(c, a, b)));
    }),
    { numRuns: 300 },
  );
});

test('merge has the empty collection as identity and leaves its inputs untouched', () => {
  fc.assert(
    fc.property(bag, bag, (a, b) => {
      const before = canonical(a);
      assert.deepEqual(canonical(mergePartials(a, [])), canonical(mergePartials(a)));
      mergePartials(a, b);
      assert.deepEqual(canonical(a), before);
    }),
    { numRuns: 100 },
  );
});

test('merged flags: closed only when every contributor closed the window; revised when any did', () => {
  const p = (closed: boolean, revised: boolean) => makePartial(windowRef('day', 20_100), { kind: 'province', code: 'H21' }, new Float64Array(MEASURE_COUNT), null, closed, revised);
  const [m] = mergePartials([p(true, false)], [p(false, true)]);
  assert.equal(m?.closed, false);
  assert.equal(m?.revised, true);
});

test('partials round-trip through bytes', () => {
  fc.assert(
    fc.property(partial, (p) => {
      const back = decodePartial(encodePartial(p));
      assert.equal(back.key, p.key);
      assert.equal(partialKey(back), p.key);
      assert.deepEqual(canonical([back]), canonical([p]));
      assert.deepEqual(back.window, p.window);
      assert.deepEqual(back.scope, p.scope);
    }),
    { numRuns: 300 },
  );
});

test('corrupt or foreign partial bytes are refused with IOC_ENGINE_DECODE', () => {
  const p = encodePartial(makePartial(windowRef('month', 2025 * 12), { kind: 'unit', code: 'H21.17' }, new Float64Array(MEASURE_COUNT).fill(3), null, false, false));
  const bad = (bytes: Uint8Array) => assert.throws(() => decodePartial(bytes), (e: unknown) => e instanceof EngineDecodeError && e.code === 'IOC_ENGINE_DECODE');
  bad(p.subarray(0, p.length - 3));
  bad(Uint8Array.from([0x50, 99, ...p.subarray(2)]));
  bad(Uint8Array.from([0x00, ...p.subarray(1)]));
  bad(Uint8Array.from([...p, 0]));
});

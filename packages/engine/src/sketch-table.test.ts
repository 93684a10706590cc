import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Sketch } from './sketch.js';
import { SketchTable } from './sketch-table.js';

const RUNS = Number(process.env.IOCBUS_PROPERTY_RUNS ?? 100);
// size 'max' throughout: fast-check's default size keeps arrays to ~10 elements, too few for stores to turn
// dense or for the arena and the cell rows to grow.
const CELLS = 40;

/** The table's toSketch against the model: null exactly when the model is empty, else the same content. */
function assertSameSketch(got: Sketch | null, want: Sketch, what: string): void {
  if (want.isEmpty()) {
    assert.equal(got, null, `${what}: model empty, table gave a sketch`);
    return;
  }
  assert.ok(got !== null, `${what}: model not empty, table gave null`);
  assertSameContent(got, want, what);
}

/** Equal content as seen from outside: entries, totals, emptiness, quantiles. */
function assertSameContent(got: Sketch, want: Sketch, what: string): void {
  assert.equal(got.isEmpty(), want.isEmpty(), `${what}: isEmpty`);
  assert.deepEqual(got.entries(), want.entries(), `${what}: entries`);
  assert.equal(got.count, want.count, `${what}: count`);
  assert.equal(got.zeroCount, want.zeroCount, `${what}: zeroCount`);
  for (const q of [0, 0.25, 0.5, 0.9, 1]) assert.equal(got.quantile(q), want.quantile(q), `${what}: quantile ${q}`);
}

// Mostly a narrow key range (cells share keys; more than 24 of them turn a store dense), wider ones, keys of real
// processing times, the extreme keys of the mapping, and NaN (a value counted as zero).
const key = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -12, max: 30 }) },
  // Past a dense range made of narrow keys on either side: growth downwards and upwards.
  { weight: 2, arbitrary: fc.integer({ min: -400, max: 400 }) },
  { weight: 2, arbitrary: fc.integer({ min: 3_600, max: 1_300_000 }).map((v) => Sketch.keyOf(v)) },
  { weight: 1, arbitrary: fc.constantFrom(Sketch.keyOf(Number.MIN_VALUE * 1e10), Sketch.keyOf(Number.MAX_VALUE), -1, 0) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
);
const weight = fc.oneof(fc.constantFrom(1, -1, 1, 1), fc.integer({ min: -3, max: 3 }));
const cell = fc.integer({ min: 0, max: CELLS - 1 });

type Op =
  | { op: 'add'; cell: number; key: number; weight: number }
  | { op: 'addMany'; cells: number[]; key: number; weight: number }
  | { op: 'clear'; cell: number }
  | { op: 'load'; cell: number; adds: Array<[number, number]> };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('add' as const), cell, key, weight }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('addMany' as const), cells: fc.uniqueArray(cell, { minLength: 0, maxLength: 10, size: 'max' }), key, weight }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('clear' as const), cell }) },
  // A restored sketch: any content, including more keys than Sketch keeps sparse, retractions and zero values.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('load' as const), cell, adds: fc.array(fc.tuple(key, weight), { maxLength: 40, size: 'max' }) }) },
);

test('SketchTable agrees with one Sketch per cell on random add/addMany/clear/load sequences', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 300, size: 'max' }), fc.integer({ min: 1, max: 8 }), (ops, initialCells) => {
      // Tiny initial sizes: the table, the entry pool and the per-cell arrays all grow during a run.
      const table = new SketchTable(initialCells);
      const model = new Map<number, Sketch>();
      const modelOf = (c: number): Sketch => {
        let s = model.get(c);
        if (s === undefined) model.set(c, (s = new Sketch()));
        return s;
      };
      ops.forEach((o, step) => {
        let touched: number[];
        switch (o.op) {
          case 'add':
            table.add(o.cell, o.key, o.weight);
            modelOf(o.cell).addPrecomputed(o.key, o.weight);
            touched = [o.cell];
            break;
          case 'addMany':
            table.addMany(Int32Array.from([...o.cells, 999_999]), o.cells.length, o.key, o.weight);
            for (const c of o.cells) modelOf(c).addPrecomputed(o.key, o.weight);
            touched = o.cells;
            break;
          case 'clear':
            table.clear(o.cell);
            model.set(o.cell, new Sketch());
            touched = [o.cell];
            break;
          case 'load': {
            const s = new Sketch();
            for (const [k, w] of o.adds) s.addPrecomputed(k, w);
            table.load(o.cell, s);
            model.set(o.cell, s.clone());
            touched = [o.cell];
            break;
          }
        }
        for (const c of touched) {
          const want = modelOf(c);
          assert.equal(table.isEmpty(c), want.isEmpty(), `step ${step} (${o.op}) cell ${c}: isEmpty`);
          assertSameSketch(table.toSketch(c), want, `step ${step} (${o.op}) cell ${c}`);
        }
      });
      // Everything else still intact at the end (a clear's backward shift moved other cells' slots).
      for (let c = 0; c < CELLS; c++) assertSameSketch(table.toSketch(c), modelOf(c), `end, cell ${c}`);
      assert.ok(table.isEmpty(999_999));
    }),
    { numRuns: RUNS },
  );
});

test('regions freed by clear and by store growth are reused: churn does not grow the arena', () => {
  const t = new SketchTable(4);
  const model = new Map<number, Sketch>();
  const fill = (cell: number, keys: number, shift: number) => {
    const s = new Sketch();
    // Sparse, then dense, then the dense range widened on both sides: every region size is freed on the way.
    for (let k = 0; k < keys; k++) {
      const key = shift + (k % 2 === 0 ? k : -k) * 3;
      t.add(cell, key, 1);
      s.addPrecomputed(key, 1);
    }
    model.set(cell, s);
  };
  for (let c = 0; c < 8; c++) fill(c, 10 + 10 * c, c);
  const inUse = t.arenaInUse;
  assert.ok(inUse > 0);
  for (let round = 0; round < 20; round++) {
    for (let c = 0; c < 8; c += 2) t.clear(c);
    assert.ok(t.arenaInUse < inUse, 'clear returns regions');
    for (let c = 0; c < 8; c += 2) fill(c, 10 + 10 * c, c);
    assert.equal(t.arenaInUse, inUse, `round ${round}: the same stores take the same room`);
    for (let c = 0; c < 8; c++) assertSameSketch(t.toSketch(c), model.get(c) as Sketch, `round ${round} cell ${c}`);
  }
  for (let c = 0; c < 8; c++) t.clear(c);
  assert.equal(t.arenaInUse, 0);
});

test('a key retracted to 0 stays out of entries and isEmpty, then counts again when re-added', () => {
  const t = new SketchTable(2);
  const k = Sketch.keyOf(7_200);
  t.add(3, k, 1);
  t.add(3, k, -1);
  assert.ok(t.isEmpty(3));
  assert.equal(t.toSketch(3), null);
  t.add(3, k, 1);
  assert.deepEqual(t.toSketch(3)?.entries(), [[k, 1]]);
  // A count of 0 with keys still non-zero is not empty (as in Sketch: a retraction without its add).
  t.add(4, k, 1);
  t.add(4, Sketch.keyOf(60), -1);
  assert.equal(t.isEmpty(4), false);
  assert.deepEqual(t.toSketch(4)?.entries(), [
    [Sketch.keyOf(60), -1],
    [k, 1],
  ]);
});

test('weights that are not integers, and counts leaving the Int32 range, throw instead of being truncated', () => {
  const t = new SketchTable();
  assert.throws(() => t.add(0, 10, 0.5), RangeError);
  assert.throws(() => t.addMany(Int32Array.of(0, 1), 2, 10, 1.5), RangeError);
  t.add(0, 10, 2 ** 31 - 1);
  assert.throws(() => t.add(0, 10, 1), RangeError);
  assert.equal(t.toSketch(0)?.count, 2 ** 31 - 1);
});

test('Sketch.fromSorted equals the sketch built key by key, and keeps behaving the same under further adds', () => {
  const content = fc.uniqueArray(fc.tuple(fc.integer({ min: -50, max: 800 }), fc.integer({ min: -3, max: 5 })), { maxLength: 70, selector: ([k]) => k, size: 'max' });
  fc.assert(
    fc.property(content, fc.integer({ min: -3, max: 5 }), fc.array(fc.tuple(fc.integer({ min: -200, max: 1_200 }), fc.integer({ min: -2, max: 2 })), { maxLength: 60, size: 'max' }), (kcs, zeros, later) => {
      const sorted = [...kcs].sort((a, b) => a[0] - b[0]);
      const direct = new Sketch();
      for (const [k, c] of sorted) direct.addPrecomputed(k, c);
      direct.addPrecomputed(Number.NaN, zeros);
      const built = Sketch.fromSorted(
        sorted.map(([k]) => k),
        sorted.map(([, c]) => c),
        sorted.length,
        direct.count,
        direct.zeroCount,
      );
      assertSameContent(built, direct, 'fromSorted');
      // Adds after construction cross the sparse → dense switch and grow the dense range on both sides.
      for (const [k, w] of later) {
        built.addPrecomputed(k, w);
        direct.addPrecomputed(k, w);
      }
      assertSameContent(built, direct, 'fromSorted, then adds');
      const merged = new Sketch();
      merged.merge(built);
      assertSameContent(merged, direct, 'merge of fromSorted');
    }),
    { numRuns: RUNS },
  );
  assert.throws(() => Sketch.fromSorted([3, 3], [1, 1], 2, 2, 0), RangeError);
});

test('Sketch.fromDense equals the sketch built key by key, and keeps behaving the same under further adds', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 5 })), { maxLength: 80, size: 'max' }),
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: -100, max: 700 }),
      fc.array(fc.tuple(fc.integer({ min: -300, max: 1_200 }), fc.integer({ min: -2, max: 2 })), { maxLength: 60, size: 'max' }),
      (counts, pad, firstKey, later) => {
        // The range sits inside a larger array, as a store inside the arena.
        const arena = Int32Array.from([...new Array<number>(pad).fill(7), ...counts, 9]);
        const direct = new Sketch();
        counts.forEach((c, i) => {
          if (c !== 0) direct.addPrecomputed(firstKey + i, c);
        });
        direct.addPrecomputed(Number.NaN, 2);
        const built = Sketch.fromDense(arena, pad, counts.length, firstKey, direct.count, direct.zeroCount);
        assertSameContent(built, direct, 'fromDense');
        for (const [k, w] of later) {
          built.addPrecomputed(k, w);
          direct.addPrecomputed(k, w);
        }
        assertSameContent(built, direct, 'fromDense, then adds');
      },
    ),
    { numRuns: RUNS },
  );
});

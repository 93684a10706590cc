import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Sketch } from './sketch.js';
import { SketchLog } from './sketch-log.js';
import { SketchTable } from './sketch-table.js';

const RUNS = Number(process.env.IOCBUS_PROPERTY_RUNS ?? 100);
const CELLS = 30;
const cell = fc.integer({ min: 0, max: CELLS - 1 });
const key = fc.oneof(fc.integer({ min: -5, max: 40 }), fc.integer({ min: 3_600, max: 1_300_000 }).map((v) => Sketch.keyOf(v)), fc.constant(Number.NaN));

type Op = { op: 'add'; cells: number[]; key: number; weight: number } | { op: 'read'; cell: number } | { op: 'clear'; cell: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('add' as const), cells: fc.uniqueArray(cell, { maxLength: 10 }), key, weight: fc.constantFrom(1, -1, 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), cell }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), cell }) },
);

test('values logged, then flushed grouped by cell, give the sketches of adding them at once; clears never lose or misplace a value', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 400, size: 'max' }), (ops) => {
      const table = new SketchTable(4);
      const log = new SketchLog(table);
      const model = Array.from({ length: CELLS }, () => new Sketch());
      const ids = new Int32Array(10);
      const check = (c: number): void => {
        log.flush(CELLS);
        const got = table.toSketch(c);
        const want = model[c] as Sketch;
        if (want.isEmpty()) assert.equal(got, null);
        else {
          assert.ok(got !== null);
          assert.deepEqual(got.entries(), want.entries());
          assert.equal(got.count, want.count);
          assert.equal(got.zeroCount, want.zeroCount);
        }
      };
      for (const o of ops) {
        if (o.op === 'add') {
          o.cells.forEach((c, i) => (ids[i] = c));
          log.addMany(ids, o.cells.length, o.key, o.weight);
          for (const c of o.cells) (model[c] as Sketch).addPrecomputed(o.key, o.weight);
        } else if (o.op === 'read') check(o.cell);
        else {
          // As the accumulator does on eviction: flush, then clear (the id may be reused at once).
          log.flush(CELLS);
          table.clear(o.cell);
          model[o.cell] = new Sketch();
        }
      }
      for (let c = 0; c < CELLS; c++) check(c);
    }),
    { numRuns: RUNS },
  );
});

test('the log grows past its initial size and shrinks back after a large flush', () => {
  const table = new SketchTable(4);
  const log = new SketchLog(table);
  const ids = Int32Array.from([0, 1, 2]);
  for (let i = 0; i < 400_000; i++) log.addMany(ids, 3, i % 50, 1);
  log.flush(3);
  for (let c = 0; c < 3; c++) assert.equal(table.toSketch(c)?.count, 400_000);
  assert.equal(table.toSketch(0)?.entries().length, 50);
});

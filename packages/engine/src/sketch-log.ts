/**
 * Processing-time values bound for the cells' sketches, logged as they are applied and added to the sketches
 * in batches grouped by cell.
 *
 * Why: one resolved dossier adds its processing time to ~10 cells (day and month × five scopes, sometimes a
 * minute), each cell's sketch a different set of scattered heap objects. Added one by one, every add was a
 * few cache misses (~200 ns per cell, ~25 % of `advance`). Logged, an add is three sequential Int32 stores;
 * a flush sorts the log by cell (counting sort) and then adds each cell's values while its sketch is in
 * cache. Values of a retraction and a re-add of the same dossier (+1 then -1 at one key) simply sum.
 *
 * Every read of a sketch goes through here and flushes first, so readers never see a stale sketch; a cell is
 * cleared only after a flush, so a logged value never lands in a reused cell id.
 */
import type { Sketch } from './sketch.js';

/** Per-cell sketch storage (sketch-table.ts). */
export interface SketchStore {
  add(cell: number, key: number, weight: number): void;
  isEmpty(cell: number): boolean;
  toSketch(cell: number): Sketch | null;
  load(cell: number, s: Sketch): void;
  clear(cell: number): void;
}

/** Sketch.keyOf's NaN (a value counted as zero) in the Int32 log; real keys are within ±40,000. */
const ZERO_KEY = -0x8000_0000;

export class SketchLog {
  /** (cell, key, weight) triples in apply order. */
  private log = new Int32Array(3 * 4096);
  private size = 0;
  /** Scratch of the counting sort, kept between flushes. */
  private starts = new Int32Array(0);
  private order = new Int32Array(0);

  constructor(private readonly store: SketchStore) {}

  /** Logs weight at key (Sketch.keyOf; NaN = a zero value) for each of cells[0..n). */
  addMany(cells: Int32Array, n: number, key: number, weight: number): void {
    if (n === 0) return;
    if (3 * (this.size + n) > this.log.length) this.grow(3 * (this.size + n));
    const log = this.log;
    const k = Number.isNaN(key) ? ZERO_KEY : key;
    let o = 3 * this.size;
    for (let i = 0; i < n; i++) {
      log[o] = cells[i] as number;
      log[o + 1] = k;
      log[o + 2] = weight;
      o += 3;
    }
    this.size += n;
  }

  private grow(min: number): void {
    let len = this.log.length * 2;
    while (len < min) len *= 2;
    const next = new Int32Array(len);
    next.set(this.log.subarray(0, 3 * this.size));
    this.log = next;
  }

  /** Adds every logged value to its cell's sketch, a cell at a time. `cellCount` bounds the cell ids. */
  flush(cellCount: number): void {
    const n = this.size;
    if (n === 0) return;
    this.size = 0;
    const log = this.log;
    if (this.starts.length < cellCount + 1) this.starts = new Int32Array(Math.max(cellCount + 1, 2 * this.starts.length));
    if (this.order.length < n) this.order = new Int32Array(Math.max(n, 2 * this.order.length));
    const starts = this.starts;
    const order = this.order;
    starts.fill(0, 0, cellCount + 1);
    for (let i = 0; i < n; i++) starts[(log[3 * i] as number) + 1]!++;
    for (let c = 0; c < cellCount; c++) starts[c + 1]! += starts[c] as number;
    // starts[c] is now where cell c's entries begin; it advances as they are placed.
    for (let i = 0; i < n; i++) order[starts[log[3 * i] as number]!++] = i;
    const store = this.store;
    for (let j = 0; j < n; j++) {
      const o = 3 * (order[j] as number);
      const key = log[o + 1] as number;
      store.add(log[o] as number, key === ZERO_KEY ? NaN : key, log[o + 2] as number);
    }
    // A catch-up burst may have grown the log to millions of entries: give that back.
    if (this.log.length > 3 * 262_144) this.log = new Int32Array(3 * 4096);
  }
}

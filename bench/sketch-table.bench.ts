/**
 * SketchTable (all cells' sketches in typed arrays) against one Sketch per cell, on the engine's pattern of
 * use: each processing time (the engine bench's distribution: mostly 1 h to 15 days) is added to the 10
 * cells of its day and month × 5 scopes (province, unit, procedure, sector, channel of a province-stream
 * dossier), a few per cent are retracted again later (weight -1, as when a late event changes a dossier's
 * processing time), and day cells are evicted 35 days after their day (ids reused), as the engine does.
 *
 *   node --expose-gc --import tsx bench/sketch-table.bench.ts
 *   IOCBUS_SKETCH_BENCH_DAYS=160 IOCBUS_SKETCH_BENCH_PER_DAY=2500 IOCBUS_SKETCH_BENCH_ROUNDS=8 …
 *
 * Passes of A (Sketch per cell, addPrecomputed) and B (SketchTable.addMany) alternate, order flipped every
 * round, each from empty on the same precomputed cell ids and keys (cell resolution and key computation are
 * outside the timed section, the same for both). Per pass: main-thread CPU ns per 10-cell add, bytes
 * allocated on the JS heap plus array buffers (gc before, memoryUsage after, no gc in between unless V8
 * ran one: then the figure is a lower bound, so the GC time observed during the pass is printed too), and
 * what the structure retains after a gc. Then the same for reading every live cell out (toSketch against
 * isEmpty + clone, what a drain does). Prints the median of the paired ratios.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { Sketch } from '../packages/engine/src/sketch.js';
import { SketchTable } from '../packages/engine/src/sketch-table.js';
import { mulberry32 } from './province-stream.js';
import { threadCpuMs } from './thread-cpu.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const gc = globalThis.gc as () => void;

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const DAYS = Number(process.env.IOCBUS_SKETCH_BENCH_DAYS ?? 160);
const PER_DAY = Number(process.env.IOCBUS_SKETCH_BENCH_PER_DAY ?? 2_500);
const ROUNDS = Number(process.env.IOCBUS_SKETCH_BENCH_ROUNDS ?? 8);
const RETENTION_DAYS = 35;
const RETRACT_SHARE = 0.05;
const H = 3600;

// Scopes as in bench/province-stream.ts: 1 province, 120 units, 300 procedures, 40 sectors, 3 channels.
const UNITS = 120;
const PROCEDURES = 300;
const SECTORS = 40;
const CHANNELS = 3;
const SCOPES = 1 + UNITS + PROCEDURES + SECTORS + CHANNELS;

/** The workload: per operation 10 cell ids, one key, one weight; plus, per day, the day cells to evict before it. */
interface Workload {
  cells: Int32Array;
  keys: Float64Array;
  weights: Int8Array;
  ops: number;
  /** evictFrom[d]..evictFrom[d+1] in `evictions`: cell ids evicted before the ops of day d. */
  evictFrom: Int32Array;
  evictions: Int32Array;
  dayStart: Int32Array;
  maxCell: number;
}

function workload(): Workload {
  const r = mulberry32(42);
  const cap = Math.ceil(DAYS * PER_DAY * (1 + 2 * RETRACT_SHARE)) + 16;
  const cells = new Int32Array(cap * 10);
  const keys = new Float64Array(cap);
  const weights = new Int8Array(cap);
  const dayStart = new Int32Array(DAYS + 1);
  const evictFrom = new Int32Array(DAYS + 1);
  const evictions: number[] = [];
  // Dense cell ids, freed ids reused (smallest first is not needed: a stack, as an engine free list would be).
  const free: number[] = [];
  let nextId = 0;
  const alloc = (): number => free.pop() ?? nextId++;
  const dayCells: Int32Array[] = [];
  const monthCells = new Map<number, Int32Array>();
  const cellsOf = (ids: Int32Array, scope: number): number => {
    if (ids[scope] === -1) ids[scope] = alloc();
    return ids[scope] as number;
  };
  const recent: number[] = [];
  let ops = 0;
  for (let d = 0; d < DAYS; d++) {
    evictFrom[d] = evictions.length;
    const old = d - RETENTION_DAYS - 1;
    if (old >= 0) {
      for (const id of dayCells[old] as Int32Array) if (id !== -1) {
        evictions.push(id);
        free.push(id);
      }
    }
    dayCells[d] = new Int32Array(SCOPES).fill(-1);
    const month = Math.floor(d / 30);
    if (!monthCells.has(month)) monthCells.set(month, new Int32Array(SCOPES).fill(-1));
    dayStart[d] = ops;
    for (let i = 0; i < PER_DAY; i++) {
      // Retract an earlier value now and then (same cells, weight -1), else add a new one.
      const retract = recent.length > 0 && r() < RETRACT_SHARE;
      if (retract) {
        // `recent` spans less than a day, so the retracted value's cells are all still held.
        const j = recent.splice(Math.floor(r() * recent.length), 1)[0] as number;
        cells.copyWithin(ops * 10, j * 10, j * 10 + 10);
        keys[ops] = keys[j] as number;
        weights[ops] = -1;
        ops++;
        continue;
      }
      const commune = r() < 0.7;
      const dept = Math.floor(r() * 20);
      const unit = 1 + (commune ? 20 + Math.floor(r() * 100) : dept);
      const p = commune ? Math.floor(60 * Math.pow(r(), 3)) : 60 + dept * 12 + Math.floor(12 * Math.pow(r(), 2));
      const procedure = 1 + UNITS + p;
      const sector = 1 + UNITS + PROCEDURES + (p % SECTORS);
      const channel = 1 + UNITS + PROCEDURES + SECTORS + (r() < 0.45 ? 0 : r() < 0.92 ? 1 : 2);
      const dueH = [8, 24, 72, 120, 240, 360][Math.floor(r() * 6)] as number;
      const proc = Math.floor((r() < 0.88 ? r() * 0.95 : 1 + r() * 0.5) * dueH * H);
      const scopes = [0, unit, procedure, sector, channel];
      const dc = dayCells[d] as Int32Array;
      const mc = monthCells.get(month) as Int32Array;
      for (let k = 0; k < 5; k++) {
        cells[ops * 10 + k] = cellsOf(dc, scopes[k] as number);
        cells[ops * 10 + 5 + k] = cellsOf(mc, scopes[k] as number);
      }
      keys[ops] = Sketch.keyOf(proc);
      weights[ops] = 1;
      recent.push(ops);
      if (recent.length > 2000) recent.shift();
      ops++;
    }
  }
  dayStart[DAYS] = ops;
  evictFrom[DAYS] = evictions.length;
  return { cells, keys, weights, ops, evictFrom, evictions: Int32Array.from(evictions), dayStart, maxCell: nextId };
}

interface Structure {
  /** Drops what the previous pass built (so the next pass's baseline excludes it). */
  reset(): void;
  addAll(w: Workload): void;
  readAll(w: Workload): number;
}

function perCellSketches(): Structure {
  let sketches: (Sketch | null)[] = [];
  return {
    reset() {
      sketches = [];
    },
    addAll(w) {
      sketches = new Array<Sketch | null>(w.maxCell).fill(null);
      const { cells, keys, weights } = w;
      for (let d = 0; d < DAYS; d++) {
        for (let e = w.evictFrom[d] as number; e < (w.evictFrom[d + 1] as number); e++) sketches[w.evictions[e] as number] = null;
        for (let o = w.dayStart[d] as number; o < (w.dayStart[d + 1] as number); o++) {
          const key = keys[o] as number;
          const weight = weights[o] as number;
          for (let i = o * 10; i < o * 10 + 10; i++) {
            const c = cells[i] as number;
            (sketches[c] ??= new Sketch()).addPrecomputed(key, weight);
          }
        }
      }
    },
    readAll(w) {
      let n = 0;
      for (let c = 0; c < w.maxCell; c++) {
        const s = sketches[c];
        const out = s === null || s === undefined || s.isEmpty() ? null : s.clone();
        if (out !== null) n += out.count;
      }
      return n;
    },
  };
}

function table(): Structure {
  let t = new SketchTable();
  return {
    reset() {
      t = new SketchTable();
    },
    addAll(w) {
      t = new SketchTable();
      const { cells, keys, weights } = w;
      const batch = new Int32Array(10);
      for (let d = 0; d < DAYS; d++) {
        for (let e = w.evictFrom[d] as number; e < (w.evictFrom[d + 1] as number); e++) t.clear(w.evictions[e] as number);
        for (let o = w.dayStart[d] as number; o < (w.dayStart[d + 1] as number); o++) {
          // The engine resolves its ~10 cells into a scratch Int32Array; copy them into one likewise.
          for (let k = 0; k < 10; k++) batch[k] = cells[o * 10 + k] as number;
          t.addMany(batch, 10, keys[o] as number, weights[o] as number);
        }
      }
    },
    readAll(w) {
      let n = 0;
      for (let c = 0; c < w.maxCell; c++) {
        const out = t.toSketch(c);
        if (out !== null) n += out.count;
      }
      return n;
    },
  };
}

interface PassResult {
  addNs: number;
  addBytes: number;
  addGcMs: number;
  retainedBytes: number;
  readNs: number;
  readBytes: number;
  check: number;
}

function bytesNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Lets the PerformanceObserver deliver the gc entries of the pass just run (it reports asynchronously). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

async function pass(s: Structure, w: Workload): Promise<PassResult> {
  s.reset();
  gc();
  await settle();
  const base = bytesNow();
  const g0 = gcMs;
  const t0 = threadCpuMs();
  s.addAll(w);
  const t1 = threadCpuMs();
  const addBytes = bytesNow() - base;
  await settle();
  const addGcMs = gcMs - g0;
  gc();
  const retainedBytes = bytesNow() - base;
  const r0 = threadCpuMs();
  let check = 0;
  // Several read-outs so the pass lasts more than a few CPU ticks.
  const READS = 5;
  const b0 = bytesNow();
  for (let i = 0; i < READS; i++) check += s.readAll(w);
  const r1 = threadCpuMs();
  const readBytes = (bytesNow() - b0) / READS;
  return { addNs: ((t1 - t0) * 1e6) / w.ops, addBytes, addGcMs, retainedBytes, readNs: ((r1 - r0) * 1e6) / READS, readBytes, check };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const w = workload();
const live = w.maxCell;
console.log(`sketch-table bench: ${w.ops.toLocaleString('en')} ten-cell adds (${DAYS} days × ${PER_DAY}/day, ${RETRACT_SHARE * 100} % retractions), ${live.toLocaleString('en')} cell ids, node ${process.version}`);
const A = perCellSketches();
const B = table();
// Warm-up: both once.
await pass(A, w);
await pass(B, w);
const addRatios: number[] = [];
const readRatios: number[] = [];
const rows: Array<{ a: PassResult; b: PassResult }> = [];
for (let round = 0; round < ROUNDS; round++) {
  let a: PassResult;
  let b: PassResult;
  if (round % 2 === 0) {
    a = await pass(A, w);
    b = await pass(B, w);
  } else {
    b = await pass(B, w);
    a = await pass(A, w);
  }
  if (a.check !== b.check) throw new Error(`read-outs differ: ${a.check} vs ${b.check}`);
  rows.push({ a, b });
  addRatios.push(a.addNs / b.addNs);
  readRatios.push(a.readNs / b.readNs);
  const mb = (x: number) => (x / 1e6).toFixed(1);
  console.log(
    `round ${round}: add ns/10-cell add  Sketch ${a.addNs.toFixed(0)}  table ${b.addNs.toFixed(0)}  (×${(a.addNs / b.addNs).toFixed(2)});` +
      `  allocated MB ${mb(a.addBytes)} / ${mb(b.addBytes)}, gc ms ${a.addGcMs.toFixed(0)} / ${b.addGcMs.toFixed(0)}, retained MB ${mb(a.retainedBytes)} / ${mb(b.retainedBytes)};` +
      `  read-out ms ${(a.readNs / 1e6).toFixed(1)} / ${(b.readNs / 1e6).toFixed(1)}`,
  );
}
const med = (f: (p: PassResult) => number, which: 'a' | 'b') => median(rows.map((r) => f(r[which])));
console.log(
  JSON.stringify({
    bench: 'sketch-table',
    add_ns_sketch_median: Math.round(med((p) => p.addNs, 'a')),
    add_ns_table_median: Math.round(med((p) => p.addNs, 'b')),
    add_speedup_median_of_pairs: Number(median(addRatios).toFixed(3)),
    add_pairs_table_faster: addRatios.filter((x) => x > 1).length,
    pairs: ROUNDS,
    allocated_mb_sketch: Number((med((p) => p.addBytes, 'a') / 1e6).toFixed(1)),
    allocated_mb_table: Number((med((p) => p.addBytes, 'b') / 1e6).toFixed(1)),
    gc_ms_sketch: Math.round(med((p) => p.addGcMs, 'a')),
    gc_ms_table: Math.round(med((p) => p.addGcMs, 'b')),
    retained_mb_sketch: Number((med((p) => p.retainedBytes, 'a') / 1e6).toFixed(1)),
    retained_mb_table: Number((med((p) => p.retainedBytes, 'b') / 1e6).toFixed(1)),
    readout_speedup_median_of_pairs: Number(median(readRatios).toFixed(3)),
  }),
);

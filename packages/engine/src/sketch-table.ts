/**
 * The processing-time sketches of all (window × scope) cells in two Int32Arrays, addressed by integer cell
 * id: no object per cell or per key, nothing allocated per add, nothing left for the collector on eviction.
 *
 * Why: one Sketch object per cell is 3+ heap objects (the sketch, its sorted key and count lists or its
 * dense array) and, as cells are created and evicted, a steady stream of garbage; the engine adds each
 * processing time to ~10 cells. This keeps Sketch's own store layout, which is what makes adds cheap
 * (a cell's keys contiguous: a few sorted pairs while they are few, then a dense count range), but puts
 * every cell's store in one arena and every cell's header in one 32-byte row.
 *
 * Measured (bench/sketch-table.bench.ts: 400,000 values, each added to its day and month × 5 scopes, 5 %
 * retracted, day cells evicted after 35 days; CPU time, alternating pairs on a loaded 2-core machine):
 * per 10-cell add, median of the paired ratios ×1.16–1.39 faster than a Sketch per cell over four runs of
 * 8–12 pairs (~700–810 ns against ~825–990 ns; 12 of 12 pairs faster in the longest run); 18 MB
 * allocated against ~100–110 MB, GC ~3–30 ms against ~120–400 ms, 17.6 MB retained against 38 MB.
 * toSketch is ~2× slower than Sketch.clone (paired median ×0.45; a JavaScript copy of a dense store
 * against clone's native slice): it runs once per changed cell and drain, not per event.
 *
 * Tried and dropped: every (cell, key) in one open-addressing hash table (one 16-byte slot per key,
 * per-cell lists of entries), as first suggested: 2.3× *slower* per add than Sketch objects and 20×
 * slower to read out (commit b18c876), as hashing scatters a cell's keys over tens of MB where this layout
 * keeps a hot cell's counts (province, channel, sector) in a few cache lines. Dense ranges with Sketch's
 * slack (half the range again on each side, then rounded up to a power of two here) gave ×0.99 against
 * Sketch objects where the tight ranges below give ×1.2–1.4: fewer hot counts stay in cache. The sparse
 * limit stays Sketch's 24 pairs: with Sketch's slack, 8 / 24 / 48 / 96 / 160 gave ×1.07 / ×0.99 / ×1.23 /
 * ×0.98 / ×0.82 against Sketch objects; with the tight ranges, 24 / 48 gave ×1.41 / ×1.31 (4–6 pairs
 * each, single runs: differences under ~20 % are within this machine's noise).
 *
 * Layout
 *  - `meta`: one row of META Int32 per cell: its region in the arena (base, capacity), the store's mode
 *    (number of sparse pairs, or DENSE), the dense range's first key, and the totals: count, zeroCount,
 *    and how many keys have a non-zero count (so isEmpty needs no scan).
 *  - `arena`: regions of power-of-two sizes (free lists per size, reused before the arena grows). A sparse
 *    store is up to SPARSE_MAX interleaved [key, count] pairs sorted by key; a dense one counts keys
 *    offset … offset + capacity - 1.
 * A key whose count returns to 0 keeps its place until the cell is cleared, as in Sketch.
 *
 * Counts, and the totals, are Int32: weights are integers (±1 in the engine, integer counts in snapshots).
 * A weight that is not an integer, or a count leaving the Int32 range, throws rather than being silently
 * truncated (Sketch would keep it as a double).
 */
import { Sketch } from './sketch.js';

const META = 8;
/** Region start in the arena, NO_REGION when the cell holds no key. */
const M_BASE = 0;
/** Region size in Int32s (a power of two). */
const M_CAP = 1;
/** Sparse pairs held, or DENSE. */
const M_MODE = 2;
/** Dense stores: the key counted at arena[base]. */
const M_OFFSET = 3;
const M_NONZERO = 4;
const M_COUNT = 5;
const M_ZEROS = 6;

const NO_REGION = -1;
const DENSE = -1;
/** Sparse pairs kept before switching to a dense range (Sketch's threshold: lookups must stay short). */
const SPARSE_MAX = 24;
const FIRST_CAP = 4;
/** Room for keys beyond the range seen when a store turns or grows dense. */
const DENSE_SLACK = 16;
/** Size classes 2^0 … 2^31 (free-list heads per class). */
const CLASSES = 32;

/** c itself; throws unless it is an integer in the Int32 range (weights must be integers; counts fit Int32). */
function checkedCount(c: number): number {
  if ((c | 0) !== c) throw new RangeError(`sketch count or weight ${c} is not an integer in the Int32 range`);
  return c;
}

function capFor(n: number): number {
  let cap = FIRST_CAP;
  while (cap < n) cap *= 2;
  return cap;
}

export class SketchTable {
  private meta: Int32Array;
  private arena: Int32Array;
  /** Arena Int32s handed out so far; regions past it were never used. */
  private top = 0;
  /** Per size class (log2 of the size), the first free region, its successor stored in its first Int32. */
  private readonly freeHead = new Int32Array(CLASSES).fill(NO_REGION);
  /** Reused by toSketch: a sparse store's non-zero keys and their counts. */
  private readonly keyBuf = new Int32Array(SPARSE_MAX);
  private readonly countBuf = new Int32Array(SPARSE_MAX);

  constructor(initialCells = 1024) {
    const cells = Math.max(1, initialCells);
    this.meta = SketchTable.newMeta(cells);
    this.arena = new Int32Array(Math.max(FIRST_CAP, capFor(cells * 16)));
  }

  private static newMeta(cells: number): Int32Array {
    const m = new Int32Array(cells * META);
    for (let c = 0; c < cells; c++) m[c * META + M_BASE] = NO_REGION;
    return m;
  }

  /** Arena Int32s in use (regions handed out and not freed), for tests and diagnostics. */
  get arenaInUse(): number {
    let free = 0;
    for (let k = 0; k < CLASSES; k++) for (let r = this.freeHead[k] as number; r !== NO_REGION; r = this.arena[r] as number) free += 2 ** k;
    return this.top - free;
  }

  /** Adds weight at key (from Sketch.keyOf; NaN = a zero value) to the cell's sketch. */
  add(cell: number, key: number, weight: number): void {
    checkedCount(weight);
    if ((cell + 1) * META > this.meta.length) this.growCells(cell + 1);
    this.addChecked(cell, key, weight);
  }

  /** Adds weight at key to each of cells[0..n) (the engine adds one value to ~10 cells; one key computation). */
  addMany(cells: Int32Array, n: number, key: number, weight: number): void {
    checkedCount(weight);
    for (let i = 0; i < n; i++) {
      const cell = cells[i] as number;
      if ((cell + 1) * META > this.meta.length) this.growCells(cell + 1);
      this.addChecked(cell, key, weight);
    }
  }

  /** add, the weight checked and the cell's row present. */
  private addChecked(cell: number, key: number, weight: number): void {
    const row = cell * META;
    const count = checkedCount((this.meta[row + M_COUNT] as number) + weight);
    if (Number.isNaN(key)) this.meta[row + M_ZEROS] = checkedCount((this.meta[row + M_ZEROS] as number) + weight);
    else this.addKey(row, key, weight);
    this.meta[row + M_COUNT] = count;
  }

  /** Adds weight at key to the store of the cell whose meta row starts at `row` (totals untouched). */
  private addKey(row: number, key: number, weight: number): void {
    const meta = this.meta;
    const mode = meta[row + M_MODE] as number;
    if (mode === DENSE) {
      let i = key - (meta[row + M_OFFSET] as number);
      if (i < 0 || i >= (meta[row + M_CAP] as number)) {
        this.growDense(row, key);
        i = key - (meta[row + M_OFFSET] as number);
      }
      this.bump((meta[row + M_BASE] as number) + i, row, weight);
      return;
    }
    const base = meta[row + M_BASE] as number;
    const a = this.arena;
    let lo = 0;
    let hi = mode;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((a[base + 2 * mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < mode && a[base + 2 * lo] === key) {
      this.bump(base + 2 * lo + 1, row, weight);
      return;
    }
    if (mode >= SPARSE_MAX) {
      this.toDense(row);
      this.addKey(row, key, weight);
      return;
    }
    this.insertPair(row, lo, key, weight);
  }

  /** Adds weight to the count at arena[at], keeping the cell's non-zero key count. */
  private bump(at: number, row: number, weight: number): void {
    const a = this.arena;
    const before = a[at] as number;
    const after = checkedCount(before + weight);
    a[at] = after;
    if (before === 0) {
      if (after !== 0) this.meta[row + M_NONZERO]!++;
    } else if (after === 0) this.meta[row + M_NONZERO]!--;
  }

  /** Inserts (key, weight) as the sparse store's pair number `at`, growing the region when full. */
  private insertPair(row: number, at: number, key: number, weight: number): void {
    const meta = this.meta;
    const n = meta[row + M_MODE] as number;
    let base = meta[row + M_BASE] as number;
    if (base === NO_REGION || 2 * (n + 1) > (meta[row + M_CAP] as number)) {
      const cap = capFor(2 * (n + 1));
      const next = this.alloc(cap);
      if (base !== NO_REGION) {
        this.arena.copyWithin(next, base, base + 2 * n);
        this.free(base, meta[row + M_CAP] as number);
      }
      base = next;
      meta[row + M_BASE] = base;
      meta[row + M_CAP] = cap;
    }
    const a = this.arena;
    // Shift the later pairs up by one in JavaScript: for a few pairs, copyWithin's runtime call costs more.
    for (let i = base + 2 * n - 1; i >= base + 2 * at; i--) a[i + 2] = a[i] as number;
    a[base + 2 * at] = key;
    a[base + 2 * at + 1] = checkedCount(weight);
    meta[row + M_MODE] = n + 1;
    if (weight !== 0) meta[row + M_NONZERO]!++;
  }

  /**
   * Turns a full sparse store into a dense range over its keys plus DENSE_SLACK, rounded up to the region's
   * power of two and centred (Sketch leaves half the range again on each side; here the rounding already
   * leaves room, and bigger regions measured slower: fewer of the hot cells' counts stay in cache).
   */
  private toDense(row: number): void {
    const meta = this.meta;
    const n = meta[row + M_MODE] as number;
    const base = meta[row + M_BASE] as number;
    const lo = this.arena[base] as number;
    const range = (this.arena[base + 2 * (n - 1)] as number) - lo + 1;
    const cap = capFor(range + DENSE_SLACK);
    const next = this.alloc(cap);
    const a = this.arena;
    a.fill(0, next, next + cap);
    const offset = lo - ((cap - range) >> 1);
    for (let j = 0; j < n; j++) a[next + (a[base + 2 * j] as number) - offset] = a[base + 2 * j + 1] as number;
    this.free(base, meta[row + M_CAP] as number);
    meta[row + M_BASE] = next;
    meta[row + M_CAP] = cap;
    meta[row + M_MODE] = DENSE;
    meta[row + M_OFFSET] = offset;
  }

  /**
   * Widens a dense range to take `key`: the next power of two that holds the old range, the key and
   * DENSE_SLACK (so at least doubling), all the new room on the side that moved (a drifting range
   * reallocates rarely).
   */
  private growDense(row: number, key: number): void {
    const meta = this.meta;
    const base = meta[row + M_BASE] as number;
    const n = meta[row + M_CAP] as number;
    const offset = meta[row + M_OFFSET] as number;
    const below = key < offset;
    const cap = capFor((below ? offset + n - key : key - offset + 1) + DENSE_SLACK);
    const newOffset = below ? offset + n - cap : offset;
    const next = this.alloc(cap);
    const a = this.arena;
    a.fill(0, next, next + cap);
    a.copyWithin(next + offset - newOffset, base, base + n);
    this.free(base, n);
    meta[row + M_BASE] = next;
    meta[row + M_CAP] = cap;
    meta[row + M_OFFSET] = newOffset;
  }

  /** A region of `cap` Int32s (a power of two), from its free list or the arena's end (growing it). */
  private alloc(cap: number): number {
    const k = 31 - Math.clz32(cap);
    const f = this.freeHead[k] as number;
    if (f !== NO_REGION) {
      this.freeHead[k] = this.arena[f] as number;
      return f;
    }
    if (this.top + cap > this.arena.length) {
      let len = this.arena.length * 2;
      while (this.top + cap > len) len *= 2;
      const next = new Int32Array(len);
      next.set(this.arena.subarray(0, this.top));
      this.arena = next;
    }
    const r = this.top;
    this.top += cap;
    return r;
  }

  private free(base: number, cap: number): void {
    const k = 31 - Math.clz32(cap);
    this.arena[base] = this.freeHead[k] as number;
    this.freeHead[k] = base;
  }

  /** True when the cell's sketch is empty (count 0, zeroCount 0, every key's count 0), as Sketch.isEmpty. */
  isEmpty(cell: number): boolean {
    if ((cell + 1) * META > this.meta.length) return true;
    const row = cell * META;
    const m = this.meta;
    return m[row + M_COUNT] === 0 && m[row + M_ZEROS] === 0 && m[row + M_NONZERO] === 0;
  }

  /** The cell's sketch as a new Sketch (for partials and snapshots), or null when isEmpty. */
  toSketch(cell: number): Sketch | null {
    if (this.isEmpty(cell)) return null;
    const row = cell * META;
    const m = this.meta;
    const a = this.arena;
    const base = m[row + M_BASE] as number;
    const mode = m[row + M_MODE] as number;
    if (mode === DENSE) {
      // Copy the range between the first and the last non-zero count as it is (one pass, no key list).
      let first = base;
      let last = base + (m[row + M_CAP] as number) - 1;
      while (first <= last && a[first] === 0) first++;
      while (last >= first && a[last] === 0) last--;
      return Sketch.fromDense(a, first, last - first + 1, (m[row + M_OFFSET] as number) + first - base, m[row + M_COUNT] as number, m[row + M_ZEROS] as number);
    }
    const ks = this.keyBuf;
    const cs = this.countBuf;
    let j = 0;
    for (let p = 0; p < mode; p++) {
      const c = a[base + 2 * p + 1] as number;
      if (c === 0) continue;
      ks[j] = a[base + 2 * p] as number;
      cs[j++] = c;
    }
    return Sketch.fromSorted(ks, cs, j, m[row + M_COUNT] as number, m[row + M_ZEROS] as number);
  }

  /** Sets the cell's content from a Sketch (snapshot restore); whatever the cell held is replaced. */
  load(cell: number, s: Sketch): void {
    this.clear(cell);
    if ((cell + 1) * META > this.meta.length) this.growCells(cell + 1);
    const row = cell * META;
    const count = checkedCount(s.count);
    const zeros = checkedCount(s.zeroCount);
    // Keys come in ascending order: each insert appends (no shifting).
    s.forEach((key, c) => this.addKey(row, key, checkedCount(c)));
    this.meta[row + M_COUNT] = count;
    this.meta[row + M_ZEROS] = zeros;
  }

  /** Forgets the cell's sketch (cell evicted, its id will be reused): its region goes back to the free list. */
  clear(cell: number): void {
    if ((cell + 1) * META > this.meta.length) return;
    const row = cell * META;
    const m = this.meta;
    const base = m[row + M_BASE] as number;
    if (base !== NO_REGION) this.free(base, m[row + M_CAP] as number);
    m.fill(0, row, row + META);
    m[row + M_BASE] = NO_REGION;
  }

  private growCells(min: number): void {
    let cells = this.meta.length / META;
    while (cells < min) cells *= 2;
    const next = SketchTable.newMeta(cells);
    next.set(this.meta);
    this.meta = next;
  }
}

/**
 * Window instances and their cells: one cell per (window, scope), holding that partition's measures and
 * processing-time sketch. Facts are applied directly to every cell they touch (≤ 3 windows × 5 scopes), so
 * a cell is always current and a changed cell is simply marked dirty for the next `drainChanges()`.
 *
 * Lifecycle of a calendar window: created on first touch; *closed* once the clock passes end + allowed
 * lateness (its cells are re-published with closed = true); a fact landing after that marks the cell
 * *revised*; *evicted* once the clock passes end + retention (its keys are reported so the aggregator can
 * tombstone them); a fact for an evicted window is dropped and counted. Minute windows (rolling_1h) never
 * close; they are evicted after their own, short retention.
 */
import { MEASURE_COUNT } from './measures.js';
import { SCOPES_PER_COMBO } from './scopes.js';
import { Sketch } from './sketch.js';
import { WK, civilYearMonth, localDay, windowEnd, windowIndex, windowStart } from './time.js';

const CHUNK_BITS = 6;
const CHUNK = 1 << CHUNK_BITS;

export class WindowInst {
  /**
   * Cells by scope id, in chunks of 64: a window touches few of the thousands of scopes, and short-lived
   * minute windows must not pay for an array as long as the scope table.
   */
  private chunks: (Cell | undefined)[][] = [];
  closed = false;
  evicted = false;
  constructor(
    readonly kind: WK,
    readonly index: number,
    readonly startSec: number,
    readonly endSec: number,
    /** Evicted once the clock reaches this (Accumulator.keepUntil); fixed by the retention settings. */
    readonly keepUntilSec: number,
  ) {}

  get(scope: number): Cell | undefined {
    const chunk = this.chunks[scope >> CHUNK_BITS];
    return chunk === undefined ? undefined : chunk[scope & (CHUNK - 1)];
  }

  set(scope: number, c: Cell): void {
    const ci = scope >> CHUNK_BITS;
    while (this.chunks.length <= ci) this.chunks.push(undefined as unknown as (Cell | undefined)[]);
    let chunk = this.chunks[ci];
    if (chunk === undefined) {
      chunk = new Array<Cell | undefined>(CHUNK).fill(undefined);
      this.chunks[ci] = chunk;
    }
    chunk[scope & (CHUNK - 1)] = c;
  }

  forEachCell(fn: (c: Cell) => void): void {
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks[i];
      if (chunk === undefined) continue;
      for (let j = 0; j < CHUNK; j++) {
        const c = chunk[j];
        if (c !== undefined) fn(c);
      }
    }
  }

  cells(): Cell[] {
    const out: Cell[] = [];
    this.forEachCell((c) => out.push(c));
    return out;
  }
}

/**
 * A (window, scope) cell. Its measures live in the accumulator's shared slab at [off, off + MEASURE_COUNT):
 * one big Float64Array instead of one small typed array per cell, which V8 allocates and frees slowly.
 */
export class Cell {
  sketch: Sketch | null = null;
  dirty = false;
  revised = false;
  /** partialKey of this cell, filled in when first published. */
  key: string | undefined = undefined;
  constructor(
    readonly win: WindowInst,
    readonly scope: number,
    readonly off: number,
  ) {}
}

export interface WindowTiming {
  allowedLatenessSec: number;
  /**
   * Seconds after a window's end during which it is kept, per kind (minute, day, month, quarter, year).
   * Quarters and years are not held (they are sums of months): their retention keeps the months that form
   * them, so a month lives until the latest of its own, its quarter's and its year's end plus retention
   * (-Infinity for quarter or year: not set).
   */
  retentionSec: readonly [number, number, number, number, number];
}

/** An evicted cell, as reported by drain(): its window, scope and (when it was ever published) key. */
export type EvictedKey = Pick<Cell, 'win' | 'scope' | 'key'>;

// Quarters and years are not accumulated: they are sums of months, formed when evaluating (evaluate.ts).
// That saves two of every five cell updates per fact.
const CAL_KINDS = [WK.Day, WK.Month] as const;

const MC = MEASURE_COUNT;

export class Accumulator {
  /** Measures of every cell, MEASURE_COUNT per cell (see Cell.off). */
  m = new Float64Array(MC * 1024);
  private slabUsed = 0;
  private freeOffs: number[] = [];
  readonly byKind: Map<number, WindowInst>[] = [new Map(), new Map(), new Map(), new Map(), new Map()];
  readonly now = new WindowInst(WK.Now, 0, 0, 0, Infinity);
  dirty: Cell[] = [];
  evicted: EvictedKey[] = [];
  /** Facts dropped because their window was already evicted (too late even for retention). */
  lateDropped = 0;
  nowSec = 0;
  private minuteFloorSec = 0;

  // Up to 3 windows (day, month, minute) × 5 scopes cells resolved for one fact, and their slab offsets.
  readonly scratch: Cell[] = new Array<Cell>(15);
  private readonly offs = new Int32Array(15);
  private dayCache = new Map<number, (WindowInst | null)[]>();
  private lastDay = -1;
  private lastCtx: (WindowInst | null)[] | null = null;
  private lastMinuteIdx = -1;
  private lastMinute: WindowInst | null = null;

  constructor(
    private readonly timing: WindowTiming,
    private combos: { scopes: Int32Array },
  ) {}

  setCombos(combos: { scopes: Int32Array }): void {
    this.combos = combos;
  }

  /**
   * Keep-until time of a window: end + max(allowed lateness, retention) (minute: retention only; month: also
   * its quarter's and year's end + their retention, as quarters and years are read from the months).
   */
  keepUntil(kind: WK, index: number): number {
    const r = this.timing.retentionSec;
    const end = windowEnd(kind, index);
    if (kind === WK.Minute) return end + r[WK.Minute];
    let keep = end + Math.max(this.timing.allowedLatenessSec, (r as readonly number[])[kind] as number);
    if (kind === WK.Month) {
      const y = Math.floor(index / 12);
      keep = Math.max(keep, windowEnd(WK.Quarter, y * 4 + Math.floor((index % 12) / 3)) + r[WK.Quarter], windowEnd(WK.Year, y) + r[WK.Year]);
    }
    return keep;
  }

  getWindow(kind: WK, index: number): WindowInst | null {
    const map = this.byKind[kind] as Map<number, WindowInst>;
    let w = map.get(index);
    if (w !== undefined) return w;
    const keep = this.keepUntil(kind, index);
    if (keep <= this.nowSec) return null;
    w = new WindowInst(kind, index, windowStart(kind, index), windowEnd(kind, index), keep);
    if (kind !== WK.Minute && this.nowSec >= w.endSec + this.timing.allowedLatenessSec) w.closed = true;
    map.set(index, w);
    return w;
  }

  private calendarWindows(tSec: number): (WindowInst | null)[] {
    const day = localDay(tSec);
    if (day === this.lastDay && this.lastCtx !== null) return this.lastCtx;
    let ctx = this.dayCache.get(day);
    if (ctx === undefined) {
      const { y, m } = civilYearMonth(day);
      ctx = [this.getWindow(WK.Day, day), this.getWindow(WK.Month, y * 12 + m - 1)];
      if (this.dayCache.size > 4096) this.dayCache.clear();
      this.dayCache.set(day, ctx);
    }
    this.lastDay = day;
    this.lastCtx = ctx;
    return ctx;
  }

  private allocOff(): number {
    const free = this.freeOffs.pop();
    if (free !== undefined) {
      // A loop, not m.fill(0, …): for a few dozen elements the builtin's call costs more than the stores.
      const m = this.m;
      for (let i = free; i < free + MC; i++) m[i] = 0;
      return free;
    }
    if (this.slabUsed + MC > this.m.length) {
      const next = new Float64Array(this.m.length * 2);
      next.set(this.m);
      this.m = next;
    }
    const off = this.slabUsed;
    this.slabUsed += MC;
    return off;
  }

  private newCell(w: WindowInst, scope: number): Cell {
    const c = new Cell(w, scope, this.allocOff());
    w.set(scope, c);
    return c;
  }

  private cell(w: WindowInst, scope: number): Cell {
    let c = w.get(scope);
    if (c === undefined) c = this.newCell(w, scope);
    if (!c.dirty) {
      c.dirty = true;
      this.dirty.push(c);
    }
    if (w.closed) c.revised = true;
    return c;
  }

  private addCells(w: WindowInst, combo: number, n: number): number {
    const s = this.combos.scopes;
    const o = combo * SCOPES_PER_COMBO;
    for (let k = 0; k < SCOPES_PER_COMBO; k++) {
      const scope = s[o + k] as number;
      if (scope >= 0) {
        const c = this.cell(w, scope);
        this.scratch[n] = c;
        this.offs[n++] = c.off;
      }
    }
    return n;
  }

  /**
   * What the last resolve() left in scratch/offs, so that the next fact of the same dossier in the same
   * day, minute (or none) and combo — received and fee facts often are — reuses it: its cells are already
   * resolved, dirty and marked revised where closed. Anything that could change that answer or overwrite
   * scratch (resolveNow, advance, drain) clears it.
   */
  private memoValid = false;
  private memoDay = 0;
  private memoMinute = 0;
  private memoCombo = 0;
  private memoN = 0;
  private memoDropped = false;

  /** Resolves (and marks dirty) every cell a fact at `tSec` for `combo` updates; returns how many. */
  resolve(tSec: number, combo: number): number {
    const day = localDay(tSec);
    const minute = tSec < this.minuteFloorSec ? -1 : Math.floor(tSec / 60);
    if (this.memoValid && day === this.memoDay && minute === this.memoMinute && combo === this.memoCombo) {
      if (this.memoDropped) this.lateDropped++;
      return this.memoN;
    }
    const n = this.resolveCells(tSec, combo);
    this.memoValid = true;
    this.memoDay = day;
    this.memoMinute = minute;
    this.memoCombo = combo;
    this.memoN = n;
    return n;
  }

  private resolveCells(tSec: number, combo: number): number {
    let n = 0;
    const cal = this.calendarWindows(tSec);
    let dropped = false;
    for (let i = 0; i < 2; i++) {
      const w = cal[i] as WindowInst | null;
      if (w === null || w.evicted) dropped = true;
      else n = this.addCells(w, combo, n);
    }
    if (dropped) this.lateDropped++;
    this.memoDropped = dropped;
    // Most facts about old dossiers are far outside the rolling hour: skip the minute look-up for them.
    if (tSec < this.minuteFloorSec) return n;
    const minuteIdx = Math.floor(tSec / 60);
    if (minuteIdx !== this.lastMinuteIdx || this.lastMinute === null || this.lastMinute.evicted) {
      this.lastMinuteIdx = minuteIdx;
      this.lastMinute = this.getWindow(WK.Minute, minuteIdx);
    }
    if (this.lastMinute !== null) n = this.addCells(this.lastMinute, combo, n);
    return n;
  }

  /** Creates the province gauge cell, so in_process / overdue read 0 rather than nothing before any dossier. */
  ensureNowProvince(): void {
    this.cell(this.now, 0);
  }

  resolveNow(combo: number): number {
    this.memoValid = false;
    return this.addCells(this.now, combo, 0);
  }

  applyMask(n: number, base: number, mask: number, sign: number): void {
    const m = this.m;
    const offs = this.offs;
    while (mask !== 0) {
      const bit = 31 - Math.clz32(mask);
      mask &= ~(1 << bit);
      const idx = base + bit;
      for (let i = 0; i < n; i++) m[(offs[i] as number) + idx]! += sign;
    }
  }

  applyValue(n: number, idx: number, delta: number): void {
    if (delta === 0) return;
    const m = this.m;
    const offs = this.offs;
    for (let i = 0; i < n; i++) m[(offs[i] as number) + idx]! += delta;
  }

  applySketch(n: number, value: number, weight: number): void {
    const key = Sketch.keyOf(value);
    for (let i = 0; i < n; i++) {
      const c = this.scratch[i] as Cell;
      (c.sketch ??= new Sketch()).addPrecomputed(key, weight);
    }
  }

  /** Measures of a cell, copied out. */
  measuresOf(c: Cell): Float64Array {
    return this.m.slice(c.off, c.off + MC);
  }

  measure(c: Cell, idx: number): number {
    return this.m[c.off + idx] as number;
  }

  /** Advances the clock: closes windows past end + lateness, evicts those past retention. */
  advance(nowSec: number): void {
    this.memoValid = false;
    if (nowSec <= this.nowSec) return;
    this.nowSec = nowSec;
    this.minuteFloorSec = nowSec - (this.timing.retentionSec[WK.Minute] as number) - 60;
    let evictedAny = false;
    for (let kind = 0; kind < 5; kind++) {
      const map = this.byKind[kind] as Map<number, WindowInst>;
      for (const w of map.values()) {
        if (w.keepUntilSec <= nowSec) {
          w.evicted = true;
          evictedAny = true;
          map.delete(w.index);
          // The cell itself is the eviction record: it already holds its window and usually its key.
          w.forEachCell((c) => {
            this.evicted.push(c);
            this.freeOffs.push(c.off);
          });
          continue;
        }
        if (kind !== WK.Minute && !w.closed && nowSec >= w.endSec + this.timing.allowedLatenessSec) {
          w.closed = true;
          w.forEachCell((c) => {
            if (!c.dirty) {
              c.dirty = true;
              this.dirty.push(c);
            }
          });
        }
      }
    }
    if (evictedAny) {
      this.dayCache.clear();
      this.lastCtx = null;
      this.lastMinute = null;
    }
    if (this.dirty.length > 0 && evictedAny) this.dirty = this.dirty.filter((c) => !c.win.evicted);
  }

  /** Cells changed since the last drain (each once), and window keys evicted since then. */
  drain(): { cells: Cell[]; evicted: EvictedKey[] } {
    this.memoValid = false;
    const cells = this.dirty.filter((c) => !c.win.evicted);
    for (const c of this.dirty) c.dirty = false;
    this.dirty = [];
    const evicted = this.evicted;
    this.evicted = [];
    return { cells, evicted };
  }

  *allCells(): IterableIterator<Cell> {
    for (const map of this.byKind) for (const w of map.values()) yield* w.cells();
    yield* this.now.cells();
  }

  /** Restores the clock from a snapshot without closing or evicting anything. */
  restoreClock(nowSec: number): void {
    this.nowSec = nowSec;
    this.minuteFloorSec = nowSec - (this.timing.retentionSec[WK.Minute] as number) - 60;
  }

  restoreWindow(kind: WK, index: number, closed: boolean): WindowInst {
    const w = kind === WK.Now ? this.now : new WindowInst(kind, index, windowStart(kind, index), windowEnd(kind, index), this.keepUntil(kind, index));
    w.closed = closed;
    if (kind !== WK.Now) (this.byKind[kind] as Map<number, WindowInst>).set(index, w);
    return w;
  }

  restoreCell(w: WindowInst, scope: number): Cell {
    return this.newCell(w, scope);
  }

  /** Index of `kind`'s window holding tSec (exposed for tests and the snapshot). */
  static indexOf(kind: WK, tSec: number): number {
    return windowIndex(kind, tSec);
  }

  static readonly calendarKinds = CAL_KINDS;
}

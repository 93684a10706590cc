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
import { EngineDecodeError } from './errors.js';
import { M, MEASURE_COUNT } from './measures.js';
import type { WindowRef } from './partials.js';
import { SCOPES_PER_COMBO } from './scopes.js';
import { Sketch } from './sketch.js';
import { SketchLog } from './sketch-log.js';
import { SketchTable } from './sketch-table.js';
import { WK, civilYearMonth, localDay, windowEnd, windowIndex, windowStart } from './time.js';

export class WindowInst {
  /**
   * Cell id by scope id (-1 = none), grown to the highest scope touched: a window touches a few hundred
   * scopes at most, and a look-up is one typed-array load.
   */
  cellByScope: Int32Array = NO_CELLS;
  closed = false;
  evicted = false;
  /** The window as published (engine.ts), built on first use. */
  ref: WindowRef | undefined = undefined;
  constructor(
    readonly kind: WK,
    readonly index: number,
    readonly startSec: number,
    readonly endSec: number,
    /** Evicted once the clock reaches this (Accumulator.keepUntil); fixed by the retention settings. */
    readonly keepUntilSec: number,
  ) {}

  get(scope: number): number {
    const t = this.cellByScope;
    return scope < t.length ? (t[scope] as number) : -1;
  }

  set(scope: number, cell: number): void {
    if (scope >= this.cellByScope.length) this.reserve(scope + 1);
    this.cellByScope[scope] = cell;
  }

  /** Makes room for scope ids below n (doubling from 64). */
  reserve(n: number): void {
    const t = this.cellByScope;
    if (n <= t.length) return;
    let size = Math.max(64, t.length);
    while (size < n) size *= 2;
    const next = new Int32Array(size).fill(-1);
    next.set(t);
    this.cellByScope = next;
  }

  /** Cell ids of this window, in scope order. */
  cells(): number[] {
    const out: number[] = [];
    const t = this.cellByScope;
    for (let i = 0; i < t.length; i++) if ((t[i] as number) >= 0) out.push(t[i] as number);
    return out;
  }
}

const NO_CELLS = new Int32Array(0);

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
export interface EvictedKey {
  win: WindowInst;
  scope: number;
  key: string | undefined;
}

// Quarters and years are not accumulated: they are sums of months, formed when evaluating (evaluate.ts).
// That saves two of every five cell updates per fact.
const CAL_KINDS = [WK.Day, WK.Month] as const;

const MC = MEASURE_COUNT;
const M_PROC_SUM = M.procSum;
// Cell flag bits.
const DIRTY = 1;
const REVISED = 2;

/**
 * Every (window, scope) cell of a partition, as integer ids into typed arrays: measures (MEASURE_COUNT per
 * cell in one Float64Array), flags, scope, and a sketch per cell in a SketchTable. Ids of evicted cells are
 * reused. Why ids rather than a Cell object per cell: resolving the ~10 cells of a fact read each cell's
 * object (a cache miss apiece, the objects scattered over the heap) and every window held JS arrays of them;
 * now a fact reads one Int32Array entry per cell and a flag byte from an array small enough to stay cached.
 */
export class Accumulator {
  /**
   * Counting measures of every cell, MEASURE_COUNT per cell: cell c at [c * MEASURE_COUNT, (c + 1) *
   * MEASURE_COUNT). Int32, not Float64: every measure but one is a count of dossiers or events (far below
   * 2^31 in one partition's cell), and at 4 bytes a fact's family of measures spans one or two cache lines
   * instead of two or three. The one sum that can pass 2^31, processing seconds, lives in `procSum`; its
   * slot here stays 0.
   */
  private m = new Int32Array(MC * 1024);
  /** processing_seconds_sum per cell. */
  private procSum = new Float64Array(1024);
  /** DIRTY | REVISED per cell. */
  private flags = new Uint8Array(1024);
  private scopeOf = new Int32Array(1024);
  private winOf: (WindowInst | undefined)[] = [];
  /** partialKey of each cell, filled in by the engine when first published (engine.ts). */
  readonly keys: (string | undefined)[] = [];
  private readonly sketches = new SketchTable(1024);
  /** Processing-time values not yet added to `sketches` (see sketch-log.ts). */
  private readonly sketchLog = new SketchLog(this.sketches);
  private cellsUsed = 0;
  /** Length of the widest window's cell table (new windows start that wide). */
  private scopeSpan = 0;
  private freeCells: number[] = [];
  /** Cells held (allocated and not evicted). */
  live = 0;

  readonly byKind: Map<number, WindowInst>[] = [new Map(), new Map(), new Map(), new Map(), new Map()];
  readonly now = new WindowInst(WK.Now, 0, 0, 0, Infinity);
  private dirty: number[] = [];
  private evicted: EvictedKey[] = [];
  /** Facts dropped because their window was already evicted (too late even for retention). */
  lateDropped = 0;
  nowSec = 0;
  private minuteFloorSec = 0;

  // Up to 3 windows (day, month, minute) × 5 scopes cells resolved for one fact: their ids and slab offsets.
  private readonly ids = new Int32Array(15);
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
    // Sized like the widest window so far: a minute window is born every minute and would otherwise grow
    // its table three or four times on the way to the few hundred scopes of its first facts.
    w.reserve(this.scopeSpan);
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

  // ---- cells ----------------------------------------------------------------------------------------

  private newCell(w: WindowInst, scope: number): number {
    let c = this.freeCells.pop();
    if (c !== undefined) {
      // A loop, not m.fill(0, …): for a few dozen elements the builtin's call costs more than the stores.
      const m = this.m;
      const o = c * MC;
      for (let i = o; i < o + MC; i++) m[i] = 0;
      this.procSum[c] = 0;
    } else {
      c = this.cellsUsed++;
      if (c >= this.flags.length) this.growCells(this.flags.length * 2);
    }
    this.flags[c] = 0;
    this.scopeOf[c] = scope;
    this.winOf[c] = w;
    this.keys[c] = undefined;
    w.set(scope, c);
    if (w.cellByScope.length > this.scopeSpan) this.scopeSpan = w.cellByScope.length;
    this.live++;
    return c;
  }

  private growCells(n: number): void {
    const m = new Int32Array(n * MC);
    m.set(this.m);
    this.m = m;
    const ps = new Float64Array(n);
    ps.set(this.procSum);
    this.procSum = ps;
    const f = new Uint8Array(n);
    f.set(this.flags);
    this.flags = f;
    const sc = new Int32Array(n);
    sc.set(this.scopeOf);
    this.scopeOf = sc;
  }

  private markDirty(c: number): void {
    const f = this.flags[c] as number;
    if ((f & DIRTY) === 0) {
      this.flags[c] = f | DIRTY;
      this.dirty.push(c);
    }
  }

  private addCells(w: WindowInst, combo: number, n: number): number {
    const s = this.combos.scopes;
    const o = combo * SCOPES_PER_COMBO;
    const t = w.cellByScope;
    const flags = this.flags;
    const mark = w.closed ? DIRTY | REVISED : DIRTY;
    for (let k = 0; k < SCOPES_PER_COMBO; k++) {
      const scope = s[o + k] as number;
      if (scope < 0) continue;
      let c = scope < t.length ? (t[scope] as number) : -1;
      if (c < 0) c = this.newCell(w, scope);
      const f = flags[c] as number;
      if ((f & mark) !== mark) {
        if ((f & DIRTY) === 0) this.dirty.push(c);
        flags[c] = f | mark;
      }
      this.ids[n] = c;
      this.offs[n++] = c * MC;
    }
    return n;
  }

  /**
   * What the last resolve() left in ids/offs, so that the next fact of the same dossier in the same
   * day, minute (or none) and combo — received and fee facts often are — reuses it: its cells are already
   * resolved, dirty and marked revised where closed. Anything that could change that answer or overwrite
   * ids/offs (resolveNow, advance, drain) clears it.
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
    let c = this.now.get(0);
    if (c < 0) c = this.newCell(this.now, 0);
    this.markDirty(c);
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

  /** Adds delta to counting measure idx (not processing_seconds_sum: applyProcSum) of the resolved cells. */
  applyValue(n: number, idx: number, delta: number): void {
    if (delta === 0) return;
    const m = this.m;
    const offs = this.offs;
    for (let i = 0; i < n; i++) m[(offs[i] as number) + idx]! += delta;
  }

  applyProcSum(n: number, delta: number): void {
    const ps = this.procSum;
    const ids = this.ids;
    for (let i = 0; i < n; i++) ps[ids[i] as number]! += delta;
  }

  applySketch(n: number, value: number, weight: number): void {
    this.sketchLog.addMany(this.ids, n, Sketch.keyOf(value), weight);
  }

  // ---- reading cells --------------------------------------------------------------------------------

  measure(c: number, idx: number): number {
    return idx === M_PROC_SUM ? (this.procSum[c] as number) : (this.m[c * MC + idx] as number);
  }

  /** Copies the cell's measures into out[at, at + MEASURE_COUNT). */
  copyMeasures(c: number, out: Float64Array, at: number): void {
    const m = this.m;
    const from = c * MC;
    for (let j = 0; j < MC; j++) out[at + j] = m[from + j] as number;
    out[at + M_PROC_SUM] = this.procSum[c] as number;
  }

  windowOf(c: number): WindowInst {
    return this.winOf[c] as WindowInst;
  }

  scopeIdOf(c: number): number {
    return this.scopeOf[c] as number;
  }

  revised(c: number): boolean {
    return ((this.flags[c] as number) & REVISED) !== 0;
  }

  /** The cell's sketch as a new Sketch, or null when empty. */
  sketchOf(c: number): Sketch | null {
    this.sketchLog.flush(this.cellsUsed);
    return this.sketches.toSketch(c);
  }

  // ---- clock ----------------------------------------------------------------------------------------

  /**
   * Called before the facts pending for a clock move to `nowSec` are applied: facts whose minute bucket that
   * move evicts skip it. The engine applies a batch's facts just before it moves the clock past them, and a
   * batch often spans more than the rolling hour; without this each such fact created a minute window (and
   * cells, and sketch entries) that the same advance evicted again, reported as a tombstone of a key never
   * published.
   */
  prepareAdvance(nowSec: number): void {
    const floor = nowSec - (this.timing.retentionSec[WK.Minute] as number) - 60;
    if (floor <= this.minuteFloorSec) return;
    this.minuteFloorSec = floor;
    this.memoValid = false;
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
          for (const c of w.cells()) this.evictCell(w, c);
          continue;
        }
        if (kind !== WK.Minute && !w.closed && nowSec >= w.endSec + this.timing.allowedLatenessSec) {
          w.closed = true;
          for (const c of w.cells()) this.markDirty(c);
        }
      }
    }
    if (evictedAny) {
      this.dayCache.clear();
      this.lastCtx = null;
      this.lastMinute = null;
      // Evicted cells were unflagged (their ids are free): drop them from the dirty list before any reuse.
      const flags = this.flags;
      this.dirty = this.dirty.filter((c) => ((flags[c] as number) & DIRTY) !== 0);
    }
  }

  private evictCell(w: WindowInst, c: number): void {
    this.evicted.push({ win: w, scope: this.scopeOf[c] as number, key: this.keys[c] });
    this.flags[c] = 0;
    this.winOf[c] = undefined;
    this.keys[c] = undefined;
    this.sketchLog.flush(this.cellsUsed); // logged values of c land before c is cleared and its id reused
    this.sketches.clear(c);
    this.freeCells.push(c);
    this.live--;
  }

  /** Cells changed since the last drain (each once), and window keys evicted since then. */
  drain(): { cells: number[]; evicted: EvictedKey[] } {
    this.memoValid = false;
    const cells = this.dirty;
    const flags = this.flags;
    for (const c of cells) flags[c] = (flags[c] as number) & ~DIRTY;
    this.dirty = [];
    const evicted = this.evicted;
    this.evicted = [];
    return { cells, evicted };
  }

  /** Every held cell: windows by kind, then the now window. */
  allCells(): number[] {
    const out: number[] = [];
    for (const map of this.byKind) for (const w of map.values()) for (const c of w.cells()) out.push(c);
    for (const c of this.now.cells()) out.push(c);
    return out;
  }

  /** Marks every held cell changed (after a restore, so the next drain re-publishes everything). */
  markAllDirty(): void {
    for (const c of this.allCells()) this.markDirty(c);
  }

  // ---- restore --------------------------------------------------------------------------------------

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

  /** A restored cell with its measures, revised flag and sketch. */
  restoreCell(w: WindowInst, scope: number, measures: Float64Array, revised: boolean, sketch: Sketch | null): number {
    for (let j = 0; j < MC; j++) {
      const v = measures[j] as number;
      if (j !== M_PROC_SUM && (v | 0) !== v) throw new EngineDecodeError(`snapshot measure ${j} of a cell is ${v}, not a count`);
    }
    const c = this.newCell(w, scope);
    for (let j = 0; j < MC; j++) this.m[c * MC + j] = j === M_PROC_SUM ? 0 : (measures[j] as number);
    this.procSum[c] = measures[M_PROC_SUM] as number;
    if (revised) this.flags[c] = REVISED;
    if (sketch !== null) {
      try {
        this.sketches.load(c, sketch);
      } catch (err) {
        // The table keeps Int32 counts and refuses others with a RangeError: for a snapshot, bad input.
        if (err instanceof RangeError) throw new EngineDecodeError(`snapshot sketch of a cell: ${err.message}`);
        throw err;
      }
    }
    return c;
  }

  /** Index of `kind`'s window holding tSec (exposed for tests and the snapshot). */
  static indexOf(kind: WK, tSec: number): number {
    return windowIndex(kind, tSec);
  }

  static readonly calendarKinds = CAL_KINDS;
}

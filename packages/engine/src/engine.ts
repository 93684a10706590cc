/**
 * One partition's streaming engine: dossier state machines (rules.ts) over compact state (store.ts), facts
 * applied to window cells (windows.ts), gauges kept current by deadline timers, all of it snapshot-able.
 *
 * How order-independence is achieved: every indicator fact is a function of a dossier's *current* state
 * (its "signature": which facts it contributes, at which times, in which scopes). Applying an event
 * captures the signature before and after the state change and applies the difference — retracting what
 * no longer holds, adding what now does. The cells therefore always equal the sum over dossiers of their
 * current signatures, whatever the order the events came in. Gauges also depend on the clock; each
 * dossier's accounted gauge bits are stored, and timers re-evaluate a dossier when its deadline passes.
 *
 * Pure: no I/O. The clock is injected (`advance(nowMs)`); nothing here reads the wall clock by itself.
 */
import type { Catalog } from '@iocbus/catalog';
import type { DossierEvent } from '@iocbus/events';
import { EngineConfigError } from './errors.js';
import { E_BASE, F_BASE, G_BASE, M, MEASURE_COUNT, RAT_BASE, R_BASE } from './measures.js';
import { partialKey, windowRef, type IndicatorPartial, type WindowRef } from './partials.js';
import { endedOf, ended, feeMask, gauge, gaugeOf, receivedMask } from './rules.js';
import { ComboTable, ScopeTable, type ScopeRef } from './scopes.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { D_COMBO, D_END_AT, D_END_KIND, D_EV_COUNT, D_FEE_AT, D_FLAGS, D_FP_HEAD, D_LAST_AT, D_RATE_AT, D_RECV_AT, DossierStore, END_NONE, F_PENDING, F_FEE_ANY, F_G_MASK, F_G_SHIFT, F_HAS_RECV, F_RARE, F_RATED, F_RATING, F_RATING_SHIFT, ROW } from './store.js';
import { CHANNEL_NAMES, Lifecycle, toSec, typeCode, type LifecycleHost } from './lifecycle.js';
import { kindName } from './time.js';
import { TimerHeap } from './timers.js';
import { Accumulator, type WindowInst } from './windows.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface RetentionOptions {
  /** How long minute buckets (rolling_1h) are kept after they end. Default 2 h. */
  minuteMs?: number;
  /** How long day windows are kept after they end (never less than the allowed lateness). Default 35 days. */
  dayMs?: number;
  /** How long month windows are kept after they end. Quarters and years are sums of months, so the default,
   * 2 years, keeps last year complete all through this year. */
  monthMs?: number;
  /** How long a quarter stays complete after it ends: its months are kept at least until then. Default:
   * no such floor (monthMs alone decides). */
  quarterMs?: number;
  /** How long a year stays complete after it ends: its months are kept at least until then. Default: no
   * such floor. */
  yearMs?: number;
  /** An ended dossier is forgotten this long after its endAt (later events about it are then ignored). */
  endedDossierMs?: number;
  /** A dossier never received is forgotten this long after its latest event. */
  orphanDossierMs?: number;
}

export interface PartitionEngineOptions {
  /** Unit and procedure catalog: unit groups, and procedure sector / paper-result defaults. */
  catalog: Catalog;
  /** A calendar window is closed once the clock passes its end plus this; later facts mark it revised. */
  allowedLatenessMs: number;
  /** Clock used by `advance()` when called without a time, and for the initial time. */
  clock?: () => number;
  retention?: RetentionOptions;
  /** Dossier slots to allocate up front (grows by half when exceeded). */
  initialCapacity?: number;
  /** How often (clock time) the sweep that forgets old dossiers runs. Default 1 h. */
  sweepIntervalMs?: number;
}

export interface EngineStats {
  /** Events applied (not counting duplicates). */
  applied: number;
  duplicates: number;
  /** Dossiers currently held (open, ended within retention, or not yet received). */
  dossiers: number;
  /** Dossiers received and not ended, in this partition. */
  open: number;
  /** Facts that could not update some window because it was already evicted. */
  lateDropped: number;
  /** Dossiers forgotten by the retention sweep. */
  dossiersEvicted: number;
  /** Window × scope cells currently held. */
  cells: number;
}

export interface EvictedPartial {
  key: string;
  window: WindowRef;
  scope: ScopeRef;
}

export interface PartialChanges {
  /** Partials changed since the previous call, each with its full current value. */
  updated: IndicatorPartial[];
  /** Partials whose window passed retention and is no longer held (publish a tombstone). */
  evicted: EvictedPartial[];
}

export interface PartitionEngine {
  /** Applies one event; false when it is a duplicate (same source and id already seen for the dossier). */
  apply(event: DossierEvent): boolean;
  /** Moves the clock forward (never back): fires overdue timers, closes and evicts windows, sweeps dossiers. */
  advance(nowMs?: number): void;
  /** The engine's current time (ms), as last advanced. */
  readonly nowMs: number;
  /** Every partial currently held. */
  partials(): IndicatorPartial[];
  /** Partials changed (and evicted) since the previous call. */
  drainChanges(): PartialChanges;
  /** The whole partition state as versioned bytes. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot; every held partial is then reported as changed once. */
  restore(bytes: Uint8Array): void;
  stats(): EngineStats;
}

/** A dossier's contributions, captured before and after each state change. */
class Signature {
  combo = -1;
  ev = 0;
  /** Extension events accounted (a prefix of the dossier's extension list). */
  extN = 0;
  /** Overdue deadline (gauges) when captured; 0 = none. */
  deadline = 0;
  rT = 0;
  rMask = 0;
  eT = 0;
  eMask = 0;
  proc = -1;
  fT = 0;
  fMask = 0;
  ratT = 0;
  ratMask = 0;
  wT = 0;
  sT = 0;
}

const SIG_FIELDS = 17;

/**
 * Signatures of the dossiers changed since the last flush, as they were *before* their first change — that
 * is, what the cells currently account for them. Applying an event only changes state; the difference to
 * the cells is applied once per dossier at the next flush (advance, drainChanges, partials, snapshot,
 * stats). A dossier whose whole lifecycle passes between two flushes — the normal case when catching up
 * on a backlog — costs one difference instead of one per event.
 */
class PendingSignatures {
  buf = new Float64Array(SIG_FIELDS * 1024);
  size = 0;

  push(idx: number, g: Signature): void {
    if ((this.size + 1) * SIG_FIELDS > this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    const b = this.buf;
    const o = this.size++ * SIG_FIELDS;
    b[o] = idx;
    b[o + 1] = g.combo;
    b[o + 2] = g.ev;
    b[o + 3] = g.rT;
    b[o + 4] = g.rMask;
    b[o + 5] = g.eT;
    b[o + 6] = g.eMask;
    b[o + 7] = g.proc;
    b[o + 8] = g.fT;
    b[o + 9] = g.fMask;
    b[o + 10] = g.ratT;
    b[o + 11] = g.ratMask;
    b[o + 12] = g.wT;
    b[o + 13] = g.sT;
    b[o + 14] = g.extN;
    b[o + 15] = g.deadline;
  }

  /** Loads entry k into g and returns its dossier slot. */
  load(k: number, g: Signature): number {
    const b = this.buf;
    const o = k * SIG_FIELDS;
    g.combo = b[o + 1] as number;
    g.ev = b[o + 2] as number;
    g.rT = b[o + 3] as number;
    g.rMask = b[o + 4] as number;
    g.eT = b[o + 5] as number;
    g.eMask = b[o + 6] as number;
    g.proc = b[o + 7] as number;
    g.fT = b[o + 8] as number;
    g.fMask = b[o + 9] as number;
    g.ratT = b[o + 10] as number;
    g.ratMask = b[o + 11] as number;
    g.wT = b[o + 12] as number;
    g.sT = b[o + 13] as number;
    g.extN = b[o + 14] as number;
    g.deadline = b[o + 15] as number;
    return b[o] as number;
  }
}

export function createPartitionEngine(options: PartitionEngineOptions): PartitionEngine {
  return new Engine(options);
}

class Engine implements PartitionEngine, LifecycleHost {
  readonly catalog: Catalog;
  private readonly clock: (() => number) | undefined;
  private readonly lateSec: number;
  private readonly retentionSec: [number, number, number, number, number];
  private readonly endedRetentionSec: number;
  private readonly orphanRetentionSec: number;
  private readonly sweepSec: number;
  private readonly initialCapacity: number;

  private store: DossierStore;
  private readonly lifecycle: Lifecycle;
  private scopes: ScopeTable;
  private combos: ComboTable;
  private comboByDims = new Map<string, number>();
  private comboByUnit = new Map<string, Map<string, Int32Array>>();
  private acc: Accumulator;
  private timers = new TimerHeap();
  private nowSec = 0;
  private lastSweepSec = 0;
  private applied = 0;
  private duplicates = 0;
  private dossiersEvicted = 0;
  private pending = new PendingSignatures();

  private readonly before = new Signature();
  private readonly after = new Signature();
  private readonly scopeRefs: ScopeRef[] = [];

  constructor(o: PartitionEngineOptions) {
    if (!(o.allowedLatenessMs >= 0)) throw new EngineConfigError('allowedLatenessMs must be a non-negative number');
    const r = o.retention ?? {};
    for (const [k, v] of Object.entries(r)) if (v !== undefined && !(v >= 0)) throw new EngineConfigError(`retention.${k} must be a non-negative number`);
    this.catalog = o.catalog;
    this.clock = o.clock;
    this.lateSec = Math.ceil(o.allowedLatenessMs / 1000);
    this.retentionSec = [
      Math.ceil((r.minuteMs ?? 2 * HOUR_MS) / 1000),
      Math.ceil((r.dayMs ?? 35 * DAY_MS) / 1000),
      Math.ceil((r.monthMs ?? 731 * DAY_MS) / 1000),
      // Absent: quarters and years hold their months no longer than monthMs does.
      r.quarterMs === undefined ? -Infinity : Math.ceil(r.quarterMs / 1000),
      r.yearMs === undefined ? -Infinity : Math.ceil(r.yearMs / 1000),
    ];
    this.endedRetentionSec = Math.ceil((r.endedDossierMs ?? 60 * DAY_MS) / 1000);
    this.orphanRetentionSec = Math.ceil((r.orphanDossierMs ?? 60 * DAY_MS) / 1000);
    this.sweepSec = Math.ceil((o.sweepIntervalMs ?? HOUR_MS) / 1000);
    this.initialCapacity = o.initialCapacity ?? 1024;
    this.store = new DossierStore(this.initialCapacity);
    this.lifecycle = new Lifecycle(this.store, this);
    this.scopes = new ScopeTable(o.catalog.province.code);
    this.combos = new ComboTable();
    this.acc = new Accumulator({ allowedLatenessSec: this.lateSec, retentionSec: this.retentionSec }, this.combos);
    if (this.clock !== undefined) this.setNow(Math.floor(this.clock() / 1000));
    this.acc.ensureNowProvince();
  }

  get nowMs(): number {
    return this.nowSec * 1000;
  }

  private setNow(sec: number): void {
    this.nowSec = sec;
    this.acc.advance(sec);
    if (this.lastSweepSec === 0) this.lastSweepSec = sec;
  }

  // ---- scopes ---------------------------------------------------------------------------------------

  countIntakeRejected(tSec: number, combo: number): void {
    this.acc.applyValue(this.acc.resolve(tSec, combo), M.intakeRejected, 1);
  }

  /** Combo of (unit, procedure, sector, channel); sector from the event, else the procedure catalog. */
  comboFor(unit: string, procedure: string, sector: string | undefined, channel: number): number {
    // Two map look-ups on the codes themselves, no key string built per event: unit → procedure → the
    // four channel combos. An explicit sectorCode (rare: the catalog normally supplies it) takes a keyed path.
    if (sector !== undefined) {
      const key = `${unit}\u0000${procedure}\u0000${sector}\u0000${channel}`;
      let c = this.comboByDims.get(key);
      if (c === undefined) {
        c = this.internCombo(unit, procedure, sector, channel);
        this.comboByDims.set(key, c);
      }
      return c;
    }
    let byProc = this.comboByUnit.get(unit);
    if (byProc === undefined) {
      byProc = new Map();
      this.comboByUnit.set(unit, byProc);
    }
    let byChannel = byProc.get(procedure);
    if (byChannel === undefined) {
      byChannel = new Int32Array(4).fill(-1);
      byProc.set(procedure, byChannel);
    }
    let c = byChannel[channel] as number;
    if (c < 0) {
      c = this.internCombo(unit, procedure, undefined, channel);
      byChannel[channel] = c;
    }
    return c;
  }

  private internCombo(unit: string, procedure: string, sector: string | undefined, channel: number): number {
    const sectorCode = sector ?? this.catalog.procedure(procedure)?.sectorCode;
    const u = this.scopes.intern(1, unit, this.catalog.unit(unit)?.group);
    const p = this.scopes.intern(2, procedure, undefined);
    const s = sectorCode === undefined ? -1 : this.scopes.intern(3, sectorCode, undefined);
    const ch = channel === 0 ? -1 : this.scopes.intern(4, CHANNEL_NAMES[channel] as string, undefined);
    const c = this.combos.intern(u, p, s, ch);
    this.acc.setCombos(this.combos);
    return c;
  }

  // ---- apply ----------------------------------------------------------------------------------------

  apply(ev: DossierEvent): boolean {
    const s = this.store;
    const idx = s.slot(ev.subject);
    // = fingerprint(ev.source, ev.id), without re-hashing a source the dossier's previous event had.
    const fp = s.sources.fingerprint(idx, ev.source, ev.id);
    const head = s.d[idx * ROW + D_FP_HEAD] as number;
    if (s.fps.has(head, fp)) {
      this.duplicates++;
      return false;
    }
    s.d[idx * ROW + D_FP_HEAD] = s.fps.add(head, fp);
    this.applied++;
    const type = typeCode(ev.type);
    const fl = s.d[idx * ROW + D_FLAGS] as number;
    if ((fl & F_PENDING) === 0) {
      // First change since the last flush: remember what the cells account for this dossier.
      s.d[idx * ROW + D_FLAGS] = fl | F_PENDING;
      this.capture(idx, this.before);
      gaugeOf(s, idx, this.nowSec);
      this.before.deadline = gauge.deadline;
      this.pending.push(idx, this.before);
    }
    const n = s.d[idx * ROW + D_EV_COUNT] as number;
    if (n < 0xffff) s.d[idx * ROW + D_EV_COUNT] = n + 1;
    if (((s.d[idx * ROW + D_FLAGS] as number) & F_HAS_RECV) === 0) {
      const t = toSec(ev.data.occurredAt);
      if (t > (s.d[idx * ROW + D_LAST_AT] as number)) s.d[idx * ROW + D_LAST_AT] = t;
    }
    this.lifecycle.mutate(idx, type, ev, fp);
    return true;
  }

  // ---- signatures and their differences -------------------------------------------------------------

  private capture(idx: number, g: Signature): void {
    const s = this.store;
    const f = s.d[idx * ROW + D_FLAGS] as number;
    g.ev = s.d[idx * ROW + D_EV_COUNT] as number;
    g.extN = (f & F_RARE) !== 0 ? (s.rare.get(idx)?.exts?.length ?? 0) : 0;
    if ((f & F_HAS_RECV) === 0) {
      g.combo = -1;
      return;
    }
    g.combo = (s.d[idx * ROW + D_COMBO] as number) | 0; // stored as uint32: -1 reads back as 2^32 - 1
    g.rT = s.d[idx * ROW + D_RECV_AT] as number;
    g.rMask = receivedMask(s, idx);
    if ((s.d[idx * ROW + D_END_KIND] as number) !== END_NONE) {
      endedOf(s, idx);
      g.eT = s.d[idx * ROW + D_END_AT] as number;
      g.eMask = ended.mask;
      g.proc = ended.procSec;
    } else {
      g.eT = 0;
      g.eMask = 0;
      g.proc = -1;
    }
    if ((f & F_FEE_ANY) !== 0) {
      g.fT = s.d[idx * ROW + D_FEE_AT] as number;
      g.fMask = feeMask(f);
    } else {
      g.fT = 0;
      g.fMask = 0;
    }
    if ((f & F_RATED) !== 0) {
      g.ratT = s.d[idx * ROW + D_RATE_AT] as number;
      g.ratMask = 1 | (((f & F_RATING) >>> F_RATING_SHIFT) === 2 ? 2 : 0);
    } else {
      g.ratT = 0;
      g.ratMask = 0;
    }
    if ((f & F_RARE) !== 0) {
      const r = s.rare.get(idx);
      g.wT = r?.withdrawnAt ?? 0;
      g.sT = r?.stoppedAt ?? 0;
    } else {
      g.wT = 0;
      g.sT = 0;
    }
  }

  private applyDiff(idx: number, B: Signature, A: Signature): void {
    if (B.combo !== A.combo) {
      if (B.combo >= 0) this.applyAll(idx, B, -1);
      if (A.combo >= 0) this.applyAll(idx, A, 1);
      return;
    }
    if (A.combo < 0) return;
    const combo = A.combo;
    const acc = this.acc;
    // received family (rT is always set once received; a changed rT means another `received` won)
    if (B.rT === A.rT) {
      const plus = A.rMask & ~B.rMask;
      const minus = B.rMask & ~A.rMask;
      const dv = A.ev - B.ev;
      if ((plus | minus) !== 0 || dv !== 0) {
        const n = acc.resolve(A.rT, combo);
        acc.applyMask(n, R_BASE, plus, 1);
        acc.applyMask(n, R_BASE, minus, -1);
        acc.applyValue(n, M.evR, dv);
      }
    } else {
      this.receivedFamily(B, combo, -1);
      this.receivedFamily(A, combo, 1);
    }
    // ended family
    if (B.eT === A.eT) {
      if (A.eT !== 0) {
        const plus = A.eMask & ~B.eMask;
        const minus = B.eMask & ~A.eMask;
        const dv = A.ev - B.ev;
        if ((plus | minus) !== 0 || dv !== 0 || A.proc !== B.proc) {
          const n = acc.resolve(A.eT, combo);
          acc.applyMask(n, E_BASE, plus, 1);
          acc.applyMask(n, E_BASE, minus, -1);
          acc.applyValue(n, M.evE, dv);
          if (A.proc !== B.proc) {
            if (B.proc >= 0) {
              acc.applyProcSum(n, -B.proc);
              acc.applySketch(n, B.proc, -1);
            }
            if (A.proc >= 0) {
              acc.applyProcSum(n, A.proc);
              acc.applySketch(n, A.proc, 1);
            }
          }
        }
      }
    } else {
      this.endedFamily(B, combo, -1);
      this.endedFamily(A, combo, 1);
    }
    this.maskFamily(B.fT, B.fMask, A.fT, A.fMask, combo, F_BASE);
    this.maskFamily(B.ratT, B.ratMask, A.ratT, A.ratMask, combo, RAT_BASE);
    this.maskFamily(B.wT, B.wT === 0 ? 0 : 1, A.wT, A.wT === 0 ? 0 : 1, combo, M.withdrawn);
    this.maskFamily(B.sT, B.sT === 0 ? 0 : 1, A.sT, A.sT === 0 ? 0 : 1, combo, M.stopped);
    if (A.extN > B.extN) {
      const exts = this.store.rare.get(idx)?.exts ?? [];
      for (let i = B.extN; i < A.extN; i++) acc.applyValue(acc.resolve(exts[i] as number, combo), M.extensions, 1);
    }
  }

  private maskFamily(tB: number, mB: number, tA: number, mA: number, combo: number, base: number): void {
    const acc = this.acc;
    if (tB === tA) {
      if (tA === 0 || mA === mB) return;
      const n = acc.resolve(tA, combo);
      acc.applyMask(n, base, mA & ~mB, 1);
      acc.applyMask(n, base, mB & ~mA, -1);
      return;
    }
    if (tB !== 0 && mB !== 0) acc.applyMask(acc.resolve(tB, combo), base, mB, -1);
    if (tA !== 0 && mA !== 0) acc.applyMask(acc.resolve(tA, combo), base, mA, 1);
  }

  private receivedFamily(g: Signature, combo: number, sign: number): void {
    if (g.rT === 0 && g.rMask === 0) return;
    const n = this.acc.resolve(g.rT, combo);
    this.acc.applyMask(n, R_BASE, g.rMask, sign);
    this.acc.applyValue(n, M.evR, sign * g.ev);
  }

  private endedFamily(g: Signature, combo: number, sign: number): void {
    if (g.eT === 0) return;
    const n = this.acc.resolve(g.eT, combo);
    this.acc.applyMask(n, E_BASE, g.eMask, sign);
    this.acc.applyValue(n, M.evE, sign * g.ev);
    if (g.proc >= 0) {
      this.acc.applyProcSum(n, sign * g.proc);
      this.acc.applySketch(n, g.proc, sign);
    }
  }

  /** Adds (sign 1) or retracts (sign -1) everything a dossier contributes outside the gauges. */
  private applyAll(idx: number, g: Signature, sign: number): void {
    const combo = g.combo;
    this.receivedFamily(g, combo, sign);
    this.endedFamily(g, combo, sign);
    if (g.fT !== 0) this.acc.applyMask(this.acc.resolve(g.fT, combo), F_BASE, g.fMask, sign);
    if (g.ratT !== 0) this.acc.applyMask(this.acc.resolve(g.ratT, combo), RAT_BASE, g.ratMask, sign);
    if (g.wT !== 0) this.acc.applyValue(this.acc.resolve(g.wT, combo), M.withdrawn, sign);
    if (g.sT !== 0) this.acc.applyValue(this.acc.resolve(g.sT, combo), M.stopped, sign);
    // The first extN extensions are the ones this signature accounts for (the list only grows).
    if (g.extN === 0) return; // almost always: no Map look-up in the side table for the rest
    const exts = this.store.rare.get(idx)?.exts;
    if (exts !== undefined) for (let i = 0; i < g.extN; i++) this.acc.applyValue(this.acc.resolve(exts[i] as number, combo), M.extensions, sign);
  }

  /**
   * Brings the dossier's accounted gauge bits in line with its state and the clock, and arms a timer for
   * its overdue deadline unless one was already armed for that same deadline (`armed`; 0 = none).
   */
  private updateGauge(idx: number, oldCombo: number, newCombo: number, armed: number): void {
    const s = this.store;
    const f = s.d[idx * ROW + D_FLAGS] as number;
    const oldBits = (f & F_G_MASK) >>> F_G_SHIFT;
    gaugeOf(s, idx, this.nowSec);
    const newBits = gauge.bits;
    if (gauge.deadline !== 0 && gauge.deadline !== armed) this.timers.push(gauge.deadline, idx);
    if (oldBits === newBits && oldCombo === newCombo) return;
    const acc = this.acc;
    if (oldCombo === newCombo) {
      const n = acc.resolveNow(newCombo);
      acc.applyMask(n, G_BASE, newBits & ~oldBits, 1);
      acc.applyMask(n, G_BASE, oldBits & ~newBits, -1);
    } else {
      if (oldCombo >= 0 && oldBits !== 0) acc.applyMask(acc.resolveNow(oldCombo), G_BASE, oldBits, -1);
      if (newCombo >= 0 && newBits !== 0) acc.applyMask(acc.resolveNow(newCombo), G_BASE, newBits, 1);
    }
    s.d[idx * ROW + D_FLAGS] = (f & ~F_G_MASK) | (newBits << F_G_SHIFT);
  }

  /** Applies the difference of every pending dossier to the cells (see PendingSignatures). */
  private flush(): void {
    const p = this.pending;
    if (p.size === 0) return;
    const s = this.store;
    const B = this.before;
    const A = this.after;
    for (let k = 0; k < p.size; k++) {
      const idx = p.load(k, B);
      s.d[idx * ROW + D_FLAGS] = (s.d[idx * ROW + D_FLAGS] as number) & ~F_PENDING;
      this.capture(idx, A);
      this.applyDiff(idx, B, A);
      this.updateGauge(idx, B.combo, A.combo, B.deadline);
    }
    p.size = 0;
    // A catch-up burst may have grown the buffer to hundreds of thousands of entries: give that back.
    if (p.buf.length > SIG_FIELDS * 65_536) p.buf = new Float64Array(SIG_FIELDS * 1024);
  }

  // ---- clock ----------------------------------------------------------------------------------------

  advance(nowMs?: number): void {
    const ms = nowMs ?? this.clock?.();
    if (ms === undefined) return;
    const sec = Math.floor(ms / 1000);
    if (sec <= this.nowSec) return;
    // Pending facts land before windows close or are evicted, as if applied with their events (except in
    // the minute buckets this move evicts: Accumulator.prepareAdvance).
    this.acc.prepareAdvance(sec);
    this.flush();
    this.setNow(sec);
    const s = this.store;
    while (this.timers.peekDeadline() <= sec) {
      const idx = this.timers.pop();
      if (s.codes[idx] === undefined) continue;
      const c = (s.d[idx * ROW + D_COMBO] as number) | 0;
      this.updateGauge(idx, c, c, 0);
    }
    if (sec - this.lastSweepSec >= this.sweepSec) {
      this.lastSweepSec = sec;
      this.sweep(sec);
    }
  }

  /** Forgets dossiers ended (or never received) longer ago than their retention. */
  private sweep(sec: number): void {
    const s = this.store;
    for (let idx = 0; idx < s.highWater; idx++) {
      if (s.codes[idx] === undefined) continue;
      const kind = s.d[idx * ROW + D_END_KIND] as number;
      const f = s.d[idx * ROW + D_FLAGS] as number;
      const old =
        kind !== END_NONE
          ? (s.d[idx * ROW + D_END_AT] as number) + this.endedRetentionSec < sec
          : (f & F_HAS_RECV) === 0 && (s.d[idx * ROW + D_LAST_AT] as number) + this.orphanRetentionSec < sec;
      if (old) {
        s.evict(idx);
        this.dossiersEvicted++;
      }
    }
  }

  // ---- partials -------------------------------------------------------------------------------------

  private scopeRef(id: number): ScopeRef {
    let r = this.scopeRefs[id];
    if (r === undefined) {
      r = this.scopes.ref(id);
      this.scopeRefs[id] = r;
    }
    return r;
  }

  private winRef(w: WindowInst): WindowRef {
    // Kept on the window: built once, shared by all its partials (and by their eviction records).
    return (w.ref ??= windowRef(kindName(w.kind), w.index));
  }

  /**
   * Partials of `cells`. Their measures are views into one buffer allocated for the whole call: a separate
   * small Float64Array per partial costs a native allocation each (V8 keeps typed arrays over 64 bytes off
   * the JS heap), which was 6 % of the engine's time at a drain every 250,000 events.
   */
  private toPartials(cells: readonly number[]): IndicatorPartial[] {
    const MC = MEASURE_COUNT;
    const acc = this.acc;
    const buf = new Float64Array(cells.length * MC);
    const out = new Array<IndicatorPartial>(cells.length);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i] as number;
      const base = i * MC;
      acc.copyMeasures(c, buf, base);
      const win = acc.windowOf(c);
      const window = this.winRef(win);
      const scope = this.scopeRef(acc.scopeIdOf(c));
      // The key string is built once per cell and kept with it.
      const key = (acc.keys[c] ??= partialKey({ window, scope }));
      out[i] = { key, window, scope, measures: buf.subarray(base, base + MC), sketch: acc.sketchOf(c), closed: win.closed, revised: acc.revised(c) };
    }
    return out;
  }

  partials(): IndicatorPartial[] {
    this.flush();
    return this.toPartials(this.acc.allCells());
  }

  drainChanges(): PartialChanges {
    this.flush();
    const { cells, evicted } = this.acc.drain();
    return {
      updated: this.toPartials(cells),
      evicted: evicted.map((e) => {
        const window = this.winRef(e.win);
        const scope = this.scopeRef(e.scope);
        return { key: e.key ?? partialKey({ window, scope }), window, scope };
      }),
    };
  }

  stats(): EngineStats {
    this.flush();
    const province = this.acc.now.get(0);
    return {
      applied: this.applied,
      duplicates: this.duplicates,
      dossiers: this.store.live,
      open: province < 0 ? 0 : this.acc.measure(province, M.inProcess),
      lateDropped: this.acc.lateDropped,
      dossiersEvicted: this.dossiersEvicted,
      cells: this.acc.live,
    };
  }

  // ---- snapshot -------------------------------------------------------------------------------------

  snapshot(): Uint8Array {
    this.flush();
    return encodeSnapshot({
      nowSec: this.nowSec,
      lastSweepSec: this.lastSweepSec,
      counters: [this.applied, this.duplicates, this.dossiersEvicted, this.acc.lateDropped],
      scopes: this.scopes,
      combos: this.combos,
      store: this.store,
      acc: this.acc,
    });
  }

  restore(bytes: Uint8Array): void {
    const timing = { allowedLatenessSec: this.lateSec, retentionSec: this.retentionSec };
    const st = decodeSnapshot(bytes, this.catalog.province.code, timing);
    this.store = st.store;
    this.lifecycle.store = st.store;
    this.scopes = st.scopes;
    this.combos = st.combos;
    this.acc = st.acc;
    this.nowSec = st.nowSec;
    this.lastSweepSec = st.lastSweepSec;
    [this.applied, this.duplicates, this.dossiersEvicted] = st.counters as [number, number, number];
    this.acc.lateDropped = st.counters[3] ?? 0;
    this.scopeRefs.length = 0;
    // Rebuild derived lookups: combo cache keys and the timer heap (deadlines follow from the state).
    this.comboByDims = new Map();
    this.comboByUnit = new Map();
    this.pending = new PendingSignatures();
    this.timers.clear();
    const s = this.store;
    for (let idx = 0; idx < s.highWater; idx++) {
      if (s.codes[idx] === undefined) continue;
      gaugeOf(s, idx, this.nowSec);
      if (gauge.deadline !== 0) this.timers.push(gauge.deadline, idx);
    }
    this.acc.ensureNowProvince();
    this.acc.markAllDirty();
  }
}


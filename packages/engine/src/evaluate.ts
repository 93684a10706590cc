/**
 * Indicator values from merged partials: the interpreter of the indicator catalog (indicators.ts). Pure;
 * used by the view on the partials of all partitions, and by tests on a single engine.
 */
import { INDICATORS, type IndicatorDef, type Term, type ValueWindow } from './indicators.js';
import { MEASURE_COUNT, measureIndex, type MeasureName } from './measures.js';
import { mergePartials, windowRef, type IndicatorPartial } from './partials.js';
import type { ScopeRef } from './scopes.js';
import { Sketch } from './sketch.js';

export interface ValueWindowRef {
  kind: ValueWindow;
  label: string;
  startMs: number;
  endMs: number;
  /** The window contains the evaluation time (today, this month, …; always true for rolling_1h and now). */
  current: boolean;
}

export interface IndicatorValue {
  indicator: string;
  window: ValueWindowRef;
  scope: ScopeRef;
  /** Counts and gauges: the count; rates: numerator ÷ denominator in [0, 1]; hours; QĐ 766 score: points. Null when not computable (denominator 0). */
  value: number | null;
  /** Rates only (null otherwise). For qd766.score: points earned. */
  numerator: number | null;
  /** Rates only (null otherwise). For qd766.score: maximum points of the computable indicators. */
  denominator: number | null;
  /** Number of events behind the value (see each catalog entry's `events` measure). */
  eventCount: number;
  /** False once every contributing partition closed the window (clock past end + allowed lateness). */
  open: boolean;
  /** A fact landed after the window was closed. */
  revised: boolean;
  /** QĐ 766 indicators with points: points × min(1, ratio ÷ target); null when the ratio is null; otherwise undefined. */
  points: number | null | undefined;
  maxPoints: number | undefined;
  target: number | undefined;
}

export interface EvaluateOptions {
  /** Evaluation time: decides the current windows, the rolling hour and the "open now" terms. */
  nowMs: number;
  indicators?: readonly IndicatorDef[];
}

// Measure names resolve to indices once per name (evaluate runs for every snapshot the view serves).
const INDEX_CACHE = new Map<string, number>();
const idx = (m: MeasureName): number => {
  let i = INDEX_CACHE.get(m);
  if (i === undefined) {
    i = measureIndex(m);
    INDEX_CACHE.set(m, i);
  }
  return i;
};

function termSum(terms: readonly Term[], m: Float64Array, now: Float64Array | undefined, current: boolean): number {
  let sum = 0;
  for (const t of terms) {
    if (typeof t === 'string') sum += m[idx(t)] as number;
    else if (current && now !== undefined) sum += now[idx(t.now)] as number;
  }
  return sum;
}

interface Input {
  window: ValueWindowRef;
  scope: ScopeRef;
  measures: Float64Array;
  sketch: Sketch | null;
  open: boolean;
  revised: boolean;
  now: Float64Array | undefined;
}

/** One value object; always the same shape, so V8 keeps every IndicatorValue on one fast hidden class. */
function value(def: IndicatorDef, x: Input, v: number | null, num: number | null, den: number | null, ev: number): IndicatorValue {
  return { indicator: def.id, window: x.window, scope: x.scope, value: v, numerator: num, denominator: den, eventCount: ev, open: x.open, revised: x.revised, points: undefined, maxPoints: undefined, target: undefined };
}

function scored(def: IndicatorDef, out: IndicatorValue): IndicatorValue {
  if ((def.kind !== 'ratio' && def.kind !== 'one_minus_rates') || def.qd766 === undefined) return out;
  const q = def.qd766;
  out.target = q.target;
  if (q.points !== undefined) {
    out.points = out.value === null ? null : q.points * Math.min(1, Math.max(0, out.value) / q.target);
    out.maxPoints = q.points;
  }
  return out;
}

function evalOne(def: IndicatorDef, x: Input, done: IndicatorValue[]): IndicatorValue {
  const m = x.measures;
  const ev = m[idx(def.events)] as number;
  switch (def.kind) {
    case 'count':
    case 'gauge':
      return value(def, x, m[idx(def.measure)] as number, null, null, ev);
    case 'ratio': {
      const num = termSum(def.num, m, x.now, x.window.current);
      const den = termSum(def.den, m, x.now, x.window.current);
      return scored(def, value(def, x, den === 0 ? null : num / den, num, den, ev));
    }
    case 'quantile': {
      const n = m[idx(def.count)] as number;
      const q = n > 0 && x.sketch !== null ? x.sketch.quantile(def.q) : NaN;
      return value(def, x, Number.isNaN(q) ? null : q * def.scale, null, null, ev);
    }
    case 'mean': {
      const n = m[idx(def.count)] as number;
      return value(def, x, n > 0 ? ((m[idx(def.sum)] as number) / n) * def.scale : null, null, null, ev);
    }
    case 'one_minus_rates': {
      let v: number | null = 1;
      for (const r of def.rates) {
        const den = m[idx(r.den)] as number;
        if (den === 0) {
          if (r.required) v = null;
          continue;
        }
        if (v !== null) v -= (m[idx(r.num)] as number) / den;
      }
      return scored(def, value(def, x, v, null, null, ev));
    }
    case 'qd766_score': {
      let earned = 0;
      let max = 0;
      for (const d of done) {
        if (d.points === undefined || d.points === null || d.maxPoints === undefined) continue;
        earned += d.points;
        max += d.maxPoints;
      }
      return value(def, x, max === 0 ? null : earned, earned, max, ev);
    }
  }
}

function evalAll(defs: readonly IndicatorDef[], kind: ValueWindow, x: Input, out: IndicatorValue[]): void {
  const done: IndicatorValue[] = [];
  for (const def of defs) {
    if (!def.windows.includes(kind)) continue;
    const v = evalOne(def, x, done);
    done.push(v);
    out.push(v);
  }
}

const scopeKey = (s: ScopeRef): string => `${s.kind}:${s.code}`;

interface Derived {
  kind: 'quarter' | 'year';
  index: number;
  scope: ScopeRef;
  measures: Float64Array;
  sketch: Sketch | null;
  allClosed: boolean;
  revised: boolean;
}

/** Quarters and years as sums of their months (the engine accumulates months only). */
function deriveFromMonths(months: IndicatorPartial[]): Derived[] {
  const out = new Map<string, Derived>();
  for (const p of months) {
    const y = Math.floor(p.window.index / 12);
    const q = y * 4 + Math.floor((p.window.index % 12) / 3);
    for (const [kind, index] of [['quarter', q], ['year', y]] as const) {
      const k = `${kind}:${index}|${scopeKey(p.scope)}`;
      let d = out.get(k);
      if (d === undefined) {
        d = { kind, index, scope: p.scope, measures: new Float64Array(MEASURE_COUNT), sketch: null, allClosed: true, revised: false };
        out.set(k, d);
      }
      for (let i = 0; i < MEASURE_COUNT; i++) d.measures[i]! += p.measures[i] as number;
      if (p.sketch !== null) (d.sketch ??= new Sketch()).merge(p.sketch);
      d.allClosed = d.allClosed && p.closed;
      d.revised = d.revised || p.revised;
    }
  }
  return [...out.values()];
}

/**
 * Every indicator value the partials support at `nowMs`: each calendar window present (day and month from
 * the partials; quarter and year summed from the months), rolling_1h from the last 60 minute buckets, and
 * the gauges (window `now`). Partials with the same key are merged first, so raw per-partition partials may
 * be passed.
 */
export function evaluate(partials: Iterable<IndicatorPartial>, options: EvaluateOptions): IndicatorValue[] {
  const defs = options.indicators ?? INDICATORS;
  const merged = mergePartials(partials);
  const nowMs = options.nowMs;
  const nowByScope = new Map<string, Float64Array>();
  for (const p of merged) if (p.window.kind === 'now') nowByScope.set(scopeKey(p.scope), p.measures);

  const out: IndicatorValue[] = [];
  // rolling_1h: the minute buckets of [now − 59 min, now], summed per scope.
  const nowMinute = Math.floor(nowMs / 60_000);
  const rolling = new Map<string, { scope: ScopeRef; measures: Float64Array; sketch: Sketch | null }>();
  const months: IndicatorPartial[] = [];
  for (const p of merged) {
    const kind = p.window.kind;
    if (kind === 'now') {
      const x: Input = { window: { kind: 'now', label: 'now', startMs: nowMs, endMs: nowMs, current: true }, scope: p.scope, measures: p.measures, sketch: null, open: true, revised: false, now: p.measures };
      evalAll(defs, 'now', x, out);
      continue;
    }
    if (kind === 'minute') {
      if (p.window.index > nowMinute || p.window.index <= nowMinute - 60) continue;
      const k = scopeKey(p.scope);
      let r = rolling.get(k);
      if (r === undefined) {
        r = { scope: p.scope, measures: new Float64Array(MEASURE_COUNT), sketch: null };
        rolling.set(k, r);
      }
      for (let i = 0; i < MEASURE_COUNT; i++) r.measures[i]! += p.measures[i] as number;
      if (p.sketch !== null) (r.sketch ??= new Sketch()).merge(p.sketch);
      continue;
    }
    if (kind === 'month') months.push(p);
    if (kind === 'quarter' || kind === 'year') continue; // always derived from months
    const current = p.window.startMs <= nowMs && nowMs < p.window.endMs;
    const x: Input = {
      window: { kind, label: p.window.label, startMs: p.window.startMs, endMs: p.window.endMs, current },
      scope: p.scope,
      measures: p.measures,
      sketch: p.sketch,
      open: !p.closed,
      revised: p.revised,
      now: nowByScope.get(scopeKey(p.scope)),
    };
    evalAll(defs, kind, x, out);
  }
  for (const d of deriveFromMonths(months)) {
    const w = windowRef(d.kind, d.index);
    const current = w.startMs <= nowMs && nowMs < w.endMs;
    const x: Input = {
      window: { kind: d.kind, label: w.label, startMs: w.startMs, endMs: w.endMs, current },
      scope: d.scope,
      measures: d.measures,
      sketch: d.sketch,
      // Closed once the period is over and every month that has data is closed.
      open: !(d.allClosed && nowMs >= w.endMs),
      revised: d.revised,
      now: nowByScope.get(scopeKey(d.scope)),
    };
    evalAll(defs, d.kind, x, out);
  }
  const startMs = (nowMinute - 59) * 60_000;
  const endMs = (nowMinute + 1) * 60_000;
  for (const r of rolling.values()) {
    const x: Input = { window: { kind: 'rolling_1h', label: 'rolling_1h', startMs, endMs, current: true }, scope: r.scope, measures: r.measures, sketch: r.sketch, open: true, revised: false, now: nowByScope.get(scopeKey(r.scope)) };
    evalAll(defs, 'rolling_1h', x, out);
  }
  return out;
}

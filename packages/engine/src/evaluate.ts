/**
 * Indicator values from merged partials: the interpreter of the indicator catalog (indicators.ts). Pure;
 * used by the view on the partials of all partitions, and by tests on a single engine.
 */
import { INDICATORS, type IndicatorDef, type Term, type ValueWindow } from './indicators.js';
import { MEASURE_COUNT, measureIndex, type MeasureName } from './measures.js';
import { mergePartials, type IndicatorPartial } from './partials.js';
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
  /** QĐ 766 indicators with points: points × min(1, ratio ÷ target); null when the ratio is null. */
  points?: number | null;
  maxPoints?: number;
  target?: number;
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

function scoreOf(def: IndicatorDef, ratio: number | null): Pick<IndicatorValue, 'points' | 'maxPoints' | 'target'> {
  if ((def.kind !== 'ratio' && def.kind !== 'one_minus_rates') || def.qd766 === undefined) return {};
  const q = def.qd766;
  if (q.points === undefined) return { target: q.target };
  return { points: ratio === null ? null : q.points * Math.min(1, Math.max(0, ratio) / q.target), maxPoints: q.points, target: q.target };
}

function evalOne(def: IndicatorDef, x: Input, done: IndicatorValue[]): IndicatorValue {
  const m = x.measures;
  const base = { indicator: def.id, window: x.window, scope: x.scope, open: x.open, revised: x.revised, eventCount: m[idx(def.events)] as number };
  switch (def.kind) {
    case 'count':
      return { ...base, value: m[idx(def.measure)] as number, numerator: null, denominator: null };
    case 'gauge':
      return { ...base, value: m[idx(def.measure)] as number, numerator: null, denominator: null };
    case 'ratio': {
      const num = termSum(def.num, m, x.now, x.window.current);
      const den = termSum(def.den, m, x.now, x.window.current);
      const value = den === 0 ? null : num / den;
      return { ...base, value, numerator: num, denominator: den, ...scoreOf(def, value) };
    }
    case 'quantile': {
      const n = m[idx(def.count)] as number;
      const q = n > 0 && x.sketch !== null ? x.sketch.quantile(def.q) : NaN;
      return { ...base, value: Number.isNaN(q) ? null : q * def.scale, numerator: null, denominator: null };
    }
    case 'mean': {
      const n = m[idx(def.count)] as number;
      return { ...base, value: n > 0 ? ((m[idx(def.sum)] as number) / n) * def.scale : null, numerator: null, denominator: null };
    }
    case 'one_minus_rates': {
      let value: number | null = 1;
      for (const r of def.rates) {
        const den = m[idx(r.den)] as number;
        if (den === 0) {
          if (r.required) value = null;
          continue;
        }
        if (value !== null) value -= (m[idx(r.num)] as number) / den;
      }
      return { ...base, value, numerator: null, denominator: null, ...scoreOf(def, value) };
    }
    case 'qd766_score': {
      let earned = 0;
      let max = 0;
      for (const v of done) {
        if (v.points === undefined || v.points === null || v.maxPoints === undefined) continue;
        earned += v.points;
        max += v.maxPoints;
      }
      return { ...base, value: max === 0 ? null : earned, numerator: earned, denominator: max };
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

/**
 * Every indicator value the partials support at `nowMs`: each calendar window present (day, month,
 * quarter, year), rolling_1h from the last 60 minute buckets, and the gauges (window `now`). Partials with
 * the same key are merged first, so raw per-partition partials may be passed.
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
  const startMs = (nowMinute - 59) * 60_000;
  const endMs = (nowMinute + 1) * 60_000;
  for (const r of rolling.values()) {
    const x: Input = { window: { kind: 'rolling_1h', label: 'rolling_1h', startMs, endMs, current: true }, scope: r.scope, measures: r.measures, sketch: r.sketch, open: true, revised: false, now: nowByScope.get(scopeKey(r.scope)) };
    evalAll(defs, 'rolling_1h', x, out);
  }
  return out;
}

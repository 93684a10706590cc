/**
 * Partials: one partition's contribution to one (window, scope). A partial holds every measure (measures.ts)
 * and the processing-time sketch, so all indicators of that window and scope are computed from it; that
 * keeps the number of compacted-topic keys at windows × scopes rather than × indicators.
 *
 * Partials form a commutative monoid: measures add, sketches add bin by bin (integer counts, so exactly),
 * `closed` is AND (a window is closed once every contributor closed it) and `revised` is OR.
 */
import { ByteReader, ByteWriter } from './codec.js';
import { EngineDecodeError } from './errors.js';
import { MEASURE_COUNT } from './measures.js';
import { SCOPE_KINDS, type ScopeKind, type ScopeRef } from './scopes.js';
import { Sketch } from './sketch.js';
import { WINDOW_KINDS, kindCode, windowEnd, windowLabel, windowStart, type WindowKind } from './time.js';

export interface WindowRef {
  kind: WindowKind;
  /** Window number: minutes since the epoch, local days since 1970-01-01, y*12+m-1, y*4+q-1, the year; 0 for now. */
  index: number;
  startMs: number;
  endMs: number;
  /** Local-time label: 2025-03-14T10:05, 2025-03-14, 2025-03, 2025-Q1, 2025, now. */
  label: string;
}

export interface IndicatorPartial {
  /** partialKey() of window and scope, computed once (merging is keyed on it). */
  key: string;
  window: WindowRef;
  scope: ScopeRef;
  /** One value per measure, indexed as MEASURES. */
  measures: Float64Array;
  /** Processing seconds of resolved dossiers; null when none. */
  sketch: Sketch | null;
  closed: boolean;
  revised: boolean;
}

export function windowRef(kind: WindowKind, index: number): WindowRef {
  const k = kindCode(kind);
  return { kind, index, startMs: windowStart(k, index) * 1000, endMs: windowEnd(k, index) * 1000, label: windowLabel(k, index) };
}

/** Stable key of a partial's (window, scope), e.g. `day:2025-03-14|unit:H21.17`. */
export function partialKey(p: { window: { kind: WindowKind; label: string }; scope: { kind: ScopeKind; code: string } }): string {
  return `${p.window.kind}:${p.window.label}|${p.scope.kind}:${p.scope.code}`;
}

/** Builds a partial, computing its key. */
export function makePartial(window: WindowRef, scope: ScopeRef, measures: Float64Array, sketch: Sketch | null, closed: boolean, revised: boolean): IndicatorPartial {
  return { key: partialKey({ window, scope }), window, scope, measures, sketch, closed, revised };
}

export function clonePartial(p: IndicatorPartial): IndicatorPartial {
  return { key: p.key, window: p.window, scope: p.scope, measures: p.measures.slice(), sketch: p.sketch?.clone() ?? null, closed: p.closed, revised: p.revised };
}

/** a ⊕ b for partials of the same key (new object; inputs untouched). */
export function mergeTwo(a: IndicatorPartial, b: IndicatorPartial): IndicatorPartial {
  const out = clonePartial(a);
  mergeInto(out, b);
  return out;
}

function mergeInto(target: IndicatorPartial, b: IndicatorPartial): void {
  const m = target.measures;
  const n = Math.min(m.length, b.measures.length);
  for (let i = 0; i < n; i++) m[i]! += b.measures[i] as number;
  if (b.sketch !== null) {
    if (target.sketch === null) target.sketch = b.sketch.clone();
    else target.sketch.merge(b.sketch);
  }
  target.closed = target.closed && b.closed;
  target.revised = target.revised || b.revised;
}

/**
 * Merges any number of partial collections (e.g. one per partition) into one partial per key. Pure: the
 * inputs are not modified (a key with a single contribution returns that same object; treat partials as
 * immutable values). Associative and commutative (exactly: measures and sketch bins are integers,
 * except processing-second sums, which are integers too).
 */
export function mergePartials(...collections: Iterable<IndicatorPartial>[]): IndicatorPartial[] {
  // A key seen once is passed through as is (partials are treated as immutable values). Keys with several
  // contributions get a copy to add into; all those copies' measures are views of one buffer sized once the
  // grouping is known, rather than a Float64Array each (V8 allocates those outside the JS heap, one by one).
  const byKey = new Map<string, number>();
  const firsts: IndicatorPartial[] = [];
  const more: (IndicatorPartial[] | undefined)[] = [];
  let merging = 0;
  for (const coll of collections) {
    for (const p of coll) {
      const i = byKey.get(p.key);
      if (i === undefined) {
        byKey.set(p.key, firsts.length);
        firsts.push(p);
        more.push(undefined);
      } else {
        const list = more[i];
        if (list === undefined) {
          more[i] = [p];
          merging++;
        } else list.push(p);
      }
    }
  }
  if (merging === 0) return firsts;
  const buf = new Float64Array(merging * MEASURE_COUNT);
  let used = 0;
  for (let i = 0; i < firsts.length; i++) {
    const list = more[i];
    if (list === undefined) continue;
    const a = firsts[i] as IndicatorPartial;
    const measures = buf.subarray(used, used + MEASURE_COUNT);
    used += MEASURE_COUNT;
    measures.set(a.measures.length > MEASURE_COUNT ? a.measures.subarray(0, MEASURE_COUNT) : a.measures);
    const out: IndicatorPartial = { key: a.key, window: a.window, scope: a.scope, measures, sketch: a.sketch?.clone() ?? null, closed: a.closed, revised: a.revised };
    for (const b of list) mergeInto(out, b);
    firsts[i] = out;
  }
  return firsts;
}

const PARTIAL_MAGIC = 0x50; // 'P'
export const PARTIAL_FORMAT_VERSION = 1;

export function writeMeasures(w: ByteWriter, m: Float64Array): void {
  let nonZero = 0;
  for (let i = 0; i < m.length; i++) if (m[i] !== 0) nonZero++;
  w.uvar(nonZero);
  for (let i = 0; i < m.length; i++) {
    const v = m[i] as number;
    if (v === 0) continue;
    // Measures are integers but for pathological sums; keep those exact as float64.
    if (Number.isSafeInteger(v) && Math.abs(v) < 2 ** 51) {
      w.uvar(i * 2);
      w.svar(v);
    } else {
      w.uvar(i * 2 + 1);
      w.f64(v);
    }
  }
}

export function readMeasures(r: ByteReader): Float64Array {
  const m = new Float64Array(MEASURE_COUNT);
  const n = r.uvar();
  for (let k = 0; k < n; k++) {
    const tag = r.uvar();
    const i = Math.floor(tag / 2);
    const v = tag % 2 === 0 ? r.svar() : r.f64();
    if (i >= MEASURE_COUNT) throw new EngineDecodeError(`measure index ${i} unknown to this build (${MEASURE_COUNT} measures)`);
    m[i] = v;
  }
  return m;
}

export function writeSketch(w: ByteWriter, s: Sketch | null): void {
  if (s === null || s.isEmpty()) {
    w.u8(0);
    return;
  }
  w.u8(1);
  w.svar(s.count);
  w.svar(s.zeroCount);
  const e = s.entries();
  w.uvar(e.length);
  // Keys ascending: each as the difference from the previous one.
  let prev = 0;
  for (const [k, c] of e) {
    w.svar(k - prev);
    w.svar(c);
    prev = k;
  }
}

export function readSketch(r: ByteReader): Sketch | null {
  if (r.u8() === 0) return null;
  const s = new Sketch();
  const count = r.svar();
  const zeroCount = r.svar();
  const n = r.uvar();
  if (n > 100_000) throw new EngineDecodeError(`sketch with ${n} keys is not plausible`);
  let key = 0;
  for (let i = 0; i < n; i++) {
    key += r.svar();
    const c = r.svar();
    s.addPrecomputed(key, c);
  }
  // addPrecomputed counted the keyed observations; restore the stored totals (zeros and retractions).
  s.count = count;
  s.zeroCount = zeroCount;
  return s;
}

export function encodePartial(p: IndicatorPartial): Uint8Array {
  const w = new ByteWriter(128);
  w.u8(PARTIAL_MAGIC);
  w.u8(PARTIAL_FORMAT_VERSION);
  w.u8(kindCode(p.window.kind));
  w.svar(p.window.index);
  w.u8(SCOPE_KINDS.indexOf(p.scope.kind));
  w.str(p.scope.code);
  w.str(p.scope.group ?? '');
  w.u8((p.closed ? 1 : 0) | (p.revised ? 2 : 0));
  writeMeasures(w, p.measures);
  writeSketch(w, p.sketch);
  return w.finish();
}

export function decodePartial(bytes: Uint8Array): IndicatorPartial {
  const r = new ByteReader(bytes);
  if (r.u8() !== PARTIAL_MAGIC) throw new EngineDecodeError('not an iocbus partial (bad magic byte)');
  const version = r.u8();
  if (version !== PARTIAL_FORMAT_VERSION) throw new EngineDecodeError(`partial format version ${version} is not supported (this build reads ${PARTIAL_FORMAT_VERSION})`);
  const kind = WINDOW_KINDS[r.u8()];
  if (kind === undefined) throw new EngineDecodeError('unknown window kind');
  const index = r.svar();
  const scopeKind = SCOPE_KINDS[r.u8()];
  if (scopeKind === undefined) throw new EngineDecodeError('unknown scope kind');
  const code = r.str();
  const group = r.str();
  const flags = r.u8();
  const measures = readMeasures(r);
  const sketch = readSketch(r);
  if (!r.done) throw new EngineDecodeError('trailing bytes after partial');
  const scope: ScopeRef = group === '' ? { kind: scopeKind, code } : { kind: scopeKind, code, group };
  return makePartial(windowRef(kind, index), scope, measures, sketch, (flags & 1) !== 0, (flags & 2) !== 0);
}

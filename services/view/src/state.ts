/**
 * The merged partial state: the latest record of every partials-topic key, grouped by (window, scope)
 * across input partitions, plus each input partition's progress. It remembers, per key, the offset of the
 * record that set it — tombstones included, as markers — which is what lets any instance answer "what
 * changed since these offsets" for a resume token (token.ts).
 */
import {
  MEASURE_COUNT,
  SCOPE_KINDS,
  WINDOW_KINDS,
  decodePartialRecord,
  windowRef,
  type IndicatorPartial,
  type PartitionProgress,
  type ScopeKind,
  type ScopeRef,
  type WindowKind,
  type WindowRef,
} from '@iocbus/engine';
import { scopeId } from './model.js';
import type { Item, RollingSum } from './values.js';

export interface Entry {
  /** Null: a tombstone marker (the input partition no longer holds this partial). */
  readonly partial: IndicatorPartial | null;
  /** Partials-topic partition and offset of the record that set this entry. */
  readonly part: number;
  readonly offset: number;
  /** Wall time at which this instance applied it (markers are pruned by age). */
  readonly appliedAtMs: number;
}

/** One (window, scope), merged over input partitions. */
export class MergedKey {
  readonly entries = new Map<number, Entry>();
  live = 0;
  /** values.ts: the items this calendar key feeds (built once). */
  items: readonly Item[] | undefined;
  private mergedCache: IndicatorPartial | null | undefined;
  constructor(
    readonly key: string,
    readonly window: WindowRef,
    readonly scope: ScopeRef,
    readonly slot: ScopeSlot,
  ) {}

  partials(): IndicatorPartial[] {
    const out: IndicatorPartial[] = [];
    for (const e of this.entries.values()) if (e.partial !== null) out.push(e.partial);
    return out;
  }

  /**
   * The partial merged over input partitions (null when none holds it), cached until the key changes:
   * a rolling hour re-evaluated every minute merges 60 of these rather than 60 × input partitions.
   */
  merged(): IndicatorPartial | null {
    if (this.mergedCache === undefined) {
      const parts = this.partials();
      this.mergedCache = parts.length === 0 ? null : parts.length === 1 ? (parts[0] as IndicatorPartial) : mergeSameKey(parts);
    }
    return this.mergedCache;
  }

  set(input: number, entry: Entry): void {
    this.entries.set(input, entry);
    this.mergedCache = undefined;
  }

  delete(input: number): void {
    this.entries.delete(input);
    this.mergedCache = undefined;
  }

  /** Some record at or after `offsets` (per partials partition) touched this key. */
  changedSince(offsets: readonly number[]): boolean {
    for (const e of this.entries.values()) if (e.offset >= (offsets[e.part] ?? 0)) return true;
    return false;
  }
}

/**
 * mergePartials for partials that all share one key, without its grouping map (one merge per changed key per
 * publish). Same result: the first partial's key, window and scope; measures and sketches added; closed AND,
 * revised OR. Inputs untouched.
 */
export function mergeSameKey(parts: readonly IndicatorPartial[]): IndicatorPartial {
  const a = parts[0] as IndicatorPartial;
  const measures = new Float64Array(MEASURE_COUNT);
  measures.set(a.measures.length > MEASURE_COUNT ? a.measures.subarray(0, MEASURE_COUNT) : a.measures);
  let sketch = a.sketch?.clone() ?? null;
  let closed = a.closed;
  let revised = a.revised;
  for (let k = 1; k < parts.length; k++) {
    const b = parts[k] as IndicatorPartial;
    const bm = b.measures;
    const n = Math.min(MEASURE_COUNT, bm.length);
    for (let i = 0; i < n; i++) measures[i]! += bm[i] as number;
    if (b.sketch !== null) {
      if (sketch === null) sketch = b.sketch.clone();
      else sketch.merge(b.sketch);
    }
    closed = closed && b.closed;
    revised = revised || b.revised;
  }
  return { key: a.key, window: a.window, scope: a.scope, measures, sketch, closed, revised };
}

/** Everything held for one scope: its calendar windows, minute buckets and gauges. */
export class ScopeSlot {
  readonly calendar = new Set<MergedKey>();
  readonly minutes = new Set<MergedKey>();
  now: MergedKey | undefined;
  /** values.ts: the minute buckets of the rolling hour but its last minute, summed (see ValueTable.rollingBase). */
  rollingBase: RollingSum | undefined;
  /** values.ts: this scope's rolling-hour item (built once). */
  rollingItem: Item | undefined;
  constructor(
    readonly id: string,
    readonly scope: ScopeRef,
  ) {}

  get empty(): boolean {
    return this.calendar.size === 0 && this.minutes.size === 0 && this.now === undefined;
  }
}

/** An input partition's latest progress report, and where in the partials topic it was read. */
export interface AppliedProgress extends PartitionProgress {
  record: { partition: number; offset: string };
}

export interface RecordLike {
  partition: number;
  offset: string;
  key: string;
  value: Uint8Array;
}

export interface PartialStateOptions {
  /** Partials-topic partition count. */
  partitions: number;
  /** Tombstone markers kept at most this long (resume tokens older than this are refused anyway). */
  markerMaxAgeMs: number;
  /** And at most this many; the oldest go first. */
  maxMarkers: number;
  /** Called for every key whose merged content changed. */
  onChange(key: MergedKey): void;
  /** Called for a record that cannot be decoded (it is skipped). */
  onDecodeError(record: RecordLike, err: unknown): void;
}

export class PartialState {
  readonly keys = new Map<string, MergedKey>();
  readonly scopes = new Map<string, ScopeSlot>();
  readonly progress = new Map<number, AppliedProgress>();
  /** Next offset to apply, per partials-topic partition. */
  readonly applied: number[];
  /** Tokens with an offset below this cannot be resumed (a marker they would need was pruned). */
  readonly horizon: number[];
  private readonly markers: { mk: MergedKey; input: number; entry: Entry }[] = [];
  private markerHead = 0;
  private liveEntries = 0;

  constructor(private readonly options: PartialStateOptions) {
    this.applied = new Array<number>(options.partitions).fill(0);
    this.horizon = new Array<number>(options.partitions).fill(0);
  }

  get partialCount(): number {
    return this.liveEntries;
  }

  get markerCount(): number {
    return this.markers.length - this.markerHead;
  }

  /** Applies one record; returns what it was ('invalid' when it could not be decoded and was skipped). */
  apply(record: RecordLike, nowMs: number): 'partial' | 'removed' | 'progress' | 'invalid' {
    const offset = Number(record.offset);
    const part = record.partition;
    if (offset + 1 > (this.applied[part] ?? 0)) this.applied[part] = offset + 1;
    let decoded;
    try {
      decoded = decodePartialRecord(record.key, record.value);
    } catch (err) {
      this.options.onDecodeError(record, err);
      return 'invalid';
    }
    if (decoded.kind === 'progress') {
      this.progress.set(decoded.inputPartition, { ...decoded.progress, record: { partition: part, offset: record.offset } });
      return 'progress';
    }
    const entry: Entry = { partial: decoded.kind === 'partial' ? decoded.partial : null, part, offset, appliedAtMs: nowMs };
    let mk = this.keys.get(decoded.partialKey);
    if (mk === undefined) {
      // A marker for a key never seen still matters: another instance may have shown its earlier value.
      const ref = decoded.kind === 'partial' ? decoded.partial : parsePartialKey(decoded.partialKey);
      if (ref === undefined) {
        this.options.onDecodeError(record, new Error(`partial key ${decoded.partialKey} cannot be parsed`));
        return 'invalid';
      }
      mk = this.createKey(decoded.partialKey, ref.window, ref.scope);
    }
    const prev = mk.entries.get(decoded.inputPartition);
    if (prev?.partial != null) {
      mk.live--;
      this.liveEntries--;
    }
    mk.set(decoded.inputPartition, entry);
    if (entry.partial !== null) {
      mk.live++;
      this.liveEntries++;
    } else {
      this.markers.push({ mk, input: decoded.inputPartition, entry });
    }
    this.options.onChange(mk);
    return decoded.kind;
  }

  /** Drops markers past their age or over the cap, raising the resume horizon past each. */
  pruneMarkers(nowMs: number): void {
    const cutoff = nowMs - this.options.markerMaxAgeMs;
    while (this.markerHead < this.markers.length) {
      const m = this.markers[this.markerHead] as (typeof this.markers)[number];
      if (m.entry.appliedAtMs >= cutoff && this.markerCount <= this.options.maxMarkers) break;
      this.markerHead++;
      if (m.entry.offset + 1 > (this.horizon[m.entry.part] ?? 0)) this.horizon[m.entry.part] = m.entry.offset + 1;
      if (m.mk.entries.get(m.input) === m.entry) {
        m.mk.delete(m.input);
        if (m.mk.entries.size === 0) this.dropKey(m.mk);
      }
    }
    if (this.markerHead > 1024 && this.markerHead * 2 > this.markers.length) {
      this.markers.splice(0, this.markerHead);
      this.markerHead = 0;
    }
  }

  private createKey(key: string, window: WindowRef, scope: ScopeRef): MergedKey {
    const sid = scopeId(scope.kind, scope.code);
    let slot = this.scopes.get(sid);
    if (slot === undefined) {
      slot = new ScopeSlot(sid, scope);
      this.scopes.set(sid, slot);
    }
    const mk = new MergedKey(key, window, scope, slot);
    this.keys.set(key, mk);
    if (window.kind === 'minute') slot.minutes.add(mk);
    else if (window.kind === 'now') slot.now = mk;
    else slot.calendar.add(mk);
    return mk;
  }

  private dropKey(mk: MergedKey): void {
    this.keys.delete(mk.key);
    const slot = mk.slot;
    slot.calendar.delete(mk);
    slot.minutes.delete(mk);
    if (slot.now === mk) slot.now = undefined;
    if (slot.empty) this.scopes.delete(slot.id);
  }

  /** Lowest event-time watermark over input partitions that have one. */
  watermarkMs(): number | null {
    let min: number | null = null;
    for (const p of this.progress.values()) if (p.watermarkMs !== null && (min === null || p.watermarkMs < min)) min = p.watermarkMs;
    return min;
  }

  /** Oldest progress report over input partitions (null before any). */
  progressTimeMs(): number | null {
    let min: number | null = null;
    for (const p of this.progress.values()) if (min === null || p.updatedAtMs < min) min = p.updatedAtMs;
    return min;
  }
}

/**
 * The (window, scope) of a partial key (`day:2025-03-14|unit:H21.17`), for tombstones of keys this
 * instance never saw a value for. Labels are parsed back into window indices.
 */
export function parsePartialKey(key: string): { window: WindowRef; scope: ScopeRef } | undefined {
  const bar = key.indexOf('|');
  if (bar < 0) return undefined;
  const w = key.slice(0, bar);
  const s = key.slice(bar + 1);
  const wc = w.indexOf(':');
  const sc = s.indexOf(':');
  if (wc < 0 || sc < 0) return undefined;
  const kind = w.slice(0, wc) as WindowKind;
  const scopeKind = s.slice(0, sc) as ScopeKind;
  if (!WINDOW_KINDS.includes(kind) || !SCOPE_KINDS.includes(scopeKind)) return undefined;
  const index = windowIndexOfLabel(kind, w.slice(wc + 1));
  if (index === undefined) return undefined;
  const window = windowRef(kind, index);
  if (window.label !== w.slice(wc + 1)) return undefined;
  return { window, scope: { kind: scopeKind, code: s.slice(sc + 1) } };
}

function windowIndexOfLabel(kind: WindowKind, label: string): number | undefined {
  const num = (s: string | undefined): number => (s === undefined ? NaN : Number(s));
  switch (kind) {
    case 'now':
      return label === 'now' ? 0 : undefined;
    case 'year':
      return Number.isInteger(num(label)) ? num(label) : undefined;
    case 'quarter': {
      const m = /^(\d{4,})-Q([1-4])$/.exec(label);
      return m ? num(m[1]) * 4 + num(m[2]) - 1 : undefined;
    }
    case 'month': {
      const m = /^(\d{4,})-(\d{2})$/.exec(label);
      return m ? num(m[1]) * 12 + num(m[2]) - 1 : undefined;
    }
    case 'day': {
      const t = Date.parse(`${label}T00:00:00Z`);
      return /^\d{4,}-\d{2}-\d{2}$/.test(label) && Number.isFinite(t) ? Math.floor(t / 86_400_000) : undefined;
    }
    case 'minute': {
      // Labels are local time (UTC+7).
      const t = Date.parse(`${label}:00+07:00`);
      return /^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(label) && Number.isFinite(t) ? Math.floor(t / 60_000) : undefined;
    }
  }
}

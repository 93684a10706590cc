/**
 * Indicator values from the merged state. Work is done per *item* — one (window, scope) of values: a
 * calendar window, the rolling hour, or the gauges of a scope — re-evaluated only when one of its inputs
 * changed, or when time moved it (the rolling hour every minute, "current" windows at local midnight).
 *
 * Evaluation uses the minute the table is at, never the raw clock, so values are a function of
 * (partials applied, minute): two instances at the same offsets and minute hold the same values, which
 * is what makes resume tokens portable.
 */
import { INDICATORS, MEASURE_COUNT, Sketch, VALUE_WINDOWS, evaluate, windowRef, type IndicatorDef, type IndicatorPartial, type IndicatorValue, type ValueWindow, type WindowRef } from '@iocbus/engine';
import type { Catalog } from '@iocbus/catalog';
import { valueKey, windowId, type ViewScope, type ViewValue, type ViewWindow } from './model.js';
import type { MergedKey, PartialState, ScopeSlot } from './state.js';

/**
 * Quarters and years have no partials of their own (the engine accumulates days and months only): a
 * 'period' item sums the months of its quarter or year in one scope (evaluate derives them from months).
 */
export type Item =
  | { type: 'cal'; id: string; mk: MergedKey }
  | { type: 'now'; id: string; mk: MergedKey }
  | { type: 'rolling'; id: string; slot: ScopeSlot }
  | { type: 'period'; id: string; window: WindowRef; slot: ScopeSlot };

const MINUTE_MS = 60_000;

/**
 * The catalog's indicators of one window kind, each narrowed to that kind (catalog order kept, so qd766.score
 * still sees the values before it). An item evaluates only its own kind: given all indicators, evaluate()
 * also computed every month of a year item and the quarter and year of every month item (derived from months
 * whatever is asked), values thrown away at once — two thirds of the view's evaluation per publish.
 */
const DEFS_OF_KIND = new Map<ValueWindow, readonly IndicatorDef[]>(
  VALUE_WINDOWS.map((w) => [w, INDICATORS.filter((d) => d.windows.includes(w)).map((d) => ({ ...d, windows: [w] }))]),
);
const VN_OFFSET_MIN = 7 * 60;
export const localDayOfMinute = (minute: number): number => Math.floor((minute + VN_OFFSET_MIN) / 1440);

const rollingId = (slot: ScopeSlot): string => `${windowId('rolling_1h', 'rolling_1h')}|${slot.id}`;
/** Item descriptors are immutable and cached on their key or scope: marking a change builds no window or id. */
const rollingItem = (slot: ScopeSlot): Item => (slot.rollingItem ??= { type: 'rolling', id: rollingId(slot), slot });

function isCurrent(w: { startMs: number; endMs: number }, nowMs: number): boolean {
  return w.startMs <= nowMs && nowMs < w.endMs;
}

function periodItem(kind: 'quarter' | 'year', index: number, slot: ScopeSlot): Item {
  const window = windowRef(kind, index);
  return { type: 'period', id: `${windowId(kind, window.label)}|${slot.id}`, window, slot };
}

/** The items of a day or month key: itself, and for a month its quarter and year. */
function itemsOfCalendarKey(mk: MergedKey): readonly Item[] {
  const kind = mk.window.kind;
  if (kind === 'quarter' || kind === 'year') return []; // derived from months, whatever a producer sends
  const own: Item = { type: 'cal', id: mk.key, mk };
  if (kind !== 'month') return [own];
  const y = Math.floor(mk.window.index / 12);
  return [own, periodItem('quarter', y * 4 + Math.floor((mk.window.index % 12) / 3), mk.slot), periodItem('year', y, mk.slot)];
}

function calendarItems(mk: MergedKey, out: Map<string, Item>): void {
  for (const it of (mk.items ??= itemsOfCalendarKey(mk))) out.set(it.id, it);
}

/** A module function, not a closure per evaluation (tsx names every closure it creates, at a cost per call). */
function addInput(inputs: IndicatorPartial[], p: IndicatorPartial | null | undefined): void {
  if (p !== null && p !== undefined) inputs.push(p);
}

function valueWindowOf(item: Item): ValueWindow {
  if (item.type === 'rolling') return 'rolling_1h';
  if (item.type === 'now') return 'now';
  if (item.type === 'period') return item.window.kind as ValueWindow;
  return item.mk.window.kind as ValueWindow;
}

/** Items whose values a change of `mk` may move, at evaluation minute `minute`. */
export function itemsAffectedBy(mk: MergedKey, minute: number, out: Map<string, Item>): void {
  const kind = mk.window.kind;
  if (kind === 'minute') {
    const it = rollingItem(mk.slot);
    out.set(it.id, it);
    return;
  }
  if (kind !== 'now') {
    calendarItems(mk, out);
    return;
  }
  out.set(mk.key, { type: 'now', id: mk.key, mk });
  // Gauges feed the "open now" terms of current windows (Decision 766 §2.1).
  const nowMs = minute * MINUTE_MS;
  for (const cal of mk.slot.calendar) {
    if (cal.window.kind === 'month') {
      for (const it of (cal.items ??= itemsOfCalendarKey(cal))) if (isCurrent(it.type === 'period' ? it.window : cal.window, nowMs)) out.set(it.id, it);
    } else if (isCurrent(cal.window, nowMs)) calendarItems(cal, out);
  }
  if (mk.slot.minutes.size > 0) {
    const it = rollingItem(mk.slot);
    out.set(it.id, it);
  }
}

/** Items whose values may differ between (offsets, fromMinute) and the state now at `minute`. */
export function itemsChangedSince(state: PartialState, offsets: readonly number[], fromMinute: number, minute: number): Map<string, Item> {
  const out = new Map<string, Item>();
  const minuteMoved = fromMinute !== minute;
  const dayMoved = localDayOfMinute(fromMinute) !== localDayOfMinute(minute);
  for (const mk of state.keys.values()) {
    if (mk.changedSince(offsets)) itemsAffectedBy(mk, minute, out);
    else if (dayMoved && mk.window.kind !== 'minute' && mk.window.kind !== 'now') calendarItems(mk, out);
  }
  if (minuteMoved) {
    for (const slot of state.scopes.values()) {
      if (slot.minutes.size === 0) continue;
      const it = rollingItem(slot);
      out.set(it.id, it);
    }
  }
  return out;
}

/** Every value key an item can have (for removals, when no value object is left to name them). */
export function possibleKeys(item: Item): string[] {
  const w = valueWindowOf(item);
  const scope = item.type === 'rolling' || item.type === 'period' ? item.slot.scope : item.mk.scope;
  const label = item.type === 'rolling' ? 'rolling_1h' : item.type === 'now' ? 'now' : item.type === 'period' ? item.window.label : item.mk.window.label;
  return INDICATORS.filter((d) => d.windows.includes(w)).map((d) => valueKey(d.id, w, label, scope.kind, scope.code));
}

function unchanged(a: ViewValue, b: IndicatorValue): boolean {
  return (
    a.value === b.value &&
    a.numerator === b.numerator &&
    a.denominator === b.denominator &&
    a.eventCount === b.eventCount &&
    a.open === b.open &&
    a.revised === b.revised &&
    a.points === b.points &&
    a.maxPoints === b.maxPoints &&
    a.target === b.target
  );
}

export class ScopeNames {
  private readonly cache = new Map<string, ViewScope>();
  constructor(private readonly catalog: Catalog) {}

  decorate(scope: { kind: ViewScope['kind']; code: string; group?: string }): ViewScope {
    const id = `${scope.kind}:${scope.code}:${scope.group ?? ''}`;
    let out = this.cache.get(id);
    if (out === undefined) {
      const group = this.groupOf(scope);
      const name = this.nameOf(scope.kind, scope.code);
      out = { kind: scope.kind, code: scope.code, ...(group === undefined ? {} : { group }), ...(name === undefined ? {} : { name }) };
      this.cache.set(id, out);
    }
    return out;
  }

  private groupOf(scope: { kind: string; code: string; group?: string }): string | undefined {
    if (scope.kind !== 'unit') return undefined;
    return this.catalog.unit(scope.code)?.group ?? scope.group;
  }

  private nameOf(kind: string, code: string): string | undefined {
    switch (kind) {
      case 'province':
        return code === this.catalog.province.code ? this.catalog.province.name : undefined;
      case 'unit':
        return this.catalog.unit(code)?.name;
      case 'procedure':
        return this.catalog.procedure(code)?.name;
      case 'sector':
        return this.catalog.sector(code)?.name;
      default:
        return undefined;
    }
  }
}

/** A scope's minute buckets in (minute − 60, minute − 1], summed (ValueTable.rollingBase). */
export class RollingSum {
  readonly measures = new Float64Array(MEASURE_COUNT);
  sketch: Sketch | null = null;
  /** Each bucket summed, with the merged partial it added. */
  readonly parts = new Map<MergedKey, IndicatorPartial>();
  /** Buckets changed since they were summed. */
  readonly stale = new Set<MergedKey>();
  /** Some measure summed is not an integer: adding and subtracting it could round differently from a fresh sum. */
  inexact = false;
  readonly window: WindowRef;

  constructor(readonly minute: number) {
    this.window = windowRef('minute', minute - 1);
  }

  holds(mk: MergedKey): boolean {
    return mk.window.kind === 'minute' && mk.window.index < this.minute && mk.window.index > this.minute - 60;
  }

  include(mk: MergedKey): void {
    const p = mk.merged();
    if (p === null) return;
    this.add(p, 1);
    this.parts.set(mk, p);
  }

  add(p: IndicatorPartial, sign: 1 | -1): void {
    const m = this.measures;
    const pm = p.measures;
    const n = Math.min(MEASURE_COUNT, pm.length);
    for (let i = 0; i < n; i++) {
      const v = pm[i] as number;
      if (!Number.isInteger(v)) this.inexact = true;
      m[i]! += sign * v;
    }
    if (p.sketch !== null) (this.sketch ??= new Sketch()).merge(p.sketch, sign);
  }
}

export interface ValueTableOptions {
  state: PartialState;
  names: ScopeNames;
  /** Evaluation minute to start at (epoch minutes). */
  minute: number;
}

export class ValueTable {
  readonly byKey = new Map<string, ViewValue>();
  /** Item id → its values. */
  readonly byItem = new Map<string, readonly ViewValue[]>();
  /** Scope id → ids of items holding values, for filtered snapshots. */
  readonly itemsByScope = new Map<string, Set<string>>();
  private dirty = new Map<string, Item>();
  private readonly changedKeys = new Set<MergedKey>();
  private currentMinute: number;

  constructor(private readonly options: ValueTableOptions) {
    this.currentMinute = options.minute;
  }

  get minute(): number {
    return this.currentMinute;
  }

  /** Items to re-evaluate at the next recompute (after advanceTo, so a change is placed at the new minute). */
  get pendingItems(): number {
    this.placeChangedKeys();
    return this.dirty.size;
  }

  /**
   * Notes a key whose merged content changed. Its items are worked out once per publish (placeChangedKeys),
   * not once per record: under load each key gets a record from every input partition between publishes, and
   * a gauge's key fans out to every current calendar window of its scope.
   */
  markChanged(mk: MergedKey): void {
    this.changedKeys.add(mk);
    // A bucket the cached sum holds changed (a resolution, a late event, a removal): redo its part when next needed.
    const base = mk.slot.rollingBase;
    if (base !== undefined && base.holds(mk)) base.stale.add(mk);
  }

  /**
   * The rolling hour's buckets before `minute`, summed once per scope and minute and then kept up to date by
   * difference: every publish under load changes the current bucket, and summing all 60 buckets (measures and
   * sketches) for each changed scope's rolling hour was most of its cost. Resolutions also change the buckets
   * of their dossiers' receipt, tens of minutes back, so a changed bucket is subtracted and added again rather
   * than the sum rebuilt. Exact: measures and sketch bins are integers (a sum that is not falls back to summing
   * afresh), so the result is the sum any order gives.
   */
  private rollingBase(slot: ScopeSlot, minute: number): IndicatorPartial | null {
    let rs = slot.rollingBase;
    if (rs !== undefined && rs.minute === minute && rs.stale.size > 0) {
      for (const mk of rs.stale) {
        const old = rs.parts.get(mk);
        if (old !== undefined) {
          rs.add(old, -1);
          rs.parts.delete(mk);
        }
        rs.include(mk);
      }
      rs.stale.clear();
    }
    if (rs === undefined || rs.minute !== minute || rs.inexact) {
      rs = new RollingSum(minute);
      for (const mk of slot.minutes) if (rs.holds(mk)) rs.include(mk);
      slot.rollingBase = rs;
    }
    // A minute partial of its own key (evaluate() adds the minute partials of a scope in the hour, by window index).
    return rs.parts.size === 0 ? null : { key: `rolling-base|${slot.id}`, window: rs.window, scope: slot.scope, measures: rs.measures, sketch: rs.sketch, closed: false, revised: false };
  }

  /** Moves evaluation time forward; marks what time alone changes. */
  advanceTo(minute: number): void {
    if (minute <= this.currentMinute) return;
    const dayMoved = localDayOfMinute(minute) !== localDayOfMinute(this.currentMinute);
    this.currentMinute = minute;
    const state = this.options.state;
    for (const slot of state.scopes.values()) {
      if (slot.minutes.size > 0 || this.byItem.has(rollingId(slot))) {
        const it = rollingItem(slot);
        this.dirty.set(it.id, it);
      }
      if (dayMoved) for (const mk of slot.calendar) calendarItems(mk, this.dirty);
    }
  }

  private placeChangedKeys(): void {
    if (this.changedKeys.size === 0) return;
    for (const mk of this.changedKeys) itemsAffectedBy(mk, this.currentMinute, this.dirty);
    this.changedKeys.clear();
  }

  /** Re-evaluates every marked item; returns the keys of values that changed, appeared or disappeared. */
  recompute(nowMs: number): string[] {
    this.placeChangedKeys();
    const changed: string[] = [];
    const items = this.dirty;
    this.dirty = new Map();
    for (const item of items.values()) this.recomputeItem(item, nowMs, changed);
    return changed;
  }

  private recomputeItem(item: Item, nowMs: number, changed: string[]): void {
    const fresh = this.evaluateItem(item);
    const old = this.byItem.get(item.id);
    const scope = item.type === 'rolling' || item.type === 'period' ? item.slot.scope : item.mk.scope;
    const sid = `${scope.kind}:${scope.code}`;
    if (fresh.length === 0) {
      if (old === undefined) return;
      for (const v of old) {
        this.byKey.delete(v.key);
        changed.push(v.key);
      }
      this.byItem.delete(item.id);
      const set = this.itemsByScope.get(sid);
      set?.delete(item.id);
      if (set?.size === 0) this.itemsByScope.delete(sid);
      return;
    }
    // Hot path (every changed item of every publish): one window object per item, keys from a shared
    // suffix, a value object only for what changed, every value object of one shape.
    const decorated = this.options.names.decorate(scope);
    const fw = (fresh[0] as IndicatorValue).window;
    const suffix = `|${fw.kind}:${fw.label}|${scope.kind}:${scope.code}`;
    const first = old?.[0];
    const gauge = fw.kind === 'now';
    const startMs = gauge ? null : fw.startMs;
    const endMs = gauge ? null : fw.endMs;
    const window: ViewWindow =
      first !== undefined && first.window.startMs === startMs && first.window.endMs === endMs && first.window.current === fw.current
        ? first.window
        : { kind: fw.kind, label: fw.label, startMs, endMs, current: fw.current };
    const next: ViewValue[] = [];
    let kept = 0;
    for (let i = 0; i < fresh.length; i++) {
      const iv = fresh[i] as IndicatorValue;
      // evaluate lists an item's indicators in catalog order, so the previous value is usually at i.
      let prev = old?.[i];
      if (prev === undefined || prev.indicator !== iv.indicator) prev = this.byKey.get(iv.indicator + suffix);
      if (prev !== undefined) kept++;
      if (prev !== undefined && prev.window === window && prev.scope === decorated && unchanged(prev, iv)) {
        next.push(prev);
        continue;
      }
      const key = prev?.key ?? iv.indicator + suffix;
      const v: ViewValue = {
        key,
        indicator: iv.indicator,
        window,
        scope: decorated,
        value: iv.value,
        numerator: iv.numerator,
        denominator: iv.denominator,
        eventCount: iv.eventCount,
        open: iv.open,
        revised: iv.revised,
        points: iv.points,
        maxPoints: iv.maxPoints,
        target: iv.target,
        updatedAtMs: nowMs,
      };
      this.byKey.set(key, v);
      next.push(v);
      changed.push(key);
    }
    if (old !== undefined && kept < old.length) {
      const seen = new Set(next.map((v) => v.key));
      for (const v of old) {
        if (seen.has(v.key)) continue;
        this.byKey.delete(v.key);
        changed.push(v.key);
      }
    }
    this.byItem.set(item.id, next);
    let set = this.itemsByScope.get(sid);
    if (set === undefined) {
      set = new Set();
      this.itemsByScope.set(sid, set);
    }
    set.add(item.id);
  }

  private evaluateItem(item: Item) {
    const minute = this.currentMinute;
    const nowMs = minute * MINUTE_MS;
    const inputs: IndicatorPartial[] = [];
    let kind: ValueWindow;
    let label: string;
    if (item.type === 'rolling') {
      addInput(inputs, this.rollingBase(item.slot, minute));
      for (const mk of item.slot.minutes) if (mk.window.index === minute) addInput(inputs, mk.merged());
      if (inputs.length === 0) return [];
      addInput(inputs, item.slot.now?.merged());
      kind = 'rolling_1h';
      label = 'rolling_1h';
    } else if (item.type === 'now') {
      addInput(inputs, item.mk.merged());
      kind = 'now';
      label = 'now';
    } else if (item.type === 'period') {
      const w = item.window;
      for (const mk of item.slot.calendar) if (mk.window.kind === 'month' && mk.window.startMs >= w.startMs && mk.window.endMs <= w.endMs) addInput(inputs, mk.merged());
      if (inputs.length === 0) return [];
      if (isCurrent(w, nowMs)) addInput(inputs, item.slot.now?.merged());
      kind = w.kind as ValueWindow;
      label = w.label;
    } else {
      addInput(inputs, item.mk.merged());
      if (inputs.length === 0) return [];
      if (isCurrent(item.mk.window, nowMs)) addInput(inputs, item.mk.slot.now?.merged());
      kind = item.mk.window.kind as ValueWindow;
      label = item.mk.window.label;
    }
    if (inputs.length === 0) return [];
    // Only this item's kind is evaluated (DEFS_OF_KIND); the label check keeps it to this window.
    const out = evaluate(inputs, { nowMs, indicators: DEFS_OF_KIND.get(kind) as readonly IndicatorDef[] });
    for (const v of out) if (v.window.label !== label) return out.filter((x) => x.window.label === label);
    return out;
  }
}

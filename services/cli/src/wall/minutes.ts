/**
 * The last hour minute by minute, for the wall's sparklines. The view serves the rolling hour as one value;
 * the minute buckets it is summed from are in the view's merged state, so they are read from there and
 * evaluated one bucket at a time with the engine's own evaluator. The buckets add up to the rolling_1h
 * value the view serves at the same evaluation minute.
 */
import { INDICATORS, evaluate } from '@iocbus/engine';
import type { View } from '@iocbus/view';

export const SERIES_INDICATORS = ['received', 'resolved'] as const;
const DEFS = INDICATORS.filter((d) => (SERIES_INDICATORS as readonly string[]).includes(d.id));

export interface MinuteSeries {
  /** The last minute of the hour (epoch minutes): the view's evaluation minute. */
  endMinute: number;
  /** 60 values each, oldest first, for minutes endMinute − 59 … endMinute. */
  series: Record<(typeof SERIES_INDICATORS)[number], number[]>;
}

export function provinceMinutes(view: View): MinuteSeries | undefined {
  const core = view.isReady() ? view.core : undefined;
  if (core === undefined) return undefined;
  const endMinute = core.table.minute;
  const series = { received: new Array<number>(60).fill(0), resolved: new Array<number>(60).fill(0) };
  for (const slot of core.state.scopes.values()) {
    if (slot.scope.kind !== 'province') continue;
    for (const mk of slot.minutes) {
      const i = mk.window.index - (endMinute - 59);
      if (i < 0 || i >= 60) continue;
      for (const v of evaluate(mk.partials(), { nowMs: mk.window.index * 60_000, indicators: DEFS })) {
        if (v.window.kind === 'rolling_1h' && (v.indicator === 'received' || v.indicator === 'resolved')) series[v.indicator][i] = v.value ?? 0;
      }
    }
  }
  return { endMinute, series };
}

/**
 * The view's value model: one indicator value in one window of one scope, as served to every transport.
 * Values are immutable; a change replaces the object, so a message built from them never changes under
 * a slow subscriber.
 */
import type { ScopeKind, ValueWindow } from '@iocbus/engine';

export interface ViewWindow {
  kind: ValueWindow;
  /** 2025-03-14, 2025-03, 2025-Q1, 2025, rolling_1h, now. */
  label: string;
  /** Null for `now` (gauges have no extent). */
  startMs: number | null;
  endMs: number | null;
  current: boolean;
}

export interface ViewScope {
  kind: ScopeKind;
  code: string;
  /** Units: department or commune. */
  group?: string;
  /** Display name from the unit catalog. */
  name?: string;
}

export interface ViewValue {
  /** `<indicator>|<window kind>:<label>|<scope kind>:<code>`: identifies the value across instances. */
  readonly key: string;
  readonly indicator: string;
  readonly window: ViewWindow;
  readonly scope: ViewScope;
  readonly value: number | null;
  readonly numerator: number | null;
  readonly denominator: number | null;
  readonly eventCount: number;
  readonly open: boolean;
  readonly revised: boolean;
  readonly points?: number | null;
  readonly maxPoints?: number;
  readonly target?: number;
  /** Server time at which this instance saw the value change. */
  readonly updatedAtMs: number;
}

/** A value that no longer exists (its window aged out), by identity only. */
export interface RemovedKey {
  readonly key: string;
  readonly indicator: string;
  readonly window: { kind: ValueWindow; label: string };
  readonly scope: { kind: ScopeKind; code: string };
}

export const windowId = (kind: string, label: string): string => `${kind}:${label}`;
export const scopeId = (kind: string, code: string): string => `${kind}:${code}`;
export const valueKey = (indicator: string, kind: string, label: string, scopeKind: string, scopeCode: string): string =>
  `${indicator}|${kind}:${label}|${scopeKind}:${scopeCode}`;

/** Parses a value key back into its parts (used for removals, where no value object is left). */
export function parseValueKey(key: string): RemovedKey | undefined {
  const a = key.indexOf('|');
  const b = key.indexOf('|', a + 1);
  if (a < 0 || b < 0) return undefined;
  const w = key.slice(a + 1, b);
  const s = key.slice(b + 1);
  const wc = w.indexOf(':');
  const sc = s.indexOf(':');
  if (wc < 0 || sc < 0) return undefined;
  return {
    key,
    indicator: key.slice(0, a),
    window: { kind: w.slice(0, wc) as ValueWindow, label: w.slice(wc + 1) },
    scope: { kind: s.slice(0, sc) as ScopeKind, code: s.slice(sc + 1) },
  };
}

/**
 * Value filters, shared by every transport: which indicators, windows and scopes a request or stream wants.
 * A compiled filter has a canonical form; subscribers with the same canonical form share every encoded
 * message, and resume tokens carry its hash so a token is never resumed under another filter.
 */
import { INDICATORS, SCOPE_KINDS, VALUE_WINDOWS, type ScopeKind, type ValueWindow } from '@iocbus/engine';
import { ViewError } from './errors.js';

export interface ScopeSelector {
  kind: ScopeKind;
  /** Empty or absent: every scope of this kind. */
  keys?: readonly string[];
}

export interface IndicatorFilter {
  indicators?: readonly string[];
  windows?: readonly ValueWindow[];
  scopes?: readonly ScopeSelector[];
  /** Only windows containing the current time. */
  currentOnly?: boolean;
}

/** What a filter looks at: a ViewValue or a removed key. */
export interface Filterable {
  indicator: string;
  window: { kind: ValueWindow; current?: boolean };
  scope: { kind: ScopeKind; code: string };
}

export interface CompiledFilter {
  readonly canonical: string;
  /** 32-bit hash of `canonical`, carried in resume tokens. */
  readonly hash: number;
  /** Scope kinds → keys (null: all keys of the kind); null when every scope matches. */
  readonly scopes: ReadonlyMap<ScopeKind, ReadonlySet<string> | null> | null;
  matches(v: Filterable): boolean;
  /** Matching ignoring `currentOnly` (removals: a removed window is never current). */
  matchesKey(v: Filterable): boolean;
}

const INDICATOR_IDS = new Set(INDICATORS.map((d) => d.id));

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Validates and normalises a filter; unknown indicator ids, windows or scope kinds are refused. */
export function compileFilter(filter: IndicatorFilter = {}): CompiledFilter {
  const problems: string[] = [];
  const indicators = [...new Set(filter.indicators ?? [])].sort();
  for (const id of indicators) if (!INDICATOR_IDS.has(id)) problems.push(`unknown indicator "${id}"`);
  const windows = [...new Set(filter.windows ?? [])].sort();
  for (const w of windows) if (!(VALUE_WINDOWS as readonly string[]).includes(w)) problems.push(`unknown window "${w}"`);
  const scopeMap = new Map<ScopeKind, Set<string> | null>();
  for (const sel of filter.scopes ?? []) {
    if (!(SCOPE_KINDS as readonly string[]).includes(sel.kind)) {
      problems.push(`unknown scope kind "${sel.kind}"`);
      continue;
    }
    const keys = sel.keys ?? [];
    const prev = scopeMap.get(sel.kind);
    if (keys.length === 0 || prev === null) scopeMap.set(sel.kind, null);
    else scopeMap.set(sel.kind, new Set([...(prev ?? []), ...keys]));
  }
  if (problems.length > 0) throw new ViewError('IOC_VIEW_INVALID_FILTER', problems.join('; '));

  const scopes = scopeMap.size === 0 ? null : scopeMap;
  const currentOnly = filter.currentOnly === true;
  const canonical = JSON.stringify({
    i: indicators,
    w: windows,
    s: scopes === null ? null : [...scopes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v === null ? null : [...v].sort()]),
    c: currentOnly,
  });
  const indicatorSet = indicators.length === 0 ? null : new Set(indicators);
  const windowSet = windows.length === 0 ? null : new Set<string>(windows);
  const matchesKey = (v: Filterable): boolean => {
    if (indicatorSet !== null && !indicatorSet.has(v.indicator)) return false;
    if (windowSet !== null && !windowSet.has(v.window.kind)) return false;
    if (scopes !== null) {
      const keys = scopes.get(v.scope.kind);
      if (keys === undefined) return false;
      if (keys !== null && !keys.has(v.scope.code)) return false;
    }
    return true;
  };
  return {
    canonical,
    hash: fnv1a(canonical),
    scopes,
    matchesKey,
    matches: currentOnly ? (v) => v.window.current === true && matchesKey(v) : matchesKey,
  };
}

const WINDOW_ALIASES: Record<string, ValueWindow> = { today: 'day', day: 'day', month: 'month', quarter: 'quarter', year: 'year', rolling_1h: 'rolling_1h', now: 'now' };

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const parts = typeof value === 'string' ? [value] : value;
  return parts.flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * The HTTP form: `indicator=a,b`, `window=today,month` (`today` = `day`), `scope=province`, `scope=unit`
 * (every unit), `scope=unit:H21.17`; each may repeat or hold a comma-separated list; `current=true`.
 */
export function filterFromQuery(query: Record<string, string | readonly string[] | undefined>): IndicatorFilter {
  const problems: string[] = [];
  const windows: ValueWindow[] = [];
  for (const w of list(query.window)) {
    const kind = WINDOW_ALIASES[w];
    if (kind === undefined) problems.push(`unknown window "${w}" (today, month, quarter, year, rolling_1h, now)`);
    else windows.push(kind);
  }
  const scopes: ScopeSelector[] = [];
  for (const s of list(query.scope)) {
    const colon = s.indexOf(':');
    const kind = (colon < 0 ? s : s.slice(0, colon)) as ScopeKind;
    const key = colon < 0 ? undefined : s.slice(colon + 1);
    if (!(SCOPE_KINDS as readonly string[]).includes(kind)) problems.push(`unknown scope kind "${kind}" (${SCOPE_KINDS.join(', ')})`);
    else scopes.push(key === undefined || key === '' ? { kind } : { kind, keys: [key] });
  }
  const current = list(query.current)[0];
  if (current !== undefined && current !== 'true' && current !== 'false' && current !== '1' && current !== '0') {
    problems.push(`current must be true or false, got "${current}"`);
  }
  if (problems.length > 0) throw new ViewError('IOC_VIEW_INVALID_FILTER', problems.join('; '));
  return { indicators: list(query.indicator), windows, scopes, currentOnly: current === 'true' || current === '1' };
}

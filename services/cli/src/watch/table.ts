/**
 * The terminal table of `iocbus watch`: one row per scope (the province first, then units by code), one
 * column per indicator, from the latest values of the stream.
 */
import type { WatchMessage, WatchValue } from './stream.js';

export interface Column {
  indicator: string;
  window: string;
  title: string;
  unit: 'count' | 'ratio' | 'hours' | 'points';
}

const keyOf = (v: Pick<WatchValue, 'indicator' | 'window' | 'scope'>): string =>
  `${v.indicator}|${v.window.kind}:${v.window.label}|${v.scope.kind}:${v.scope.code}`;

export class WatchStore {
  values = new Map<string, WatchValue>();
  private pending: Map<string, WatchValue> | undefined;
  watermarkMs: number | null = null;
  serverTimeMs: number | null = null;
  ready = false;

  apply(m: WatchMessage): boolean {
    switch (m.kind) {
      case 'snapshot':
        this.pending ??= new Map();
        for (const v of m.values) this.pending.set(keyOf(v), v);
        if (m.watermarkMs !== null) this.watermarkMs = m.watermarkMs;
        if (m.more) return false;
        this.values = this.pending;
        this.pending = undefined;
        this.ready = true;
        return true;
      case 'delta':
        for (const v of m.values) this.values.set(keyOf(v), v);
        for (const r of m.removed) this.values.delete(keyOf(r));
        return true;
      case 'heartbeat':
        if (m.watermarkMs !== null) this.watermarkMs = m.watermarkMs;
        if (m.serverTimeMs !== null) this.serverTimeMs = m.serverTimeMs;
        return false;
      case 'reset':
        this.pending = undefined;
        return false;
    }
  }
}

function fmt(v: number | null | undefined, unit: Column['unit']): string {
  if (v === null || v === undefined) return 'N/A';
  switch (unit) {
    case 'ratio':
      return `${(v * 100).toFixed(1)}%`;
    case 'hours':
      return `${v.toFixed(1)} h`;
    case 'points':
      return v.toFixed(2);
    default:
      return Math.round(v).toLocaleString('en-US');
  }
}

/** Display width: Vietnamese text is NFC-composed, so code points count as columns. */
const width = (s: string): number => [...s.normalize('NFC')].length;
const padEnd = (s: string, n: number): string => s + ' '.repeat(Math.max(0, n - width(s)));
const padStart = (s: string, n: number): string => ' '.repeat(Math.max(0, n - width(s))) + s;
const clip = (s: string, n: number): string => (width(s) <= n ? s : `${[...s.normalize('NFC')].slice(0, n - 1).join('')}…`);

export interface TableOptions {
  columns: readonly Column[];
  /** At most this many rows (the terminal's height); the rest is summarised. */
  maxRows?: number;
  nameWidth?: number;
}

export function renderTable(store: WatchStore, options: TableOptions): string[] {
  const rows = new Map<string, { kind: string; code: string; name: string; cells: Map<string, WatchValue> }>();
  for (const v of store.values.values()) {
    if (!v.window.current) continue;
    const col = options.columns.findIndex((c) => c.indicator === v.indicator && c.window === v.window.kind);
    if (col < 0) continue;
    const id = `${v.scope.kind}:${v.scope.code}`;
    let row = rows.get(id);
    if (row === undefined) {
      row = { kind: v.scope.kind, code: v.scope.code, name: v.scope.name ?? '', cells: new Map() };
      rows.set(id, row);
    }
    row.cells.set(`${v.indicator}|${v.window.kind}`, v);
  }
  const order = (k: string): number => (k === 'province' ? 0 : k === 'unit' ? 1 : 2);
  const sorted = [...rows.values()].sort((a, b) => order(a.kind) - order(b.kind) || a.kind.localeCompare(b.kind) || a.code.localeCompare(b.code, 'en', { numeric: true }));
  const nameWidth = options.nameWidth ?? 38;
  const widths = options.columns.map((c) => Math.max(9, width(c.title)));
  const header = `${padEnd('Scope', nameWidth)}  ${options.columns.map((c, i) => padStart(c.title, widths[i] as number)).join('  ')}`;
  const lines = [header, '─'.repeat(width(header))];
  const limit = options.maxRows ?? Number.POSITIVE_INFINITY;
  for (const row of sorted.slice(0, limit)) {
    const label = row.kind === 'province' ? (row.name || row.code) : `${row.code} ${row.name}`.trim();
    const cells = options.columns.map((c, i) => padStart(fmt(row.cells.get(`${c.indicator}|${c.window}`)?.value, c.unit), widths[i] as number));
    lines.push(`${padEnd(clip(label, nameWidth), nameWidth)}  ${cells.join('  ')}`);
  }
  if (sorted.length > limit) lines.push(`… ${sorted.length - limit} more rows (make the terminal taller, or narrow --scope)`);
  if (sorted.length === 0) lines.push(store.ready ? '(no values yet for this filter)' : '(waiting for the snapshot…)');
  return lines;
}

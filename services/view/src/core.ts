/**
 * The view's state machine without I/O: partial records in, published change sets and queries out.
 * `apply` folds records into the merged state; `publish` re-evaluates what they touched (and what time
 * moved), appends the changed keys to the change log and advances the published token state. Queries
 * (snapshot, resume) read only published values.
 */
import type { Catalog } from '@iocbus/catalog';
import { Changelog } from './changelog.js';
import type { CompiledFilter } from './filter.js';
import type { ResetCause } from './messages.js';
import { parseValueKey, type RemovedKey, type ViewValue } from './model.js';
import { PartialState, type RecordLike } from './state.js';
import { decodeToken, encodeToken, historyHash, type ResumeToken, type TokenState } from './token.js';
import { ScopeNames, ValueTable, itemsChangedSince, possibleKeys } from './values.js';

export interface ViewCoreOptions {
  topic: string;
  /** Partials-topic partition count. */
  partitions: number;
  /** Names the partials history in tokens; see config `resume.historyId`. */
  historyId: string;
  catalog: Catalog;
  now: () => number;
  /** Change log bound, in value keys. */
  changelogMaxKeys: number;
  /** Tokens older than this are refused (must stay below the partials topic's delete.retention.ms). */
  maxTokenAgeMs: number;
  maxMarkers: number;
  onDecodeError(record: RecordLike, err: unknown): void;
}

export type TokenCheck =
  | { kind: 'ok'; token: ResumeToken }
  | { kind: 'ahead'; token: ResumeToken }
  | { kind: 'reset'; cause: ResetCause; reason: string };

export interface PublishResult {
  changed: number;
  seq: number;
  items: number;
}

const MINUTE_MS = 60_000;

export class ViewCore {
  readonly state: PartialState;
  readonly table: ValueTable;
  readonly log: Changelog;
  readonly history: number;
  readonly names: ScopeNames;
  private readonly tokens = new WeakMap<TokenState, Map<number, { token: string; second: number }>>();

  constructor(private readonly options: ViewCoreOptions) {
    this.history = historyHash(options.historyId, options.topic, options.partitions);
    this.state = new PartialState({
      partitions: options.partitions,
      markerMaxAgeMs: options.maxTokenAgeMs,
      maxMarkers: options.maxMarkers,
      onChange: (mk) => this.table.markChanged(mk),
      onDecodeError: options.onDecodeError,
    });
    const minute = Math.floor(options.now() / MINUTE_MS);
    this.names = new ScopeNames(options.catalog);
    this.table = new ValueTable({ state: this.state, names: this.names, minute });
    this.log = new Changelog(options.changelogMaxKeys, { offsets: new Array<number>(options.partitions).fill(0), minute });
  }

  get partitions(): number {
    return this.options.partitions;
  }

  /** Folds records into the merged state; returns how many of each kind. */
  apply(records: readonly RecordLike[]): Record<'partial' | 'removed' | 'progress' | 'invalid', number> {
    const now = this.options.now();
    const counts = { partial: 0, removed: 0, progress: 0, invalid: 0 };
    for (const r of records) counts[this.state.apply(r, now)]++;
    return counts;
  }

  /** Evaluates what changed since the last publish and makes it visible. */
  publish(): PublishResult {
    const now = this.options.now();
    this.table.advanceTo(Math.floor(now / MINUTE_MS));
    const items = this.table.pendingItems;
    const changed = this.table.recompute(now);
    this.state.pruneMarkers(now);
    const state: TokenState = { offsets: this.state.applied.slice(), minute: this.table.minute };
    const head = this.log.headState;
    if (changed.length === 0 && sameState(head, state)) return { changed: 0, seq: this.log.seq, items };
    const seq = this.log.append(changed, state);
    return { changed: changed.length, seq, items };
  }

  /**
   * The resume token of a state for a filter. Cached per state object and second: fan-out encodes a
   * token once per group, and a long-idle state still gets tokens with a fresh issue time.
   */
  tokenFor(state: TokenState, filter: CompiledFilter, incomplete = false): string {
    let byFilter = this.tokens.get(state);
    if (byFilter === undefined) {
      byFilter = new Map();
      this.tokens.set(state, byFilter);
    }
    const k = incomplete ? -filter.hash - 1 : filter.hash;
    const now = this.options.now();
    const second = Math.floor(now / 1000);
    const hit = byFilter.get(k);
    if (hit !== undefined && hit.second === second) return hit.token;
    const token = encodeToken({ ...state, history: this.history, filter: filter.hash, incomplete, issuedAtMs: now });
    byFilter.set(k, { token, second });
    return token;
  }

  headToken(filter: CompiledFilter): string {
    return this.tokenFor(this.log.headState, filter);
  }

  /** Published values matching a filter. */
  snapshot(filter: CompiledFilter): ViewValue[] {
    const t = this.table;
    const out: ViewValue[] = [];
    if (filter.scopes === null) {
      for (const v of t.byKey.values()) if (filter.matches(v)) out.push(v);
      return out;
    }
    for (const [sid, items] of t.itemsByScope) {
      const colon = sid.indexOf(':');
      const keys = filter.scopes.get(sid.slice(0, colon) as never);
      if (keys === undefined || (keys !== null && !keys.has(sid.slice(colon + 1)))) continue;
      for (const id of items) for (const v of t.byItem.get(id) ?? []) if (filter.matches(v)) out.push(v);
    }
    return out;
  }

  checkToken(text: string, filter: CompiledFilter): TokenCheck {
    const token = decodeToken(text);
    if (token === undefined) return { kind: 'reset', cause: 'token_invalid', reason: 'the resume token cannot be read' };
    if (token.history !== this.history || token.offsets.length !== this.options.partitions) {
      return { kind: 'reset', cause: 'other_history', reason: 'the resume token comes from another partials history' };
    }
    if (token.filter !== filter.hash) return { kind: 'reset', cause: 'filter_changed', reason: 'the resume token was issued for another filter' };
    if (token.incomplete) return { kind: 'reset', cause: 'incomplete_snapshot', reason: 'the resume token was issued in the middle of a snapshot' };
    if (this.options.now() - token.issuedAtMs > this.options.maxTokenAgeMs) {
      return { kind: 'reset', cause: 'token_expired', reason: `the resume token is older than ${this.options.maxTokenAgeMs} ms` };
    }
    const head = this.log.headState.offsets;
    let ahead = false;
    for (let p = 0; p < token.offsets.length; p++) {
      const o = token.offsets[p] as number;
      if (o < (this.state.horizon[p] ?? 0)) {
        return { kind: 'reset', cause: 'token_expired', reason: 'the resume token is older than the changes this server keeps' };
      }
      if (o > (head[p] ?? 0)) ahead = true;
    }
    return ahead ? { kind: 'ahead', token } : { kind: 'ok', token };
  }

  /** Values (and removals) that may differ between a token's state and the published state. */
  changedSince(token: TokenState, filter: CompiledFilter): { values: ViewValue[]; removed: RemovedKey[] } {
    const values: ViewValue[] = [];
    const removed: RemovedKey[] = [];
    const items = itemsChangedSince(this.state, token.offsets, token.minute, this.table.minute);
    for (const item of items.values()) {
      const present = this.table.byItem.get(item.id) ?? [];
      const seen = new Set<string>();
      for (const v of present) {
        seen.add(v.key);
        if (filter.matches(v)) values.push(v);
        else if (filter.matchesKey(v)) removed.push(parseValueKey(v.key) as RemovedKey);
      }
      for (const key of possibleKeys(item)) {
        if (seen.has(key)) continue;
        const k = parseValueKey(key);
        if (k !== undefined && filter.matchesKey(k)) removed.push(k);
      }
    }
    return { values, removed };
  }

  /** Coalesced changes of the given keys, as they are now. */
  resolveKeys(keys: Iterable<string>, filter: CompiledFilter): { values: ViewValue[]; removed: RemovedKey[] } {
    const values: ViewValue[] = [];
    const removed: RemovedKey[] = [];
    for (const key of keys) {
      const v = this.table.byKey.get(key);
      if (v !== undefined) {
        if (filter.matches(v)) values.push(v);
        else if (filter.matchesKey(v)) removed.push(parseValueKey(key) as RemovedKey);
        continue;
      }
      const k = parseValueKey(key);
      if (k !== undefined && filter.matchesKey(k)) removed.push(k);
    }
    return { values, removed };
  }
}

function sameState(a: TokenState, b: TokenState): boolean {
  if (a.minute !== b.minute || a.offsets.length !== b.offsets.length) return false;
  for (let i = 0; i < a.offsets.length; i++) if (a.offsets[i] !== b.offsets[i]) return false;
  return true;
}

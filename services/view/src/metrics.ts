/**
 * The view's series on its injected registry: operational metrics, and the indicators themselves as
 * gauges for Grafana — province level and unit-group level only, current windows only, so the label set
 * stays bounded (indicators × window kinds × (province + unit groups)), whatever the number of units.
 */
import { evaluate, partialKey, windowRef, type IndicatorPartial, type ScopeRef } from '@iocbus/engine';
import { LATENCY_SECONDS_BUCKETS, ServiceMetrics, type Counter, type Gauge, type Histogram, type Registry } from '@iocbus/telemetry';
import type { ViewCore } from './core.js';
import type { HubMetrics, HubStats, Transport } from './hub.js';

export interface ViewMetrics {
  readonly records: Counter<'kind'>;
  readonly decodeErrors: Counter;
  readonly publishDuration: Histogram;
  readonly changedValues: Counter;
  readonly hub: HubMetrics;
  readonly ready: Gauge;
}

export interface ViewMetricsSources {
  /** Undefined until the view started. */
  readonly core: ViewCore | undefined;
  hubStats(): HubStats;
  now(): number;
  /** Lag per partials partition (high watermark − applied), as last seen by the source. */
  lag(): ReadonlyMap<number, number>;
}

export function createViewMetrics(registry: Registry, sources: ViewMetricsSources): ViewMetrics {
  const m = new ServiceMetrics('view', registry);
  const records = m.counter<'kind'>('partial_records', { help: 'Partials-topic records applied, by kind (partial, removed, progress).', labelNames: ['kind'] });
  const decodeErrors = m.counter('partial_decode_errors', { help: 'Partials-topic records skipped because they could not be decoded.' });
  const publishDuration = m.histogram('publish_duration', 'seconds', {
    help: 'Time to re-evaluate changed values and hand them to every subscriber.',
    buckets: LATENCY_SECONDS_BUCKETS,
  });
  const changedValues = m.counter('changed_values', { help: 'Indicator values that changed, appeared or disappeared.' });
  const messages = m.counter<'transport' | 'kind'>('stream_messages', { help: 'Stream messages written, by transport and kind.', labelNames: ['transport', 'kind'] });
  const bytes = m.counter<'transport'>('stream_bytes', { help: 'Encoded bytes of stream messages written.', labelNames: ['transport'] });
  const sentCounters = new Map<string, { messages: { inc(n?: number): void }; bytes: { inc(n?: number): void } }>();
  const resets = m.counter<'cause'>('stream_resets', { help: 'Streams told to re-snapshot, by cause.', labelNames: ['cause'] });
  const ended = m.counter<'transport' | 'reason'>('streams_ended', { help: 'Streams ended, by reason (client, max_age, stalled, shutdown).', labelNames: ['transport', 'reason'] });
  const ready = m.gauge('ready', 'bool', { help: '1 once the initial partials are loaded and the view serves.' });

  m.gauge<'transport'>('subscribers', 'streams', {
    help: 'Open subscriptions by transport.',
    labelNames: ['transport'],
    collect() {
      const s = sources.hubStats();
      for (const t of ['grpc', 'sse'] as Transport[]) this.set({ transport: t }, s.byTransport[t]);
    },
  });
  m.gauge('subscribers_blocked', 'streams', {
    help: 'Subscriptions whose transport buffer is full (client not reading): they get coalesced values once it drains.',
    collect() {
      this.set(sources.hubStats().blocked);
    },
  });
  m.gauge('values', 'values', {
    help: 'Indicator values held.',
    collect() {
      if (sources.core !== undefined) this.set(sources.core.table.byKey.size);
    },
  });
  m.gauge('partials', 'partials', {
    help: 'Partials held (one per input partition, window and scope).',
    collect() {
      if (sources.core !== undefined) this.set(sources.core.state.partialCount);
    },
  });
  m.gauge('changelog', 'keys', {
    help: 'Value keys retained in the change log that slow subscribers catch up from.',
    collect() {
      if (sources.core !== undefined) this.set(sources.core.log.retainedKeys);
    },
  });
  m.gauge<'partition'>('partials_lag', 'records', {
    help: 'Records of the partials topic not yet applied, per partials partition.',
    labelNames: ['partition'],
    collect() {
      for (const [p, lag] of sources.lag()) this.set({ partition: String(p) }, lag);
    },
  });
  m.gauge('watermark_lag', 'seconds', {
    help: 'Wall clock minus the lowest event-time watermark over input partitions.',
    collect() {
      const w = sources.core?.state.watermarkMs() ?? null;
      if (w !== null) this.set((sources.now() - w) / 1000);
    },
  });
  m.gauge('progress_age', 'seconds', {
    help: 'Age of the oldest aggregator progress report over input partitions.',
    collect() {
      const p = sources.core?.state.progressTimeMs() ?? null;
      if (p !== null) this.set((sources.now() - p) / 1000);
    },
  });

  // For the deploy/ alert rules "a source silent too long" and "a unit's overdue count jumping". Bounded by
  // the sources the progress records carry (publish.maxSources per partition) and by the catalog's units.
  m.gauge<'source'>('source_last_seen', 'timestamp_seconds', {
    help: 'Wall time (Unix seconds) at which an aggregator last applied an event from this CloudEvents source, over all input partitions.',
    labelNames: ['source'],
    collect() {
      this.reset();
      const last = new Map<string, number>();
      for (const p of sources.core?.state.progress.values() ?? []) {
        for (const s of p.sources) last.set(s.source, Math.max(last.get(s.source) ?? 0, s.lastSeenMs));
      }
      for (const [source, ms] of last) this.set({ source }, ms / 1000);
    },
  });
  m.gauge<'unit' | 'group'>('unit_overdue', 'dossiers', {
    help: 'Dossiers overdue now (indicator in_process_overdue) per unit, with its catalog group.',
    labelNames: ['unit', 'group'],
    collect() {
      this.reset();
      for (const v of sources.core?.table.byKey.values() ?? []) {
        if (v.indicator !== 'in_process_overdue' || v.scope.kind !== 'unit' || v.value === null) continue;
        this.set({ unit: v.scope.code, group: v.scope.group ?? '' }, v.value);
      }
    },
  });

  const labels = ['indicator', 'window', 'scope', 'group'] as const;
  type L = (typeof labels)[number];
  // Filled together by the first one's collect (prom-client collects in registration order): the unit
  // groups are evaluated once per scrape.
  const indicatorEvents = new Map<string, { labels: Record<L, string>; events: number }>();
  m.gauge<L>('indicator', 'value', {
    help: 'Indicator values of the current windows, province level (scope="province") and unit-group level (scope="unit_group", group=department|commune). Rates are fractions; N/A values are absent.',
    labelNames: labels,
    collect() {
      this.reset();
      indicatorEvents.clear();
      const core = sources.core;
      for (const row of core === undefined ? [] : indicatorRows(core)) {
        const l = { indicator: row.indicator, window: row.window, scope: row.scope, group: row.group };
        if (row.value !== null) this.set(l, row.value);
        indicatorEvents.set(JSON.stringify(l), { labels: l, events: row.events });
      }
    },
  });
  m.gauge<L>('indicator', 'events', {
    help: 'Events behind each exported indicator value.',
    labelNames: labels,
    collect() {
      this.reset();
      for (const { labels: l, events } of indicatorEvents.values()) this.set(l, events);
    },
  });

  return {
    records,
    decodeErrors,
    publishDuration,
    changedValues,
    ready,
    hub: {
      // Called once per message per subscriber: label lookups resolved once per (transport, kind).
      sent(transport, kind, n) {
        const k = `${transport}:${kind}`;
        let c = sentCounters.get(k);
        if (c === undefined) {
          c = { messages: messages.labels({ transport, kind }), bytes: bytes.labels({ transport }) };
          sentCounters.set(k, c);
        }
        c.messages.inc();
        c.bytes.inc(n);
      },
      reset(cause) {
        resets.inc({ cause });
      },
      ended(transport, reason) {
        ended.inc({ transport, reason });
      },
    },
  };
}

interface Row {
  indicator: string;
  window: string;
  scope: 'province' | 'unit_group';
  group: string;
  value: number | null;
  events: number;
}

/** Current-window values of the province and of each unit group (units merged by catalog group). */
export function indicatorRows(core: ViewCore): Row[] {
  const rows: Row[] = [];
  const minute = core.table.minute;
  for (const v of core.table.byKey.values()) {
    if (v.scope.kind !== 'province' || !v.window.current) continue;
    rows.push({ indicator: v.indicator, window: v.window.kind, scope: 'province', group: '', value: v.value, events: v.eventCount });
  }
  const byGroup = new Map<string, IndicatorPartial[]>();
  for (const slot of core.state.scopes.values()) {
    if (slot.scope.kind !== 'unit') continue;
    const group = core.names.decorate(slot.scope).group;
    if (group === undefined) continue;
    let list = byGroup.get(group);
    if (list === undefined) byGroup.set(group, (list = []));
    const scope: ScopeRef = { kind: 'unit', code: group };
    // Re-keyed to the group, so that evaluate merges the units of a group into one value.
    const add = (p: IndicatorPartial): void => void list.push({ ...p, key: partialKey({ window: p.window, scope }), scope });
    const addMerged = (p: IndicatorPartial | null | undefined): void => {
      if (p !== null && p !== undefined) add(p);
    };
    // Quarter and year are summed from months by evaluate: the months of the current year go in.
    const nowMs = minute * 60_000;
    const year = windowRef('year', new Date(nowMs + 7 * 3_600_000).getUTCFullYear());
    for (const mk of slot.calendar) {
      const w = mk.window;
      if ((w.startMs <= nowMs && nowMs < w.endMs) || (w.kind === 'month' && w.startMs >= year.startMs && w.endMs <= year.endMs)) addMerged(mk.merged());
    }
    for (const mk of slot.minutes) if (mk.window.index > minute - 60 && mk.window.index <= minute) addMerged(mk.merged());
    addMerged(slot.now?.merged());
  }
  for (const [group, partials] of byGroup) {
    for (const v of evaluate(partials, { nowMs: minute * 60_000 })) {
      if (!v.window.current) continue;
      rows.push({ indicator: v.indicator, window: v.window.kind, scope: 'unit_group', group, value: v.value, events: v.eventCount });
    }
  }
  return rows;
}

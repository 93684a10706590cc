/**
 * Helpers for the aggregator's tests (in-process here, real-broker and child-process ones under
 * test/aggregator/) and the pipeline benchmark: config, what the partials topic says once merged (as a
 * view would), and the crash-free reference computed by one engine over the same events.
 */
import type { BusRecord, EventLog, PartitionedSource, TopicAdmin } from '@iocbus/bus';
import type { Catalog } from '@iocbus/catalog';
import {
  createPartitionEngine,
  decodePartialRecord,
  evaluate,
  mergePartials,
  type IndicatorPartial,
  type PartitionProgress,
} from '@iocbus/engine';
import { toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import { createAggregator, type Aggregator, type AggregatorHooks } from './aggregator.js';
import { aggregatorConfigSchema, type AggregatorConfig, type AggregatorConfigInput } from './config.js';

/** Config for tests: short timings and unique topics under `prefix`. */
export function testConfig(prefix: string, brokers: string[] = ['127.0.0.1:9'], overrides: Partial<{ [K in keyof AggregatorConfigInput]: Record<string, unknown> }> = {}): AggregatorConfig {
  const section = (name: keyof AggregatorConfigInput, base: Record<string, unknown>) => ({ ...base, ...(overrides[name] ?? {}) });
  return aggregatorConfigSchema.parse({
    ...overrides,
    kafka: section('kafka', { brokers, groupId: `${prefix}-group`, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, maxWaitTimeMs: 50 }),
    topics: section('topics', {
      events: `${prefix}-events`,
      checkpoints: `${prefix}-checkpoints`,
      partials: `${prefix}-partials`,
      deadLetters: `${prefix}-dlq`,
      eventsPartitions: 4,
      checkpointsPartitions: 2,
      partialsPartitions: 2,
    }),
    publish: section('publish', { intervalMs: 50, heartbeatMs: 500 }),
    checkpoint: section('checkpoint', { intervalMs: 300, heartbeatEveryRecords: 500 }),
    log: section('log', { level: 'silent' }),
  });
}

export interface TestAggregatorOptions {
  config: AggregatorConfig;
  /** Any bus: the in-process one or Kafka. */
  bus: { log: EventLog; source: PartitionedSource; admin: TopicAdmin };
  catalog: Catalog;
  clock?: () => number;
  hooks?: AggregatorHooks;
}

/** An aggregator as the tests run one in-process: silent logger, a registry of its own, stopped when the test ends. */
export function testAggregator(t: { after(fn: () => unknown): void }, options: TestAggregatorOptions): Aggregator {
  const aggregator = createAggregator({
    config: options.config,
    log: options.bus.log,
    source: options.bus.source,
    admin: options.bus.admin,
    catalog: options.catalog,
    logger: createLogger({ service: 'aggregator', level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
  });
  t.after(() => aggregator.stop());
  return aggregator;
}

export function eventRecords(events: readonly DossierEvent[]): BusRecord[] {
  return events.map((e) => toKafkaRecord(e));
}

export interface PartialsView {
  /** The latest partial per (input partition, window, scope). */
  partials: IndicatorPartial[];
  /** Latest progress per input partition. */
  progress: Map<number, PartitionProgress>;
}

/** Reads the partials topic to its end the way a view does: latest value per key, removals applied. */
export async function readPartials(source: PartitionedSource, topic: string): Promise<PartialsView> {
  const latest = new Map<string, IndicatorPartial>();
  const progress = new Map<number, PartitionProgress>();
  await source.scanToEnd(topic, (records) => {
    for (const r of records) {
      const rec = decodePartialRecord(r.key, r.value);
      if (rec.kind === 'progress') progress.set(rec.inputPartition, rec.progress);
      else if (rec.kind === 'removed') latest.delete(r.key);
      else latest.set(r.key, rec.partial);
    }
  });
  return { partials: [...latest.values()], progress };
}

function nonZero(partials: IndicatorPartial[]): IndicatorPartial[] {
  return partials.filter((p) => p.measures.some((x) => x !== 0) || (p.sketch !== null && !p.sketch.isEmpty()));
}

/** Every indicator value of the merged partials at `nowMs`, as sorted JSON lines (exact comparison). */
export function canonicalValues(partials: IndicatorPartial[], nowMs: number): string[] {
  return evaluate(nonZero(mergePartials(partials)), { nowMs })
    .map((v) => JSON.stringify(v))
    .sort();
}

/** The crash-free answer: one engine over all the events (partitions only split dossiers, and partials add). */
export function referencePartials(events: Iterable<DossierEvent>, catalog: Catalog, nowMs: number, allowedLatenessMs: number): IndicatorPartial[] {
  const engine = createPartitionEngine({ catalog, allowedLatenessMs, clock: () => nowMs, initialCapacity: 4096 });
  for (const e of events) engine.apply(e);
  engine.advance(nowMs);
  return engine.partials();
}

/** A compact look-up over evaluated values: value of (indicator, window kind, scope) in the current window. */
export function currentValue(partials: IndicatorPartial[], nowMs: number, indicator: string, window: string, scope = 'province'): number | null | undefined {
  const v = evaluate(mergePartials(partials), { nowMs }).find(
    (x) => x.indicator === indicator && x.window.kind === window && x.window.current && x.scope.kind === scope,
  );
  return v?.value;
}

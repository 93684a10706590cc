import { LATENCY_SECONDS_BUCKETS, ServiceMetrics, type Registry } from '@iocbus/telemetry';

/** Per-partition readings the scrape-time gauges ask for (labels are input partitions: a bounded set). */
export interface PartitionReadings {
  partitions(): Iterable<{ partition: number; lag: number; checkpointAgeSeconds: number; watermarkMs: number | null }>;
}

export function createAggregatorMetrics(registry: Registry, readings: PartitionReadings) {
  const m = new ServiceMetrics('aggregator', registry);
  const events = m.counter<'outcome'>('events', {
    help: 'Input records processed, by outcome: applied, duplicate (same source and id seen before), dead_lettered',
    labelNames: ['outcome'],
  });
  // Present from the start at 0: otherwise the first dead letter creates the series at 1 and increase() never sees it.
  for (const outcome of ['applied', 'duplicate', 'dead_lettered']) events.inc({ outcome }, 0);
  return {
    events,
    lateEvents: m.counter('late_events', {
      help: 'Events whose event time was older than the engine clock minus the allowed lateness (they revise a closed window)',
    }),
    deadLetters: m.counter<'code'>('dead_letters', { help: 'Records written to the dead-letter topic, by error code', labelNames: ['code'] }),
    batchDuration: m.histogram('batch_duration', 'seconds', {
      help: 'Time to decode and apply one fetched batch',
      buckets: LATENCY_SECONDS_BUCKETS,
    }),
    batchRecords: m.histogram('batch_size', 'records', {
      help: 'Records per fetched batch',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000],
    }),
    publishDuration: m.histogram('publish_duration', 'seconds', {
      help: 'Time to append one round of changed partials and progress to the partials topic',
      buckets: LATENCY_SECONDS_BUCKETS,
    }),
    partialsPublished: m.counter('partials_published', { help: 'Partial and progress records appended to the partials topic' }),
    publishFailures: m.counter('publish_failures', { help: 'Append rounds to the partials topic that failed (retried in full)' }),
    checkpoints: m.counter('checkpoints', { help: 'Checkpoints written' }),
    checkpointFailures: m.counter('checkpoint_failures', { help: 'Checkpoint writes or commits that failed' }),
    checkpointSnapshotDuration: m.histogram('checkpoint_snapshot_duration', 'seconds', {
      help: "Time to take one partition's state for a checkpoint (engine snapshot): the event loop is blocked meanwhile",
      buckets: LATENCY_SECONDS_BUCKETS,
    }),
    checkpointBytes: m.histogram('checkpoint_size', 'bytes', {
      help: 'Size of written checkpoints',
      buckets: [1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6],
    }),
    lag: m.gauge<'partition'>('consumer_lag', 'records', {
      help: 'Records of the input partition not yet applied (high watermark at the last fetch minus position)',
      labelNames: ['partition'],
      collect() {
        this.reset();
        for (const p of readings.partitions()) this.set({ partition: String(p.partition) }, p.lag);
      },
    }),
    checkpointAge: m.gauge<'partition'>('checkpoint_age', 'seconds', {
      help: 'Time since the partition last had a checkpoint (written, or loaded on assignment)',
      labelNames: ['partition'],
      collect() {
        this.reset();
        for (const p of readings.partitions()) this.set({ partition: String(p.partition) }, p.checkpointAgeSeconds);
      },
    }),
    watermark: m.gauge<'partition'>('event_time_watermark', 'seconds', {
      help: 'Highest event time applied on the partition (Unix seconds)',
      labelNames: ['partition'],
      collect() {
        this.reset();
        for (const p of readings.partitions()) if (p.watermarkMs !== null) this.set({ partition: String(p.partition) }, p.watermarkMs / 1000);
      },
    }),
    // Not '_count': promtool reserves that suffix for histograms and summaries.
    assigned: m.gauge('assigned', 'partitions', { help: 'Input partitions this instance owns' }),
  };
}

export type AggregatorMetrics = ReturnType<typeof createAggregatorMetrics>;

/**
 * The aggregator's whole configuration, one zod schema. Defaults are the production values; tests shorten
 * the timings through the same schema. main.ts reads it once (environment, and the JSON file it names) and
 * reports every problem before any socket opens.
 */
import { readFileSync } from 'node:fs';
import { configInputFromEnv as envInput } from '@iocbus/config';
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const port = int(0, 65535);
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'expected a Kafka topic name' });

/** Where the process may be told to stop dead, so a kill -9 lands at a known point (fault-injection tests). */
export const FAULT_POINTS = ['mid-batch', 'mid-checkpoint', 'after-checkpoint'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export const aggregatorConfigSchema = z.object({
  kafka: z
    .object({
      brokers: z
        .array(z.string().regex(/^[^:\s]+:\d+$/, { error: 'expected host:port' }), {
          error: 'required: set KAFKA_BROKERS (host:port,…) or kafka.brokers',
        })
        .min(1),
      clientId: z.string().min(1).default('iocbus-aggregator'),
      groupId: z.string().min(1).default('iocbus-aggregator'),
      sessionTimeoutMs: int(1000).default(30_000),
      heartbeatIntervalMs: int(100).default(3000),
      /**
       * Longest a fetch waits on the broker when nothing arrives. It does not delay events: a fetch returns as
       * soon as one lands (measured on the group consumer: append → batch p50 3–4 ms at 100 and at 500 ms); it
       * only sets how often an idle aggregator polls.
       */
      maxWaitTimeMs: int(1).default(500),
      /**
       * Fetch size per partition. The broker cuts a partition's data at this size, mid-batch, and the cut batch
       * is fetched again whole next time: with batches of ~0.5 MB (a producer sending 10,000 events at once)
       * 1 MiB fetched 1.65 bytes per byte used (4 MiB: 1.0). Catch-up CPU per event over the bus's own fetch
       * path, 4 MiB / 1 MiB in alternated runs: 4.55/6.93, 5.43/6.60, 4.91/6.06, 5.23/5.80, 5.23/6.59 µs.
       * (The kafkajs decoder that once made larger responses dearer is no longer on this path.)
       */
      maxBytesPerPartition: int(1024).default(4 * 1024 * 1024),
      /** Replication factor for topics the aggregator creates; -1 = the broker's default. */
      replicationFactor: z.coerce.number().int().min(-1).default(-1),
    })
    .prefault({} as { brokers: string[] }),
  topics: z
    .object({
      events: topicName.default('iocbus.dossier-events.v1'),
      checkpoints: topicName.default('iocbus.aggregator-checkpoints.v1'),
      partials: topicName.default('iocbus.indicator-partials.v1'),
      deadLetters: topicName.default('iocbus.dossier-events.dlq.v1'),
      /** Partition counts used only when a topic does not exist yet. */
      eventsPartitions: int(1, 10_000).default(6),
      checkpointsPartitions: int(1, 10_000).default(6),
      partialsPartitions: int(1, 10_000).default(6),
      deadLettersPartitions: int(1, 10_000).default(1),
      /** A checkpoint holds a partition's whole state; above the broker's 1 MiB default it needs its own limit. */
      checkpointMaxBytes: int(1024 * 1024).default(64 * 1024 * 1024),
      /** Closed segments of the compacted topics become cleanable after this long (bounds the checkpoint scan). */
      compactedSegmentMs: int(1000).default(10 * 60_000),
    })
    .prefault({}),
  publish: z
    .object({
      /**
       * Least time between two publications. A batch is published at once when the last publication is older
       * than this, else when it is this old: under steady load a change waits at most this long (and changes in
       * between coalesce into one record per partial); the biggest term of end-to-end latency we control.
       */
      intervalMs: int(10, 60_000).default(100),
      /** Without new batches, a publication this often: what time alone changes (windows closing, retention). */
      idleIntervalMs: int(10, 60_000).default(1000),
      /** A progress record goes out at least this often even when nothing changed (heartbeat for the wall screen). */
      heartbeatMs: int(100).default(5000),
      /** Records per append call to the partials topic. */
      maxRecordsPerAppend: int(1).default(5000),
      /** Sources carried by one progress record. */
      maxSources: int(0, 100_000).default(256),
      /**
       * After an assignment, a partition publishes nothing until it has replayed up to the end its log had when
       * assigned (so the wall screen does not see values step back to the checkpoint), but no longer than this.
       */
      replayHoldMaxMs: int(0).default(30_000),
    })
    .prefault({}),
  checkpoint: z
    .object({
      intervalMs: int(100).default(10_000),
      /** Records between heartbeats (and staleness checks) inside one batch. */
      heartbeatEveryRecords: int(1).default(2000),
    })
    .prefault({}),
  engine: z
    .object({
      /** A calendar window is marked closed this long after its end; later events mark it revised. */
      allowedLatenessMs: int(0).default(2 * 86_400_000),
      initialCapacity: int(16).default(4096),
      /** How long windows and dossiers are kept (engine defaults when absent: minute 2 h, day 35 d, …). */
      retention: z
        .object({
          minuteMs: int(0).optional(),
          dayMs: int(0).optional(),
          monthMs: int(0).optional(),
          quarterMs: int(0).optional(),
          yearMs: int(0).optional(),
          endedDossierMs: int(0).optional(),
          orphanDossierMs: int(0).optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  catalog: z
    .object({
      /** Unit & procedure catalog file; absent = the SAMPLE catalog shipped with @iocbus/catalog. */
      file: z.string().min(1).optional(),
    })
    .prefault({}),
  http: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: port.default(9464),
    })
    .prefault({}),
  faults: z
    .object({
      /** Stop dead (print a marker on stderr and wait forever) at this point, for kill -9 tests. Never set in production. */
      pauseAt: z.enum(FAULT_POINTS).optional(),
      /** …once at least this many events were applied by this process. */
      afterEvents: int(0).default(0),
    })
    .prefault({}),
  shutdown: z.object({ timeoutMs: int(1).default(20_000) }).prefault({}),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type AggregatorConfig = z.output<typeof aggregatorConfigSchema>;
export type AggregatorConfigInput = z.input<typeof aggregatorConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid aggregator configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Environment → config input: `IOCBUS_AGGREGATOR_CONFIG` (a JSON file, read first), then
 * `IOCBUS_AGGREGATOR__<SECTION>__<FIELD>` (field names case-insensitive, underscores ignored, e.g.
 * IOCBUS_AGGREGATOR__PUBLISH__INTERVAL_MS=100), then the shared `KAFKA_BROKERS`.
 */
export function configInputFromEnv(env: NodeJS.ProcessEnv, readFile: (file: string) => string, problems: string[]): Record<string, unknown> {
  return envInput({ prefix: 'IOCBUS_AGGREGATOR', schema: aggregatorConfigSchema }, env, readFile, problems);
}

/** Validates a config object, collecting every problem before failing. */
export function parseConfig(input: unknown, earlier: readonly string[] = []): AggregatorConfig {
  const problems = [...earlier];
  const parsed = aggregatorConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.')}: ${issue.message}`);
  }
  if (parsed.success && parsed.data.kafka.heartbeatIntervalMs * 3 > parsed.data.kafka.sessionTimeoutMs) {
    problems.push('kafka.heartbeatIntervalMs: keep it at most a third of kafka.sessionTimeoutMs');
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/** What main.ts calls: the environment (and the file it names) → validated config, or every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, readFile: (file: string) => string = (f) => readFileSync(f, 'utf8')): AggregatorConfig {
  const problems: string[] = [];
  const input = configInputFromEnv(env, readFile, problems);
  return parseConfig(input, problems);
}

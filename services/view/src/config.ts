/**
 * The view's configuration: one schema, defaults are the production values (tests shorten timings).
 * `loadConfig` (main.ts) reads the environment once and reports every problem before any socket opens;
 * the embedded `iocbus start` builds a config with `viewConfigSchema.parse({...})` and needs no Kafka.
 */
import { readFileSync } from 'node:fs';
import { configInputFromEnv as envInput } from '@iocbus/config';
import { z } from 'zod';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const port = int(0, 65535);

export const viewConfigSchema = z.object({
  http: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: port.default(8081),
    })
    .prefault({}),
  grpc: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: port.default(50052),
      /** Largest message sent; snapshots are chunked (subscribe.chunkValues) well below it. */
      maxMessageBytes: int(64 * 1024).default(16 * 1024 * 1024),
      /** HTTP/2 keepalive pings to clients, so dead connections of idle streams are noticed. */
      keepaliveTimeMs: int(1000).default(30_000),
      keepaliveTimeoutMs: int(1000).default(10_000),
    })
    .prefault({}),
  kafka: z
    .object({
      /** Only `main.ts` (Kafka mode) needs brokers; the embedded mode passes an in-process source. */
      brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, { error: 'expected host:port' })).min(1).optional(),
      clientId: z.string().default('iocbus-view'),
      /** How often to look again for a partials topic that does not exist yet. */
      topicRetryMs: int(10).default(2000),
      /**
       * Longest a partials fetch waits on the broker when nothing arrives. It does not delay records: a fetch
       * returns as soon as one lands (measured: append → delivered p50 4–5 ms at 20 and at 500 ms); it only
       * sets how often an idle view polls.
       */
      maxWaitTimeMs: int(1, 10_000).default(500),
    })
    .prefault({}),
  partials: z
    .object({
      topic: z.string().min(1).default('iocbus.indicator-partials.v1'),
      /** Wait this long after a partials batch for more before re-evaluating (0: next turn of the event loop). */
      lingerMs: int(0, 1000).default(0),
    })
    .prefault({}),
  subscribe: z
    .object({
      maxSubscribers: int(1).default(10_000),
      /** An idle stream gets a heartbeat (watermark, fresh token) after this long without a message. */
      heartbeatMs: int(10).default(5000),
      /** Streams end with UNAVAILABLE after this (±10 %); clients resubscribe with their last token. */
      maxStreamAgeMs: int(1000).default(30 * 60_000),
      /** A stream whose client has not read for this long is dropped. */
      stallTimeoutMs: int(100).default(120_000),
      /** Values per snapshot or delta message. */
      chunkValues: int(1).default(2000),
      /** gRPC: encoded bytes a stream may have waiting for its client before it counts as blocked. */
      maxBufferedBytes: int(1024).default(256 * 1024),
      /** Delta messages per second for a subscriber that asks for none; 0 = as fast as values change. */
      defaultMaxUpdatesPerSecond: z.coerce.number().min(0).default(0),
      /** Upper bound on what a subscriber may ask for; 0 = none. */
      maxUpdatesPerSecondCap: z.coerce.number().min(0).default(0),
    })
    .prefault({}),
  resume: z
    .object({
      /**
       * Names the partials history in resume tokens. Instances that should accept each other's tokens
       * share it; change it when the partials topic is recreated. The embedded mode uses a per-boot id.
       */
      historyId: z.string().min(1).default('kafka'),
      /** Tokens older than this get a Reset. Keep it below the partials topic's delete.retention.ms (1 day by default). */
      maxTokenAgeMs: int(1000).default(60 * 60_000),
      /** A token ahead of this instance waits this long for it to catch up, then gets a Reset. */
      catchUpTimeoutMs: int(0).default(5000),
      /** Change-log bound (value keys): a stream further behind than this is reset. */
      changelogMaxKeys: int(1).default(200_000),
      /** Tombstone markers kept for resumes (beyond maxTokenAgeMs they are dropped anyway). */
      maxMarkers: int(1).default(100_000),
    })
    .prefault({}),
  catalog: z
    .object({
      /** Unit & procedure catalog file (main.ts); absent = the SAMPLE catalog shipped with @iocbus/catalog. */
      file: z.string().min(1).optional(),
    })
    .prefault({}),
  shutdown: z.object({ timeoutMs: int(1).default(10_000) }).prefault({}),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type ViewConfig = z.output<typeof viewConfigSchema>;
export type ViewConfigInput = z.input<typeof viewConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid view configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Environment overrides: `IOCBUS_VIEW__<SECTION>__<FIELD>` (double underscore = nesting, names
 * case-insensitive, e.g. IOCBUS_VIEW__SUBSCRIBE__HEARTBEAT_MS=2000), the shared `KAFKA_BROKERS`, and
 * `IOCBUS_VIEW_CONFIG`, a JSON file read first.
 */
export function configInputFromEnv(env: NodeJS.ProcessEnv, readFile: (file: string) => string, problems: string[]): Record<string, unknown> {
  return envInput({ prefix: 'IOCBUS_VIEW', schema: viewConfigSchema }, env, readFile, problems);
}

const where = (segments: readonly PropertyKey[]): string => (segments.length === 0 ? '(root)' : segments.map(String).join('.'));

/** Validates a config object, collecting every problem. `requireKafka` for the standalone process. */
export function resolveConfig(input: unknown, earlier: readonly string[] = [], requireKafka = true): ViewConfig {
  const problems = [...earlier];
  const parsed = viewConfigSchema.safeParse(input);
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(`${where(issue.path)}: ${issue.message}`);
  if (requireKafka && parsed.success && parsed.data.kafka.brokers === undefined) {
    problems.push('kafka.brokers: required: set KAFKA_BROKERS (host:port,…) or kafka.brokers');
  }
  if (parsed.success && parsed.data.subscribe.chunkValues * 250 > parsed.data.grpc.maxMessageBytes) {
    problems.push('subscribe.chunkValues: chunks that large may exceed grpc.maxMessageBytes (allow ~250 bytes per value)');
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/** What main.ts calls: environment (and the file it names) → validated config, or every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, readFile: (file: string) => string = (f) => readFileSync(f, 'utf8')): ViewConfig {
  const problems: string[] = [];
  const input = configInputFromEnv(env, readFile, problems);
  return resolveConfig(input, problems);
}

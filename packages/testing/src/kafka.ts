import { dockerAnswers } from './docker.js';
import { TestingError } from './errors.js';
import { confluentImageFor, startContainerBroker } from './kafka-container.js';
import { resolveKafkaJars } from './kafka-jars.js';
import { launchJvmBroker } from './kafka-jvm.js';

/**
 * The Apache Kafka release the harness launches: the newest 4.x that kafkajs 2.2.4 was verified against
 * (produce idempotent/acks -1, group join + commit, fetch, admin); see packages/testing/README.md.
 */
export const KAFKA_VERSION = '4.4.0';

export type KafkaSource = 'env' | 'testcontainers' | 'jars';

export interface StartKafkaOptions {
  /** Apache Kafka version to launch; default `$IOCBUS_KAFKA_VERSION`, else {@link KAFKA_VERSION}. */
  version?: string;
  /**
   * Where to look for a broker, in order; default `['env', 'testcontainers', 'jars']`.
   * Pass `['jars']` to launch a private broker even when KAFKA_BROKERS is set.
   */
  sources?: KafkaSource[];
  /** Root of the jar cache; default `$IOCBUS_CACHE_DIR`, else `~/.cache/iocbus`. */
  cacheRoot?: string;
  /** Max heap of a launched JVM broker; default '1g'. */
  heap?: string;
  /** How long a launched broker may take to answer metadata; default 90 s (a cold JVM on a busy 2-core box). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL; default 10 s. */
  stopGraceMs?: number;
  /** Extra JVM options for a JVM broker, e.g. ['-XX:+UseSerialGC'] (ignored by the other sources). */
  jvmOptions?: string[];
  /** Extra or overriding server.properties for a JVM broker (ignored by the other sources). */
  brokerProperties?: Record<string, string | number | boolean>;
  /** Receives the "kafka broker … at …" line and progress notes; default: a line on stderr. */
  log?: (line: string) => void;
  /** Environment to read KAFKA_BROKERS, IOCBUS_* and DOCKER_HOST from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface KafkaBroker {
  /** host:port bootstrap addresses. */
  brokers: string[];
  /** Apache Kafka version, or 'unknown' for a KAFKA_BROKERS broker when IOCBUS_KAFKA_VERSION is unset. */
  version: string;
  source: KafkaSource;
  /** PID of the broker JVM, -1 while killed (source 'jars' only). */
  readonly pid?: number;
  /** Temporary folder of a JVM broker, removed by stop() (source 'jars' only). */
  workDir?: string;
  /**
   * SIGKILLs the broker JVM, keeping its storage, ports and folder so start() can bring it back: a broker
   * crash for fault tests (source 'jars' only).
   */
  kill?(): Promise<void>;
  /** Starts a killed broker again on the same storage and ports, resolving once metadata answers (source 'jars' only). */
  start?(): Promise<void>;
  /** Stops what startKafka started; a no-op for KAFKA_BROKERS. Safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_SOURCES: readonly KafkaSource[] = ['env', 'testcontainers', 'jars'];

export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const version = options.version ?? env['IOCBUS_KAFKA_VERSION'] ?? KAFKA_VERSION;
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const sources = options.sources ?? DEFAULT_SOURCES;
  const skipped: string[] = [];

  for (const source of sources) {
    if (source === 'env') {
      const brokers = (env['KAFKA_BROKERS'] ?? '').split(',').map((b) => b.trim()).filter(Boolean);
      if (brokers.length === 0) {
        skipped.push('env: KAFKA_BROKERS is not set');
        continue;
      }
      return { brokers, version: env['IOCBUS_KAFKA_VERSION'] ?? 'unknown', source, stop: async () => undefined };
    }

    if (source === 'testcontainers') {
      if (!(await dockerAnswers(500, env))) {
        skipped.push('testcontainers: no Docker engine answers /_ping');
        continue;
      }
      const image = env['IOCBUS_KAFKA_IMAGE'] ?? confluentImageFor(version);
      try {
        const started = await startContainerBroker(image, startTimeoutMs);
        const broker: KafkaBroker = { brokers: started.brokers, version, source, stop: once(started.stop) };
        log(`kafka broker ${version} (${source}, ${image}) at ${broker.brokers.join(',')}`);
        return broker;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        skipped.push(`testcontainers: ${reason}`);
        log(`testcontainers could not start ${image} (${reason}); trying the next source`);
        continue;
      }
    }

    if (source === 'jars') {
      const jarsOptions = { version, log, ...(options.cacheRoot === undefined ? {} : { cacheRoot: options.cacheRoot }) };
      const { libsDir } = await resolveKafkaJars(jarsOptions);
      const jvm = await launchJvmBroker({
        libsDir,
        heap: options.heap ?? '1g',
        startTimeoutMs,
        stopGraceMs: options.stopGraceMs ?? 10_000,
        ...(options.brokerProperties === undefined ? {} : { properties: options.brokerProperties }),
        ...(options.jvmOptions === undefined ? {} : { jvmOptions: options.jvmOptions }),
      });
      log(`kafka broker ${version} (${source}) at ${jvm.brokers.join(',')}`);
      return {
        brokers: jvm.brokers,
        version,
        source,
        get pid() {
          return jvm.pid;
        },
        workDir: jvm.workDir,
        kill: () => jvm.kill(),
        start: () => jvm.start(),
        stop: () => jvm.stop(),
      };
    }
  }
  throw new TestingError('IOC_TESTING_KAFKA_UNAVAILABLE', `no Kafka broker available (${skipped.join('; ')})`, {
    details: { sources: [...sources] },
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

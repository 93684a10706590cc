import type { SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { BusLogger } from '../logger.js';

export interface KafkaBusOptions {
  /** host:port of one or more bootstrap brokers. */
  brokers: readonly string[];
  clientId?: string;
  logger?: BusLogger;
  /** How much of kafkajs's own logging reaches `logger`; default 'info'. */
  clientLogLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  ssl?: ConnectionOptions | boolean;
  sasl?: SASLOptions;
  /** Default 3000 (kafkajs's 1000 is tight on a loaded 2-core machine). */
  connectionTimeoutMs?: number;
  /** Default 30000. */
  requestTimeoutMs?: number;
  /** Retries inside one call before it fails with a retriable IOC_BUS_UNAVAILABLE; default 5 over ~10 s. */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
  /** Replication factor for topics ensureTopics creates; default -1, the broker's default.replication.factor. */
  replicationFactor?: number;
  /** Broker-side wait for acks=all on append; default 30000. */
  produceTimeoutMs?: number;
  consumer?: KafkaConsumerOptions;
}

export interface KafkaConsumerOptions {
  /** Default 30000. */
  sessionTimeoutMs?: number;
  /** Default 60000. */
  rebalanceTimeoutMs?: number;
  /** Default 3000; keep it near a third of the session timeout. */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits on the broker for new data; default 500 (bounds idle latency). */
  maxWaitTimeMs?: number;
  /**
   * Default 64 KiB. A scan or tail decodes a fetch response whole; a group member decodes each
   * partition's records in pieces of whole record batches as it delivers them, while the next response
   * is already in flight. Choose it above the producers' batch size: a fetch that ends inside a batch
   * returns that batch cut short, to be fetched again whole next time (the aggregator, replaying ~0.5 MB
   * batches, sets 4 MiB: with 1 MiB it read 1.65 bytes per byte used and cost 20–25 % more CPU per event).
   * A record larger than this still arrives (the broker always returns at least one batch).
   */
  maxBytesPerPartition?: number;
  /** Default 256 KiB. */
  maxBytes?: number;
}

export type ResolvedOptions = Required<Omit<KafkaBusOptions, 'ssl' | 'sasl' | 'retry' | 'consumer'>> & {
  ssl: ConnectionOptions | boolean | undefined;
  sasl: SASLOptions | undefined;
  retry: Required<NonNullable<KafkaBusOptions['retry']>>;
  consumer: Required<KafkaConsumerOptions>;
};

export function resolveOptions(options: KafkaBusOptions, defaultLogger: BusLogger): ResolvedOptions {
  if (options.brokers.length === 0) throw new RangeError('brokers must name at least one host:port');
  return {
    brokers: [...options.brokers],
    clientId: options.clientId ?? 'iocbus',
    logger: options.logger ?? defaultLogger,
    clientLogLevel: options.clientLogLevel ?? 'info',
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeoutMs: options.connectionTimeoutMs ?? 3000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    retry: {
      retries: options.retry?.retries ?? 5,
      initialRetryTimeMs: options.retry?.initialRetryTimeMs ?? 300,
      maxRetryTimeMs: options.retry?.maxRetryTimeMs ?? 30_000,
    },
    replicationFactor: options.replicationFactor ?? -1,
    produceTimeoutMs: options.produceTimeoutMs ?? 30_000,
    consumer: {
      sessionTimeoutMs: options.consumer?.sessionTimeoutMs ?? 30_000,
      rebalanceTimeoutMs: options.consumer?.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.consumer?.heartbeatIntervalMs ?? 3000,
      maxWaitTimeMs: options.consumer?.maxWaitTimeMs ?? 500,
      maxBytesPerPartition: options.consumer?.maxBytesPerPartition ?? 65_536,
      maxBytes: options.consumer?.maxBytes ?? 262_144,
    },
  };
}

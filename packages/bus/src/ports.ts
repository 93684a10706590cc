/**
 * The ports through which everything above the bus talks to a partitioned log.
 * Two adapters implement them: Kafka (kafkajs) and in-process (embedded mode, unit tests).
 * Offsets are decimal strings, as Kafka's are int64.
 */

export type Headers = Record<string, string>;

/** One record to append. `key` decides the partition (same key, same partition, in order). */
export interface BusRecord {
  key: string;
  value: Buffer;
  headers: Headers;
  /** Milliseconds since the epoch; the adapter sets "now" when absent. */
  timestamp?: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Where an appended record landed. */
export interface AppendedRecord extends TopicPartition {
  offset: string;
}

export interface ConsumedRecord extends BusRecord, TopicPartition {
  offset: string;
  timestamp: number;
}

/** Append-only side: resolves only once the log durably holds every record (acks=all for Kafka). */
export interface EventLog {
  append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]>;
  close(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** e.g. { 'cleanup.policy': 'compact' } */
  config?: Record<string, string>;
}

export interface TopicAdmin {
  /** Creates the topics that do not exist yet; existing topics are left as they are. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The ports through which everything above the bus talks to a partitioned log.
 * Two adapters implement them: Kafka (kafkajs) and in-process (embedded mode, unit tests).
 * Offsets are decimal strings, as Kafka's are int64. An offset given as a position ("start at",
 * "commit") always means the next offset to read, as in Kafka.
 */

import type { IocError } from '@iocbus/errors';

export type Headers = Record<string, string>;

/** One record to append. `key` decides the partition (same key, same partition, in order). */
export interface BusRecord {
  key: string;
  /** An empty value is written as a tombstone (Kafka null value): on a compacted topic the key is then deleted. */
  value: Buffer;
  headers: Headers;
  /**
   * Milliseconds since the epoch; the adapter sets "now" when absent. Leave it out unless it is
   * the append time: Kafka's time retention goes by it, so an event time older than the topic's
   * retention.ms (7 days by default) gets the record deleted soon after it is written.
   */
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

/**
 * A record read back. A tombstone (Kafka null value) reads as an empty value, a null key as ''.
 * When a header name repeats, the last value wins.
 */
export interface ConsumedRecord extends BusRecord, TopicPartition {
  offset: string;
  timestamp: number;
}

/** Append-only side: resolves only once the log durably holds every record (acks=all for Kafka). */
export interface EventLog {
  /** Records of one call keep their order within each partition; the result is in input order. */
  append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]>;
  /**
   * How many partitions the log spreads `topic` over, a record going to partitionForKey(key, count); undefined
   * while the log does not know (Kafka: before its first append to the topic, it reports the count its last
   * append used). For sizing requests per partition (the broker's message.max.bytes is per partition's
   * batch): a count that changed since is only an estimate. Optional: wrappers may leave it out.
   */
  knownPartitionCount?(topic: string): number | undefined;
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

/** The offsets bounding a partition's log: `low` is the first offset still held, `high` the next to be written. */
export interface PartitionOffsets {
  partition: number;
  low: string;
  high: string;
}

// ---------------------------------------------------------------------------------------------
// Consuming in a group

/** Where a newly assigned partition starts. `{ offset }` is the next offset to deliver. */
export type StartPosition = { offset: string } | 'committed' | 'earliest' | 'latest';

export interface AssignedPartition extends TopicPartition {
  /** The group's committed offset for this partition (next offset to read), or null if it has none. */
  committedOffset: string | null;
  /** First offset the log still holds; a start below it begins here instead. */
  lowWatermark: string;
  /** Offset the next appended record will get; a start above it begins here instead. */
  highWatermark: string;
}

export interface PartitionStart extends TopicPartition {
  start: StartPosition;
}

/**
 * Why partitions left this member: `revoked` by a rebalance; `lost` when the membership itself
 * ended (session expired, client restarted after a failure), so others may have consumed meanwhile;
 * `stopping` when stop() hands them back (the member still owns them during the call: commit is allowed).
 */
export type RevokeReason = 'revoked' | 'lost' | 'stopping';

/** Records of one partition, in offset order, delivered to one member. */
export interface PartitionBatch extends TopicPartition {
  readonly records: readonly ConsumedRecord[];
  /** The partition's high watermark when fetched: lag after this batch is highWatermark − (last offset + 1). */
  readonly highWatermark: string;
  /**
   * Keeps the membership alive inside a long batch; call it every few thousand records.
   * It never rejects: when it learns of a rebalance it makes the batch stale instead.
   */
  heartbeat(): Promise<void>;
  /**
   * True once the rest of this batch must not be applied: the partition was revoked or reassigned,
   * a rebalance began, or the consumer is stopping. A batch left stale is never counted as consumed:
   * if the partition stays with this member it is announced again (onRevoked, then onAssigned).
   */
  isStale(): boolean;
}

export interface GroupHandlers {
  /**
   * Newly assigned partitions, not fetched until this resolves. Return where each starts; a partition
   * left out starts at `'committed'`. Calls for one partition alternate onAssigned → onRevoked.
   */
  onAssigned(partitions: readonly AssignedPartition[]): Promise<readonly PartitionStart[] | void>;
  /** Partitions that left this member; no batch of theirs is in flight or follows this call. */
  onRevoked(partitions: readonly TopicPartition[], reason: RevokeReason): Promise<void>;
  /**
   * One batch at a time per member. Returning counts the batch as consumed (unless stale).
   * Throwing stops the consumer: `closed` resolves with the error, partitions are revoked as `lost`.
   */
  onBatch(batch: PartitionBatch): Promise<void>;
}

export interface GroupConsumerOptions extends GroupHandlers {
  groupId: string;
  topics: readonly string[];
  /** Start of a `'committed'` partition the group never committed; default `'earliest'`. */
  noCommittedOffset?: 'earliest' | 'latest';
}

export interface CommitOffset extends TopicPartition {
  /** The next offset to read. */
  offset: string;
}

export interface GroupConsumer {
  readonly groupId: string;
  /** Partitions whose onAssigned completed and that are still owned. */
  assignment(): TopicPartition[];
  /**
   * Commits exactly these offsets; nothing is ever committed automatically.
   * Rejects with IOC_BUS_NOT_ASSIGNED for a partition this member does not own (announced and not
   * revoked), and IOC_BUS_COMMIT_REJECTED when a rebalance overtook the commit.
   */
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  /**
   * Waits for the batch in flight, calls onRevoked(owned, 'stopping'), leaves the group.
   * Do not await it from inside a handler (it waits for that handler).
   */
  stop(): Promise<void>;
  /** Resolves once the member has left: with undefined after stop(), with the error after a failure. */
  readonly closed: Promise<IocError | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Reading without a group

export interface ScanOptions {
  /** Default: every partition of the topic. */
  partitions?: readonly number[];
}

export interface TailBatch extends TopicPartition {
  readonly records: readonly ConsumedRecord[];
  readonly highWatermark: string;
}

export interface TailOptions {
  topic: string;
  /** Default: every partition the topic has when the tail starts. */
  partitions?: readonly number[];
  /** Default 'earliest'. A map gives the next offset per partition; partitions absent from it start earliest. */
  from?: 'earliest' | 'latest' | ReadonlyMap<number, string>;
  /** Batches are delivered one at a time. Throwing stops the tail (`closed` resolves with the error). */
  onBatch(batch: TailBatch): Promise<void>;
  /** Called once, when every partition has been read up to the end it had when the tail started. */
  onCaughtUp?(): void;
}

export interface Tail {
  stop(): Promise<void>;
  readonly closed: Promise<IocError | undefined>;
}

/** The reading side of the log. */
export interface PartitionedSource {
  /** Joins `groupId` as one more member; resolves once the member is running (assignment follows). */
  joinGroup(options: GroupConsumerOptions): Promise<GroupConsumer>;
  /** Calls `onRecords` with every record from the start of the log to the end it had when called. */
  scanToEnd(
    topic: string,
    onRecords: (records: readonly ConsumedRecord[]) => Promise<void> | void,
    options?: ScanOptions,
  ): Promise<PartitionOffsets[]>;
  /** scanToEnd collected into one array, in offset order per partition. */
  readToEnd(topic: string, options?: ScanOptions): Promise<ConsumedRecord[]>;
  /** Follows partitions without a group: every caller sees every record. */
  tail(options: TailOptions): Promise<Tail>;
  endOffsets(topic: string): Promise<PartitionOffsets[]>;
  close(): Promise<void>;
}

/** Everything one process needs, over one adapter. */
export interface Bus {
  readonly log: EventLog;
  readonly admin: TopicAdmin;
  readonly source: PartitionedSource;
  close(): Promise<void>;
}

import { BusError, BusErrorCode } from '../errors.js';
import { partitionForKey } from '../murmur2.js';
import type { AppendedRecord, BusRecord, ConsumedRecord, PartitionOffsets, TopicSpec } from '../ports.js';
import { InProcessGroup } from './group.js';
import { PartitionLog, type LogPolicy } from './partition-log.js';

/** Topic configs Kafka accepts that the in-process log either honours or may safely ignore. */
const HONOURED = new Set(['cleanup.policy', 'retention.ms', 'max.message.bytes']);
const IGNORED = new Set([
  'compression.type',
  'delete.retention.ms',
  'max.compaction.lag.ms',
  'message.timestamp.type',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'min.insync.replicas',
  'retention.bytes',
  'segment.bytes',
  'segment.ms',
  'unclean.leader.election.enable',
]);
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
// Kafka's defaults: 7 days of retention, ~1 MiB per record batch.
const DEFAULT_RETENTION_MS = 604_800_000;
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

interface Topic {
  name: string;
  partitions: PartitionLog[];
  maxMessageBytes: number;
}

export interface InProcessBrokerOptions {
  /** Clock for append timestamps and retention; default Date.now. */
  now?: () => number;
}

/**
 * The shared state behind every in-process adapter: topics of partitioned, append-only logs.
 * Synchronous on purpose: an append is visible to readers the moment it returns.
 */
export class InProcessBroker {
  private readonly topics = new Map<string, Topic>();
  private readonly listeners = new Map<string, Set<() => void>>();
  // Groups live with the broker, so buses sharing a broker share groups and committed offsets.
  private readonly groups = new Map<string, InProcessGroup>();
  readonly now: () => number;

  constructor(options: InProcessBrokerOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  ensureTopic(spec: TopicSpec): void {
    if (!LEGAL_TOPIC.test(spec.name) || spec.name === '.' || spec.name === '..') {
      throw new BusError(BusErrorCode.InvalidRequest, `illegal topic name "${spec.name}"`);
    }
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new BusError(BusErrorCode.InvalidRequest, `topic ${spec.name}: partitions must be a positive integer`);
    }
    const policy = parsePolicy(spec);
    if (this.topics.has(spec.name)) return;
    const partitions = Array.from({ length: spec.partitions }, () => new PartitionLog(policy, this.now));
    this.topics.set(spec.name, { name: spec.name, partitions, maxMessageBytes: policy.maxMessageBytes });
  }

  group(groupId: string): InProcessGroup {
    let group = this.groups.get(groupId);
    if (group === undefined) this.groups.set(groupId, (group = new InProcessGroup(groupId, this)));
    return group;
  }

  hasTopic(topic: string): boolean {
    return this.topics.has(topic);
  }

  partitionCount(topic: string): number {
    return this.topic(topic).partitions.length;
  }

  append(topicName: string, records: readonly BusRecord[]): AppendedRecord[] {
    const topic = this.topic(topicName);
    const count = topic.partitions.length;
    const placed = records.map((record) => {
      const size = recordSize(record);
      if (size > topic.maxMessageBytes) {
        throw new BusError(
          BusErrorCode.RecordTooLarge,
          `record of ${size} bytes exceeds max.message.bytes ${topic.maxMessageBytes} of ${topicName}`,
        );
      }
      return partitionForKey(record.key, count);
    });
    // Validated first, so a call is all-or-nothing, as one produce request per partition is in Kafka.
    const now = this.now();
    const result = records.map((record, i) => {
      const partition = placed[i]!;
      const offset = topic.partitions[partition]!.append(topicName, partition, record, now);
      return { topic: topicName, partition, offset: String(offset) };
    });
    if (records.length > 0) this.notify(topicName);
    return result;
  }

  offsets(topicName: string, partition: number): { low: number; high: number } {
    const log = this.log(topicName, partition);
    log.expireNow();
    return { low: log.startOffset, high: log.nextOffset };
  }

  endOffsets(topicName: string): PartitionOffsets[] {
    return this.topic(topicName).partitions.map((_, partition) => {
      const { low, high } = this.offsets(topicName, partition);
      return { partition, low: String(low), high: String(high) };
    });
  }

  /** Records from `offset` on (the first held one when `offset` fell out of retention), at most `max`. */
  read(topicName: string, partition: number, offset: number, max: number): readonly ConsumedRecord[] {
    return this.log(topicName, partition).read(offset, max);
  }

  /** Calls `listener` after each append to any of `topics`; returns the unsubscribe function. */
  onAppend(topics: Iterable<string>, listener: () => void): () => void {
    const names = [...topics];
    for (const name of names) {
      let set = this.listeners.get(name);
      if (set === undefined) this.listeners.set(name, (set = new Set()));
      set.add(listener);
    }
    return () => {
      for (const name of names) this.listeners.get(name)?.delete(listener);
    };
  }

  private notify(topic: string): void {
    const set = this.listeners.get(topic);
    if (set === undefined) return;
    for (const listener of [...set]) listener();
  }

  private topic(name: string): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new BusError(BusErrorCode.UnknownTopic, `topic ${name} does not exist`);
    return topic;
  }

  private log(topicName: string, partition: number): PartitionLog {
    const log = this.topic(topicName).partitions[partition];
    if (log === undefined) {
      throw new BusError(BusErrorCode.UnknownTopic, `topic ${topicName} has no partition ${partition}`);
    }
    return log;
  }
}

function parsePolicy(spec: TopicSpec): LogPolicy & { maxMessageBytes: number } {
  const config = spec.config ?? {};
  for (const name of Object.keys(config)) {
    if (!HONOURED.has(name) && !IGNORED.has(name)) {
      throw new BusError(BusErrorCode.InvalidRequest, `topic ${spec.name}: unknown config "${name}"`);
    }
  }
  const policies = (config['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim());
  if (policies.some((p) => p !== 'delete' && p !== 'compact')) {
    throw new BusError(BusErrorCode.InvalidRequest, `topic ${spec.name}: bad cleanup.policy "${config['cleanup.policy']}"`);
  }
  return {
    compact: policies.includes('compact'),
    retentionMs: policies.includes('delete') ? integerConfig(spec, 'retention.ms', DEFAULT_RETENTION_MS) : -1,
    maxMessageBytes: integerConfig(spec, 'max.message.bytes', DEFAULT_MAX_MESSAGE_BYTES),
  };
}

function integerConfig(spec: TopicSpec, name: string, fallback: number): number {
  const raw = spec.config?.[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < -1) {
    throw new BusError(BusErrorCode.InvalidRequest, `topic ${spec.name}: ${name} must be an integer ≥ -1, got "${raw}"`);
  }
  return value;
}

function recordSize(record: BusRecord): number {
  let size = Buffer.byteLength(record.key) + record.value.length;
  for (const [name, value] of Object.entries(record.headers)) size += Buffer.byteLength(name) + Buffer.byteLength(value);
  return size;
}

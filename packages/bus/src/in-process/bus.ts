import { BusError, BusErrorCode, closedError } from '../errors.js';
import { silentLogger, type BusLogger } from '../logger.js';
import type {
  Bus,
  ConsumedRecord,
  EventLog,
  GroupConsumer,
  GroupConsumerOptions,
  PartitionedSource,
  ScanOptions,
  Tail,
  TailOptions,
  TopicAdmin,
} from '../ports.js';
import { InProcessBroker } from './broker.js';
import { InProcessGroupConsumer } from './group-consumer.js';
import { InProcessTail, scanToEnd } from './reader.js';

export interface InProcessBusOptions {
  /** Share one broker between several buses (e.g. one per simulated process); default a new one. */
  broker?: InProcessBroker;
  logger?: BusLogger;
  /** Most records per delivered batch; default 1000. */
  maxBatchRecords?: number;
}

export interface InProcessBus extends Bus {
  readonly broker: InProcessBroker;
}

/**
 * The whole bus in this process's memory: the embedded mode's transport and the unit tests'.
 * Same partitioning (murmur2), offsets, groups, commits and callbacks as the Kafka adapter;
 * no durability: everything is gone when the process ends.
 */
export function createInProcessBus(options: InProcessBusOptions = {}): InProcessBus {
  const broker = options.broker ?? new InProcessBroker();
  const logger = options.logger ?? silentLogger;
  const maxBatchRecords = options.maxBatchRecords ?? 1000;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) {
    throw new BusError(BusErrorCode.InvalidRequest, 'maxBatchRecords must be a positive integer');
  }
  const consumers = new Set<InProcessGroupConsumer>();
  const tails = new Set<InProcessTail>();
  let closed = false;
  const open = (what: string): void => {
    if (closed) throw closedError(what);
  };

  const log: EventLog = {
    async append(topic, records) {
      open('in-process event log');
      return broker.append(topic, records);
    },
    knownPartitionCount(topic) {
      return broker.hasTopic(topic) ? broker.partitionCount(topic) : undefined;
    },
    async close() {},
  };

  const admin: TopicAdmin = {
    async ensureTopics(topics) {
      open('in-process topic admin');
      for (const spec of topics) broker.ensureTopic(spec);
    },
    async partitionCount(topic) {
      return broker.partitionCount(topic);
    },
    async close() {},
  };

  const source: PartitionedSource = {
    async joinGroup(groupOptions: GroupConsumerOptions): Promise<GroupConsumer> {
      open('in-process source');
      const group = broker.group(groupOptions.groupId);
      const consumer = new InProcessGroupConsumer(broker, group, groupOptions, { maxBatchRecords, logger });
      await consumer.start();
      consumers.add(consumer);
      void consumer.closed.then(() => consumers.delete(consumer));
      return consumer;
    },
    async scanToEnd(topic, onRecords, scanOptions: ScanOptions = {}) {
      open('in-process source');
      return scanToEnd(broker, topic, onRecords, scanOptions, maxBatchRecords);
    },
    async readToEnd(topic, scanOptions: ScanOptions = {}) {
      const all: ConsumedRecord[] = [];
      await source.scanToEnd(topic, (records) => void all.push(...records), scanOptions);
      return all;
    },
    async tail(tailOptions: TailOptions): Promise<Tail> {
      open('in-process source');
      const tail = new InProcessTail(broker, tailOptions, { maxBatchRecords, logger });
      tail.start();
      tails.add(tail);
      void tail.closed.then(() => tails.delete(tail));
      return tail;
    },
    async endOffsets(topic) {
      return broker.endOffsets(topic);
    },
    async close() {
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      await Promise.all([...tails].map((t) => t.stop()));
    },
  };

  return {
    broker,
    log,
    admin,
    source,
    async close() {
      await source.close();
    },
  };
}

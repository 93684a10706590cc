/**
 * The only kafkajs internals the bus touches, typed here in one place. kafkajs has no manual
 * partition assignment (no `assign()`), and a throwaway consumer group per read would cost a group
 * join (plus the broker's group.initial.rebalance.delay.ms, 3 s by default) every time the aggregator
 * loads a checkpoint, and would leave a group behind per view instance. So group-less reads use the
 * client's own cluster object and Fetch request, exactly as kafkajs's consumer does internally.
 * kafkajs is pinned at 2.2.4, its last release; a move to another client replaces this file.
 */
import { createRequire } from 'node:module';
import type { Kafka, KafkaMessage } from 'kafkajs';

const require = createRequire(import.meta.url);

export interface FetchedPartition {
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  abortedTransactions?: unknown;
}

export interface InternalBroker {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: number }): Promise<InternalBroker>;
  fetchTopicsOffset(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
  removeBroker(args: { host: string; port: number }): void;
}

/** kafkajs's decoded view of one partition's fetch response (filters control and aborted records). */
export interface InternalBatch {
  readonly messages: KafkaMessage[];
  readonly rawMessages: KafkaMessage[];
  readonly highWatermark: string;
}

type BatchConstructor = new (topic: string, fetchedOffset: string, partitionData: FetchedPartition) => InternalBatch;

export const Batch = require('kafkajs/src/consumer/batch.js') as BatchConstructor;
const InstrumentationEventEmitter = require('kafkajs/src/instrumentation/emitter.js') as new () => unknown;
export const READ_COMMITTED = (require('kafkajs/src/protocol/isolationLevel.js') as { READ_COMMITTED: number })
  .READ_COMMITTED;

type CreateCluster = (options: {
  metadataMaxAge: number;
  allowAutoTopicCreation: boolean;
  maxInFlightRequests: number | null;
  instrumentationEmitter: unknown;
  isolationLevel: number;
}) => InternalCluster;

/** A cluster built by the client itself, so it shares brokers, TLS, SASL, timeouts and logger. */
export function createCluster(kafka: Kafka): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, CreateCluster>)[symbol];
  if (typeof create !== 'function') {
    throw new Error('kafkajs internals changed: Kafka has no private:Kafka:createCluster (expected kafkajs 2.2.4)');
  }
  return create({
    metadataMaxAge: 300_000,
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    instrumentationEmitter: new InstrumentationEventEmitter(),
    isolationLevel: READ_COMMITTED,
  });
}

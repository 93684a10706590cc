/**
 * The only kafkajs internals the bus touches, typed here in one place. kafkajs has no manual
 * partition assignment (no `assign()`), and a throwaway consumer group per read would cost a group
 * join (plus the broker's group.initial.rebalance.delay.ms, 3 s by default) every time the aggregator
 * loads a checkpoint, and would leave a group behind per view instance. So group-less reads use the
 * client's own cluster object for metadata, offsets and broker connections, as kafkajs's consumer does
 * internally; Fetch requests are the bus's own (fetcher.ts), sent through those connections.
 * kafkajs is pinned at 2.2.4, its last release; a move to another client replaces this file.
 */
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';

const require = createRequire(import.meta.url);

/** A broker of the cluster: the bus sends its own requests through it (sendRawRequest). */
export interface InternalBroker {
  readonly nodeId: number;
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

// ---------------------------------------------------------------------------------------------
// Our own requests over a broker's kafkajs connection (framing, correlation ids, TLS, SASL, timeouts)

const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => { writeBuffer(b: Buffer): unknown };
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };
const BrokerClass = require('kafkajs/src/broker/index.js') as { prototype: object };
const SEND_REQUEST = Object.getOwnPropertySymbols(BrokerClass.prototype).find((s) => s.description === 'private:Broker:sendRequest');

/** The API versions a connected broker announced (ApiVersions), by api key. */
export function brokerApiVersions(broker: InternalBroker): Record<number, { minVersion: number; maxVersion: number }> | undefined {
  return (broker as unknown as { versions?: Record<number, { minVersion: number; maxVersion: number }> }).versions ?? undefined;
}

/**
 * Sends a request whose body we encode and whose response body (after the correlation id) we decode,
 * through the broker's own connection: kafkajs keeps doing the framing, correlation, authentication
 * and request timeouts, and builds nothing per record.
 */
export async function sendRawRequest<T>(
  broker: InternalBroker,
  request: { apiKey: number; apiVersion: number; apiName: string; body: Buffer; requestTimeoutMs: number },
  decode: (payload: Buffer) => T,
): Promise<T> {
  if (SEND_REQUEST === undefined) throw new Error('kafkajs internals changed: Broker has no private:Broker:sendRequest (expected kafkajs 2.2.4)');
  const send = (broker as unknown as Record<symbol, (r: unknown) => Promise<T>>)[SEND_REQUEST]!;
  return send.call(broker, {
    request: {
      apiKey: request.apiKey,
      apiVersion: request.apiVersion,
      apiName: request.apiName,
      encode: async () => {
        const encoder = new Encoder();
        encoder.writeBuffer(request.body);
        return encoder;
      },
    },
    response: {
      decode: async (payload: Buffer) => decode(payload),
      parse: async (decoded: T) => decoded,
    },
    requestTimeout: request.requestTimeoutMs,
  });
}

/** kafkajs's error for a Kafka error code (type, retriable), so mapKafkaError and recovery treat it as theirs. */
export function kafkaProtocolError(code: number): Error {
  return createErrorFromCode(code);
}

// ---------------------------------------------------------------------------------------------
// Group membership hooks

/** What a group consumer needs from kafkajs's ConsumerGroup (its member's heartbeat). */
export interface InternalConsumerGroup {
  heartbeat(options: { interval: number }): Promise<void>;
}

export interface JoinHooks {
  /** Before kafkajs (re)joins: wait for the batch in flight, as a poll loop would. */
  beforeJoin(group: InternalConsumerGroup): Promise<void>;
  afterJoin(): void;
}

const ConsumerGroupClass = require('kafkajs/src/consumer/consumerGroup.js') as {
  prototype: { joinAndSync(this: { cluster: object } & InternalConsumerGroup): Promise<void> };
};
const { roundRobin } = (require('kafkajs/src/consumer/assigners/index.js') as { roundRobin: (config: { cluster: object }) => unknown });
const hooksByCluster = new WeakMap<object, JoinHooks>();
const JOIN_PATCHED = Symbol.for('iocbus.bus.joinHooks');

/**
 * kafkajs's consumer (re)joins its group from its own loop, with no hook, and exposes no heartbeat
 * outside its eachBatch payload. The group consumer fetches on its own, so it needs both: the join to
 * wait for the batch being handled (else the partition may go to another member mid-batch), and the
 * member's heartbeat. ConsumerGroup.joinAndSync is wrapped once (for every consumer; those without
 * hooks behave as before), and the consumer's cluster — handed to the partition assigner factory,
 * the one place kafkajs shows it — tells which hooks are whose.
 */
export function roundRobinWithJoinHooks(hooks: JoinHooks): (config: { cluster: object }) => unknown {
  const proto = ConsumerGroupClass.prototype as Record<symbol, unknown> & typeof ConsumerGroupClass.prototype;
  if (proto[JOIN_PATCHED] !== true) {
    const original = proto.joinAndSync;
    proto.joinAndSync = async function joinAndSync() {
      const own = hooksByCluster.get(this.cluster);
      if (own === undefined) return original.call(this);
      await own.beforeJoin(this);
      try {
        return await original.call(this);
      } finally {
        own.afterJoin();
      }
    };
    proto[JOIN_PATCHED] = true;
  }
  return (config) => {
    hooksByCluster.set(config.cluster, hooks);
    return roundRobin(config);
  };
}

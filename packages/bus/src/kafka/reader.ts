import type { Kafka } from 'kafkajs';
import { BusError, BusErrorCode, closedError } from '../errors.js';
import type { ConsumedRecord, PartitionOffsets } from '../ports.js';
import { Connection } from './connection.js';
import { mapKafkaError } from './errors.js';
import { decodeRecords, type FetchedPartition, type PartitionFetch } from './fetch-protocol.js';
import { fetchOnce } from './fetcher.js';
import { createCluster, kafkaProtocolError, type InternalCluster } from './internals.js';
import type { ResolvedOptions } from './options.js';
import { retrying } from './retry.js';

const OFFSET_OUT_OF_RANGE = 1;

export interface Fetched {
  partition: number;
  records: ConsumedRecord[];
  highWatermark: string;
  /** Next offset to fetch: past every record returned, filtered ones (control, aborted) included. */
  next: bigint;
}

/**
 * Group-less reading: Fetch requests straight to each partition's leader, from offsets the caller
 * keeps. Each scan and each tail gets a reader of its own: kafkajs opens a broker's fetch connection
 * lazily and without a lock, so two readers fetching through one cluster before that connection is
 * up each open a socket and one of them is never closed (it kept test processes alive); and a broker
 * answers one connection's requests in order, so one tail's long poll would delay another's fetch.
 */
export class KafkaReader {
  private readonly cluster: InternalCluster;
  private readonly connection: Connection;
  private rotation = 0;

  constructor(
    kafka: Kafka,
    private readonly options: ResolvedOptions,
  ) {
    this.cluster = createCluster(kafka);
    this.connection = new Connection(
      () => this.cluster.connect(),
      () => this.cluster.disconnect(),
    );
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  /** Connects and loads the topic's metadata; returns its partition ids. */
  async prepare(topic: string): Promise<number[]> {
    if (this.connection.closed) throw closedError('Kafka reader');
    try {
      await this.connection.open();
      await this.cluster.addMultipleTargetTopics([topic]);
      await this.cluster.refreshMetadataIfNecessary();
    } catch (err) {
      throw mapKafkaError(err, `read ${topic}`);
    }
    const partitions = this.cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
    if (partitions.length === 0) throw new BusError(BusErrorCode.UnknownTopic, `topic ${topic} does not exist`);
    return partitions.sort((a, b) => a - b);
  }

  async bounds(topic: string, partitions: readonly number[]): Promise<PartitionOffsets[]> {
    const request = (fromBeginning: boolean) =>
      this.cluster.fetchTopicsOffset([{ topic, partitions: partitions.map((partition) => ({ partition })), fromBeginning }]);
    try {
      const [low, high] = await Promise.all([request(true), request(false)]);
      const lows = new Map(low[0]?.partitions.map((p) => [p.partition, p.offset]));
      const highs = new Map(high[0]?.partitions.map((p) => [p.partition, p.offset]));
      return partitions.map((partition) => {
        const l = lows.get(partition);
        const h = highs.get(partition);
        if (l === undefined || h === undefined) {
          throw new BusError(BusErrorCode.UnknownTopic, `topic ${topic} has no partition ${partition}`);
        }
        return { partition, low: l, high: h };
      });
    } catch (err) {
      throw mapKafkaError(err, `offsets of ${topic}`);
    }
  }

  /**
   * One Fetch per leader of `positions`' partitions, run concurrently. A partition whose position fell
   * out of the log (retention) restarts at the log start, as auto.offset.reset=earliest would.
   */
  async fetch(topic: string, positions: Map<number, bigint>, maxWaitMs: number): Promise<Fetched[]> {
    const results = await Promise.all(
      (await this.leaders(topic, [...positions.keys()])).map(([nodeId, partitions]) =>
        this.fetchFrom(nodeId, topic, partitions, positions, maxWaitMs),
      ),
    );
    return results.flat();
  }

  /** The partitions grouped by the broker leading them, from fresh enough metadata. */
  async leaders(topic: string, partitions: number[]): Promise<Array<[number, number[]]>> {
    await this.cluster.refreshMetadataIfNecessary();
    return Object.entries(this.cluster.findLeaderForPartitions(topic, partitions)).map(([nodeId, ps]) => [Number(nodeId), ps]);
  }

  /** Runs `fn`, reloading metadata and retrying after retriable failures, `retries` times at most. */
  withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retrying(what, fn, this.options.retry, (err) => this.recover(err), () => this.connection.closed);
  }

  /** After a failed fetch: forget a dead connection, reload leaders. */
  async recover(err: unknown): Promise<void> {
    const e = err as { name?: string; host?: string; port?: number };
    if (e.name === 'KafkaJSConnectionClosedError' && e.host !== undefined && e.port !== undefined) {
      this.cluster.removeBroker({ host: e.host, port: e.port });
    }
    await this.cluster.refreshMetadata().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /**
   * One Fetch of `partitions` (all led by `nodeId`) from `positions`. A partition whose position fell
   * out of the log (retention) continues at the nearest end of it: the log start, as
   * auto.offset.reset=earliest would, or the high watermark if the log was cut back.
   */
  async fetchFrom(
    nodeId: number,
    topic: string,
    partitions: number[],
    positions: Map<number, bigint>,
    maxWaitMs: number,
  ): Promise<Fetched[]> {
    const fetched = await this.fetchPartitions(
      nodeId,
      partitions.map((partition) => ({ topic, partition, offset: positions.get(partition)! })),
      maxWaitMs,
    );
    return fetched.map((f) => ({ partition: f.partition, records: decodeRecords(f), highWatermark: f.highWatermark, next: f.next }));
  }

  /** The same for partitions of any topics; partition errors other than an offset out of range are thrown. */
  async fetchPartitions(nodeId: number, wanted: readonly PartitionFetch[], maxWaitMs: number): Promise<FetchedPartition[]> {
    const broker = await this.cluster.findBroker({ nodeId });
    // The broker fills the response in request order up to maxBytes: rotate so no partition starves.
    const shift = this.rotation++ % Math.max(1, wanted.length);
    const response = await fetchOnce(
      broker,
      {
        maxWaitMs,
        minBytes: 1,
        maxBytes: this.options.consumer.maxBytes,
        partitionMaxBytes: this.options.consumer.maxBytesPerPartition,
        partitions: [...wanted.slice(shift), ...wanted.slice(0, shift)],
      },
      this.options.requestTimeoutMs,
    );
    for (const f of response.partitions) {
      if (f.errorCode === OFFSET_OUT_OF_RANGE) {
        const [bounds] = await this.bounds(f.topic, [f.partition]);
        const low = BigInt(bounds!.low);
        const high = BigInt(bounds!.high);
        f.next = f.next < low ? low : f.next > high ? high : f.next;
      } else if (f.errorCode !== 0) {
        // NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, …: kafkajs's error, so recover() reloads metadata.
        throw kafkaProtocolError(f.errorCode);
      }
    }
    return response.partitions;
  }
}

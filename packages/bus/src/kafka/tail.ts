import { setTimeout as sleep } from 'node:timers/promises';
import type { IocError } from '@iocbus/errors';
import { BusErrorCode, handlerFailed } from '../errors.js';
import type { BusLogger } from '../logger.js';
import type { Tail, TailOptions } from '../ports.js';
import { deferred, parseOffset, SerialQueue } from '../util.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { KafkaReader } from './reader.js';

/**
 * Follows partitions without a group. One long-polling fetch loop per leader broker, so data on
 * one broker is not held back by another's empty wait; deliveries are serialised across loops.
 * Broker trouble is retried for as long as the tail runs; only the caller's own errors stop it.
 */
export class KafkaTail implements Tail {
  readonly closed: Promise<IocError | undefined>;
  private readonly closedSignal = deferred<IocError | undefined>();
  private readonly positions = new Map<number, bigint>();
  private readonly caughtUpAt = new Map<number, bigint>();
  /** Partitions a fetch has answered for: only then is a position past the log's end known to be clamped. */
  private readonly fetched = new Set<number>();
  private readonly deliveries = new SerialQueue();
  private stopping = false;
  private regroup = false;
  private caughtUp = false;
  private failure: IocError | undefined;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly reader: KafkaReader,
    private readonly options: TailOptions,
    private readonly settings: ResolvedOptions,
    private readonly log: BusLogger,
  ) {
    this.closed = this.closedSignal.promise;
  }

  async start(): Promise<void> {
    const { topic, from = 'earliest' } = this.options;
    const existing = await this.reader.prepare(topic);
    const partitions = this.options.partitions ?? existing;
    const bounds = await this.reader.withRetries(`offsets of ${topic}`, () => this.reader.bounds(topic, partitions));
    for (const { partition, low, high } of bounds) {
      const given = from instanceof Map ? from.get(partition) : undefined;
      this.positions.set(partition, given !== undefined ? parseOffset(given) : from === 'latest' ? BigInt(high) : BigInt(low));
      this.caughtUpAt.set(partition, BigInt(high));
    }
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    try {
      this.checkCaughtUp();
      while (!this.stopping && this.failure === undefined) {
        this.regroup = false;
        let leaders: Array<[number, number[]]>;
        try {
          leaders = await this.reader.leaders(this.options.topic, [...this.positions.keys()]);
        } catch (err) {
          await this.backOff(err);
          continue;
        }
        await Promise.all(leaders.map(([nodeId, partitions]) => this.follow(nodeId, partitions)));
      }
    } catch (err) {
      this.failure ??= handlerFailed('tail', err);
    } finally {
      await this.deliveries.idle();
      // The reader is this tail's own (see KafkaReader): nothing else uses its connections.
      await this.reader.close().catch((err: unknown) => this.log.debug({ err }, 'closing the tail reader failed'));
      this.closedSignal.resolve(this.failure);
    }
  }

  private async follow(nodeId: number, partitions: number[]): Promise<void> {
    while (!this.stopping && !this.regroup && this.failure === undefined) {
      let fetched;
      try {
        // Each partition has one leader, so this loop alone moves its partitions' positions.
        fetched = await this.reader.fetchFrom(nodeId, this.options.topic, partitions, this.positions, this.settings.consumer.maxWaitTimeMs);
      } catch (err) {
        this.regroup = true;
        await this.backOff(err);
        return;
      }
      await this.deliveries.run(async () => {
        for (const f of fetched) {
          if (this.stopping || this.failure !== undefined) return;
          if (f.records.length > 0) {
            try {
              await this.options.onBatch({ topic: this.options.topic, partition: f.partition, records: f.records, highWatermark: f.highWatermark });
            } catch (err) {
              this.failure = handlerFailed('tail onBatch', err);
              this.log.error({ topic: this.options.topic, err: this.failure }, 'tail failed, stopping');
              return;
            }
          }
          // Forward, or back to the log's end when the position was past it (OFFSET_OUT_OF_RANGE).
          this.positions.set(f.partition, f.next);
          this.fetched.add(f.partition);
        }
        this.checkCaughtUp();
      });
    }
  }

  private async backOff(err: unknown): Promise<void> {
    const mapped = mapKafkaError(err, `tail ${this.options.topic}`);
    // A leader moving can briefly report the topic unknown; anything else non-retriable is final.
    if (!mapped.retriable && mapped.code !== BusErrorCode.UnknownTopic) {
      this.failure ??= mapped;
      return;
    }
    this.log.warn({ topic: this.options.topic, err: mapped }, 'tail fetch failed, retrying');
    await this.reader.recover(err);
    await sleep(this.settings.retry.initialRetryTimeMs);
  }

  private checkCaughtUp(): void {
    if (this.caughtUp) return;
    for (const [partition, end] of this.caughtUpAt) {
      const position = this.positions.get(partition)!;
      // A `from` past the end is not caught up until a fetch has moved it back to the end: records appended
      // before that fetch would otherwise be skipped by a caller that appends once onCaughtUp fired.
      if (position < end || (position > end && !this.fetched.has(partition))) return;
    }
    this.caughtUp = true;
    this.options.onCaughtUp?.();
  }
}

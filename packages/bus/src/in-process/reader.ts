import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IocError } from '@iocbus/errors';
import { handlerFailed } from '../errors.js';
import type { BusLogger } from '../logger.js';
import type { ConsumedRecord, PartitionOffsets, ScanOptions, Tail, TailOptions } from '../ports.js';
import { deferred, parseOffset } from '../util.js';
import type { InProcessBroker } from './broker.js';

export async function scanToEnd(
  broker: InProcessBroker,
  topic: string,
  onRecords: (records: readonly ConsumedRecord[]) => Promise<void> | void,
  options: ScanOptions,
  chunk: number,
): Promise<PartitionOffsets[]> {
  const partitions = options.partitions ?? range(broker.partitionCount(topic));
  const bounds = partitions.map((partition) => ({ partition, ...broker.offsets(topic, partition) }));
  for (const { partition, low, high } of bounds) {
    let position = low;
    while (position < high) {
      const records = broker.read(topic, partition, position, chunk).filter((r) => Number(r.offset) < high);
      if (records.length === 0) break;
      await onRecords(records);
      position = Number(records[records.length - 1]!.offset) + 1;
    }
  }
  return bounds.map(({ partition, low, high }) => ({ partition, low: String(low), high: String(high) }));
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Follows partitions of one topic, one batch at a time, yielding between batches. */
export class InProcessTail implements Tail {
  readonly closed: Promise<IocError | undefined>;
  private readonly closedSignal = deferred<IocError | undefined>();
  private readonly positions = new Map<number, number>();
  private readonly caughtUpAt = new Map<number, number>();
  private wake = deferred<void>();
  private stopping = false;
  private caughtUp = false;
  private loopDone: Promise<void> = Promise.resolve();
  private unsubscribe: () => void = () => {};
  private nextIndex = 0;

  constructor(
    private readonly broker: InProcessBroker,
    private readonly options: TailOptions,
    private readonly settings: { maxBatchRecords: number; logger: BusLogger },
  ) {
    this.closed = this.closedSignal.promise;
  }

  start(): void {
    const { topic, from = 'earliest' } = this.options;
    const partitions = this.options.partitions ?? range(this.broker.partitionCount(topic));
    for (const partition of partitions) {
      const { low, high } = this.broker.offsets(topic, partition);
      const given = from instanceof Map ? from.get(partition) : undefined;
      const start = given !== undefined ? Number(parseOffset(given)) : from === 'latest' ? high : low;
      this.positions.set(partition, start);
      this.caughtUpAt.set(partition, high);
    }
    this.unsubscribe = this.broker.onAppend([topic], () => this.wake.resolve());
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.resolve();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    let failure: IocError | undefined;
    try {
      while (!this.stopping) {
        this.checkCaughtUp();
        const delivered = await this.deliverOne();
        if (delivered) {
          await yieldToEventLoop();
          continue;
        }
        await this.wake.promise;
        this.wake = deferred();
      }
    } catch (err) {
      failure = handlerFailed('tail onBatch', err);
      this.settings.logger.error({ topic: this.options.topic, err: failure }, 'tail failed, stopping');
    } finally {
      this.unsubscribe();
      this.closedSignal.resolve(failure);
    }
  }

  private async deliverOne(): Promise<boolean> {
    const partitions = [...this.positions.keys()];
    for (let i = 0; i < partitions.length; i++) {
      const partition = partitions[(this.nextIndex + i) % partitions.length]!;
      const position = this.positions.get(partition)!;
      const records = this.broker.read(this.options.topic, partition, position, this.settings.maxBatchRecords);
      if (records.length === 0) continue;
      this.nextIndex = (this.nextIndex + i + 1) % partitions.length;
      const highWatermark = String(this.broker.offsets(this.options.topic, partition).high);
      await this.options.onBatch({ topic: this.options.topic, partition, records, highWatermark });
      this.positions.set(partition, Number(records[records.length - 1]!.offset) + 1);
      return true;
    }
    return false;
  }

  private checkCaughtUp(): void {
    if (this.caughtUp) return;
    for (const [partition, end] of this.caughtUpAt) {
      const position = this.positions.get(partition)!;
      if (position >= end) continue;
      // Below the end but nothing left under it: compaction or retention removed the rest.
      const next = this.broker.read(this.options.topic, partition, position, 1)[0];
      if (next !== undefined && Number(next.offset) < end) return;
    }
    this.caughtUp = true;
    this.options.onCaughtUp?.();
  }
}

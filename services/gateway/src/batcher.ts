import { partitionForKey, type BusRecord, type EventLog } from '@iocbus/bus';
import { isIocError } from '@iocbus/errors';
import { GatewayError } from './errors.js';

export interface BatcherOptions {
  log: EventLog;
  topic: string;
  /** How long the first record of an idle batcher waits for company before it is sent. */
  lingerMs: number;
  /** A produce request carries at most this many records… */
  maxBatchRecords: number;
  /**
   * …at most this many bytes (keys + values + headers, with a per-record allowance) for any one partition:
   * keep it under the topic's max.message.bytes, which Kafka applies to each partition's record batch…
   */
  maxBatchBytes: number;
  /** …and at most this many bytes in all. While the log cannot tell the partition count, maxBatchBytes caps the whole request. */
  maxRequestBytes: number;
  /** Records accepted but not yet acknowledged, over all requests; past it new work is refused (503). */
  maxPendingRecords: number;
  /** Produce requests outstanding at once. 1 keeps per-key order across batches under retries. */
  maxConcurrentAppends: number;
  /** Queued records not sent within this time are dropped and their submission fails (nothing was written). */
  queueTimeoutMs: number;
  observer?: BatchObserver;
  now?: () => number;
}

export interface BatchObserver {
  appended(records: number, seconds: number): void;
  failed(records: number, seconds: number, err: unknown): void;
}

interface Chunk {
  records: readonly BusRecord[];
  bytes: number;
  /** Bytes per partition: [partition, bytes, partition, bytes, …], each partition once. */
  placed: readonly number[];
  enqueuedAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function recordBytes(record: BusRecord): number {
  let bytes = record.value.length + Buffer.byteLength(record.key) + 16;
  for (const name in record.headers) bytes += name.length + Buffer.byteLength(record.headers[name] as string) + 4;
  return bytes;
}

/**
 * Groups the records of many requests into few produce requests. kafkajs has no linger.ms, so this is it: a
 * batch leaves when it is full, when lingerMs has passed since the first record arrived at an idle batcher, or
 * as soon as the previous produce request returns (whatever queued meanwhile has waited long enough). A
 * submission resolves only when Kafka has acknowledged every one of its records.
 */
export class MicroBatcher {
  private readonly queue: Chunk[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private inFlightAppends = 0;
  private inFlightRecords = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly now: () => number;
  private readonly perPartition: number[] = [];
  /** Bytes per partition of the request being assembled (sendOne zeroes what it used). */
  private readonly requestBytes: number[] = [];

  constructor(private readonly options: BatcherOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Records queued or being produced. */
  get pendingRecords(): number {
    return this.queuedRecords + this.inFlightRecords;
  }

  /**
   * Resolves when Kafka acknowledged all the records, rejects when any of them may not have been written.
   * A submission bigger than one batch is split; if a part fails, others may have been written (consumers
   * dedupe by (source, id), and the client retries the whole request).
   */
  submit(records: readonly BusRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    this.expireQueued();
    if (this.pendingRecords + records.length > this.options.maxPendingRecords) {
      return Promise.reject(
        new GatewayError('IOC_GATEWAY_OVERLOADED', 'too many events waiting for Kafka; retry later', {
          retryAfterMs: 1000,
        }),
      );
    }
    const { maxBatchRecords, maxBatchBytes, maxRequestBytes } = this.options;
    // Unknown partition count: every record counts against one partition, so maxBatchBytes caps the request.
    const count = this.options.log.knownPartitionCount?.(this.options.topic);
    const partitions = count === undefined || count < 1 ? 1 : count;
    const perPartition = this.scratch(partitions);
    const touched: number[] = [];
    const parts: Promise<void>[] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as BusRecord;
      const size = recordBytes(record);
      const partition = partitions === 1 ? 0 : partitionForKey(record.key, partitions);
      const full =
        i - start >= maxBatchRecords ||
        bytes + size > maxRequestBytes ||
        (perPartition[partition] as number) + size > maxBatchBytes;
      if (full && i > start) {
        parts.push(this.enqueue(records.slice(start, i), bytes, takePlaced(perPartition, touched)));
        start = i;
        bytes = 0;
      }
      if (perPartition[partition] === 0) touched.push(partition);
      perPartition[partition] = (perPartition[partition] as number) + size;
      bytes += size;
    }
    parts.push(this.enqueue(start === 0 ? records : records.slice(start), bytes, takePlaced(perPartition, touched)));
    return parts.length === 1 ? (parts[0] as Promise<void>) : Promise.all(parts).then(() => undefined);
  }

  /** Sends everything queued now and resolves once nothing is queued or in flight (graceful shutdown). */
  async drain(): Promise<void> {
    this.clearLinger();
    this.pump();
    if (this.pendingRecords === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** A zeroed per-partition byte count, reused (takePlaced zeroes what it read). */
  private scratch(partitions: number): number[] {
    while (this.perPartition.length < partitions) this.perPartition.push(0);
    return this.perPartition;
  }

  private enqueue(records: readonly BusRecord[], bytes: number, placed: readonly number[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, bytes, placed, enqueuedAt: this.now(), resolve, reject });
      this.queuedRecords += records.length;
      this.queuedBytes += bytes;
      if (this.queuedRecords >= this.options.maxBatchRecords || this.queuedBytes >= this.options.maxBatchBytes) {
        this.pump();
      } else if (this.inFlightAppends === 0 && this.lingerTimer === undefined) {
        this.lingerTimer = setTimeout(() => {
          this.lingerTimer = undefined;
          this.pump();
        }, this.options.lingerMs);
      }
    });
  }

  private clearLinger(): void {
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
  }

  /** Chunks that waited past queueTimeoutMs were already answered 503 by their request: drop, don't write. */
  private expireQueued(): void {
    const oldest = this.now() - this.options.queueTimeoutMs;
    while (this.queue.length > 0 && (this.queue[0] as Chunk).enqueuedAt < oldest) {
      const chunk = this.queue.shift() as Chunk;
      this.queuedRecords -= chunk.records.length;
      this.queuedBytes -= chunk.bytes;
      chunk.reject(
        new GatewayError('IOC_GATEWAY_KAFKA_UNAVAILABLE', 'Kafka did not take the events in time; nothing was written', {
          retryAfterMs: 1000,
        }),
      );
    }
  }

  private pump(): void {
    this.expireQueued();
    while (this.queue.length > 0 && this.inFlightAppends < this.options.maxConcurrentAppends) {
      this.clearLinger();
      this.sendOne();
    }
    this.notifyIdle();
  }

  private sendOne(): void {
    const { maxBatchRecords, maxBatchBytes, maxRequestBytes } = this.options;
    const perPartition = this.requestBytes;
    const touched: number[] = [];
    const batch: Chunk[] = [];
    let records = 0;
    let bytes = 0;
    // In queue order: a chunk that does not fit ends the request (taking a later one would reorder keys).
    while (this.queue.length > 0) {
      const next = this.queue[0] as Chunk;
      if (batch.length > 0) {
        let fits = records + next.records.length <= maxBatchRecords && bytes + next.bytes <= maxRequestBytes;
        for (let i = 0; fits && i < next.placed.length; i += 2) {
          fits = (perPartition[next.placed[i] as number] ?? 0) + (next.placed[i + 1] as number) <= maxBatchBytes;
        }
        if (!fits) break;
      }
      this.queue.shift();
      batch.push(next);
      records += next.records.length;
      bytes += next.bytes;
      for (let i = 0; i < next.placed.length; i += 2) {
        const partition = next.placed[i] as number;
        const before = perPartition[partition] ?? 0;
        if (before === 0) touched.push(partition);
        perPartition[partition] = before + (next.placed[i + 1] as number);
      }
    }
    for (const partition of touched) perPartition[partition] = 0;
    this.queuedRecords -= records;
    this.queuedBytes -= bytes;
    this.inFlightAppends++;
    this.inFlightRecords += records;
    const all = batch.length === 1 ? (batch[0] as Chunk).records : batch.flatMap((c) => c.records);
    const started = this.now();
    this.options.log.append(this.options.topic, all).then(
      () => {
        this.options.observer?.appended(records, (this.now() - started) / 1000);
        this.settle(records);
        for (const chunk of batch) chunk.resolve();
      },
      (err: unknown) => {
        this.options.observer?.failed(records, (this.now() - started) / 1000, err);
        this.settle(records);
        const failure = kafkaFailure(err);
        for (const chunk of batch) chunk.reject(failure);
      },
    );
  }

  private settle(records: number): void {
    this.inFlightAppends--;
    this.inFlightRecords -= records;
    // Whatever queued while the previous request was out has waited long enough: send it now.
    this.pump();
  }

  private notifyIdle(): void {
    if (this.pendingRecords !== 0) return;
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }
}

/** [partition, bytes, …] of the touched partitions; zeroes them in perPartition and empties touched. */
function takePlaced(perPartition: number[], touched: number[]): number[] {
  const placed: number[] = new Array(touched.length * 2);
  for (let i = 0; i < touched.length; i++) {
    const partition = touched[i] as number;
    placed[2 * i] = partition;
    placed[2 * i + 1] = perPartition[partition] as number;
    perPartition[partition] = 0;
  }
  touched.length = 0;
  return placed;
}

function kafkaFailure(err: unknown): GatewayError {
  const retriable = isIocError(err) ? err.retriable : (err as { retriable?: unknown } | null)?.retriable !== false;
  return retriable
    ? new GatewayError('IOC_GATEWAY_KAFKA_UNAVAILABLE', 'Kafka did not acknowledge the events; retry later', {
        cause: err,
        retryAfterMs: 1000,
      })
    : new GatewayError('IOC_GATEWAY_KAFKA_REJECTED', 'Kafka refused the events', { cause: err });
}

import type { BusRecord, EventLog } from '@iocbus/bus';
import { isIocError } from '@iocbus/errors';
import { GatewayError } from './errors.js';

export interface BatcherOptions {
  log: EventLog;
  topic: string;
  /** How long the first record of an idle batcher waits for company before it is sent. */
  lingerMs: number;
  /** A produce request carries at most this many records… */
  maxBatchRecords: number;
  /** …and at most this many bytes (keys + values + headers). Keep it under the broker's message.max.bytes. */
  maxBatchBytes: number;
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
    const parts: Promise<void>[] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const size = recordBytes(records[i] as BusRecord);
      const full = i - start >= this.options.maxBatchRecords || bytes + size > this.options.maxBatchBytes;
      if (full && i > start) {
        parts.push(this.enqueue(records.slice(start, i), bytes));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    parts.push(this.enqueue(start === 0 ? records : records.slice(start), bytes));
    return parts.length === 1 ? (parts[0] as Promise<void>) : Promise.all(parts).then(() => undefined);
  }

  /** Sends everything queued now and resolves once nothing is queued or in flight (graceful shutdown). */
  async drain(): Promise<void> {
    this.clearLinger();
    this.pump();
    if (this.pendingRecords === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(records: readonly BusRecord[], bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, bytes, enqueuedAt: this.now(), resolve, reject });
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
    const batch: Chunk[] = [];
    let records = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Chunk;
      const fits =
        records + next.records.length <= this.options.maxBatchRecords && bytes + next.bytes <= this.options.maxBatchBytes;
      if (batch.length > 0 && !fits) break;
      this.queue.shift();
      batch.push(next);
      records += next.records.length;
      bytes += next.bytes;
    }
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

function kafkaFailure(err: unknown): GatewayError {
  const retriable = isIocError(err) ? err.retriable : (err as { retriable?: unknown } | null)?.retriable !== false;
  return retriable
    ? new GatewayError('IOC_GATEWAY_KAFKA_UNAVAILABLE', 'Kafka did not acknowledge the events; retry later', {
        cause: err,
        retryAfterMs: 1000,
      })
    : new GatewayError('IOC_GATEWAY_KAFKA_REJECTED', 'Kafka refused the events', { cause: err });
}

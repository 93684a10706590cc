import type { BusRecord, ConsumedRecord } from '../ports.js';

export interface LogPolicy {
  /** Keep only the latest record per key (cleanup.policy=compact). */
  compact: boolean;
  /** Drop records whose timestamp is older than this (Kafka's retention.ms); -1 keeps them forever. */
  retentionMs: number;
}

// Compaction rewrites the arrays, so it waits until superseded records outnumber live ones.
const MIN_DEAD_TO_COMPACT = 1024;
// Retention advances a head index and only occasionally reclaims the space before it.
const MIN_HEAD_TO_RECLAIM = 4096;

/**
 * One partition: offsets grow by one per record and never change. Compaction and retention only
 * remove records, leaving gaps as Kafka's cleaner does, so the embedded mode's memory stays bounded
 * for compacted checkpoint/partial topics and time-limited input topics.
 */
export class PartitionLog {
  private records: ConsumedRecord[] = [];
  private offsets: number[] = [];
  /** Running maximum of record timestamps: like a Kafka segment, a record expires with the newest before it. */
  private expiresBy: number[] = [];
  private head = 0;
  private readonly latestByKey = new Map<string, number>();
  private superseded = 0;
  startOffset = 0;
  nextOffset = 0;

  constructor(
    private readonly policy: LogPolicy,
    private readonly now: () => number,
  ) {}

  append(topic: string, partition: number, record: BusRecord, now: number): number {
    const offset = this.nextOffset++;
    this.records.push({
      topic,
      partition,
      offset: String(offset),
      key: record.key,
      value: record.value,
      headers: { ...record.headers },
      timestamp: record.timestamp ?? now,
    });
    this.offsets.push(offset);
    this.expiresBy.push(Math.max(record.timestamp ?? now, this.expiresBy[this.expiresBy.length - 1] ?? -Infinity));
    if (this.policy.compact) {
      if (this.latestByKey.has(record.key)) this.superseded++;
      this.latestByKey.set(record.key, offset);
      this.maybeCompact();
    }
    this.expire(now);
    return offset;
  }

  /** Applies retention as of now; reads and bounds call it, so expiry needs no timer. */
  expireNow(): void {
    this.expire(this.now());
  }

  read(from: number, max: number): readonly ConsumedRecord[] {
    this.expireNow();
    let lo = this.head;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return this.records.slice(lo, lo + max);
  }

  private expire(now: number): void {
    if (this.policy.retentionMs < 0) return;
    const cutoff = now - this.policy.retentionMs;
    while (this.head < this.records.length && this.expiresBy[this.head]! < cutoff) {
      const record = this.records[this.head]!;
      if (this.policy.compact) {
        if (this.latestByKey.get(record.key) === this.offsets[this.head]) this.latestByKey.delete(record.key);
        else this.superseded--;
      }
      this.head++;
    }
    this.startOffset = this.head < this.offsets.length ? this.offsets[this.head]! : this.nextOffset;
    if (this.head >= MIN_HEAD_TO_RECLAIM && this.head * 2 >= this.records.length) this.keep(() => true);
  }

  private maybeCompact(): void {
    if (this.superseded < MIN_DEAD_TO_COMPACT || this.superseded < this.latestByKey.size) return;
    this.keep((record, offset) => this.latestByKey.get(record.key) === offset);
    this.superseded = 0;
  }

  private keep(live: (record: ConsumedRecord, offset: number) => boolean): void {
    const records: ConsumedRecord[] = [];
    const offsets: number[] = [];
    const expiresBy: number[] = [];
    for (let i = this.head; i < this.records.length; i++) {
      if (!live(this.records[i]!, this.offsets[i]!)) continue;
      records.push(this.records[i]!);
      offsets.push(this.offsets[i]!);
      expiresBy.push(this.expiresBy[i]!);
    }
    this.records = records;
    this.offsets = offsets;
    this.expiresBy = expiresBy;
    this.head = 0;
  }
}

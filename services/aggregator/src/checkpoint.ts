/**
 * Checkpoints: one input partition's whole engine state plus the input offset it reflects, on the compacted
 * checkpoints topic under key = input partition. Any checkpoint is a valid restart point on its own (state and
 * offset are taken together, synchronously), so an older one winning a race only means more replay.
 *
 * Value layout: "IOCK" | u8 version | u32 BE header length | header JSON | engine snapshot bytes.
 * The JSON header keeps the small fields readable with kcat.
 */
import { IocError } from '@iocbus/errors';
import type { BusRecord, ConsumedRecord, EventLog, PartitionedSource } from '@iocbus/bus';
import { partitionForKey } from '@iocbus/bus';
import type { SourceProgress } from '@iocbus/engine';

export const CHECKPOINT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('IOCK', 'latin1');
const PREFIX_BYTES = MAGIC.length + 1 + 4;

export interface Checkpoint {
  /** Events topic the state was built from. */
  topic: string;
  partition: number;
  /** Next input offset: every record below it is in the snapshot. */
  offset: string;
  /** Highest event time applied (ms), null before any. */
  watermarkMs: number | null;
  /** Per-source last-seen times, so progress records survive a restart. */
  sources: SourceProgress[];
  writtenAtMs: number;
  snapshot: Uint8Array;
}

export class CheckpointDecodeError extends IocError {
  constructor(message: string) {
    super('IOC_AGGREGATOR_CHECKPOINT_DECODE', message, { retriable: false });
    this.name = 'CheckpointDecodeError';
  }
}

interface Header {
  topic: string;
  partition: number;
  offset: string;
  watermarkMs: number | null;
  sources: SourceProgress[];
  writtenAtMs: number;
}

export function checkpointKey(partition: number): string {
  return String(partition);
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const header: Header = { topic: c.topic, partition: c.partition, offset: c.offset, watermarkMs: c.watermarkMs, sources: c.sources, writtenAtMs: c.writtenAtMs };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.allocUnsafe(PREFIX_BYTES + json.length + c.snapshot.byteLength);
  MAGIC.copy(out, 0);
  out.writeUInt8(CHECKPOINT_FORMAT_VERSION, MAGIC.length);
  out.writeUInt32BE(json.length, MAGIC.length + 1);
  json.copy(out, PREFIX_BYTES);
  out.set(c.snapshot, PREFIX_BYTES + json.length);
  return out;
}

export function decodeCheckpoint(value: Buffer): Checkpoint {
  if (value.length < PREFIX_BYTES || !value.subarray(0, MAGIC.length).equals(MAGIC)) throw new CheckpointDecodeError('not an iocbus checkpoint (bad magic)');
  const version = value.readUInt8(MAGIC.length);
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointDecodeError(`checkpoint format version ${version} is not supported (this build reads ${CHECKPOINT_FORMAT_VERSION})`);
  }
  const len = value.readUInt32BE(MAGIC.length + 1);
  if (PREFIX_BYTES + len > value.length) throw new CheckpointDecodeError('truncated checkpoint header');
  let h: Header;
  try {
    h = JSON.parse(value.subarray(PREFIX_BYTES, PREFIX_BYTES + len).toString('utf8')) as Header;
  } catch {
    throw new CheckpointDecodeError('checkpoint header is not JSON');
  }
  if (typeof h.topic !== 'string' || !Number.isInteger(h.partition) || typeof h.offset !== 'string' || !/^(0|[1-9]\d*)$/.test(h.offset) || !Array.isArray(h.sources)) {
    throw new CheckpointDecodeError('checkpoint header lacks topic, partition, offset or sources');
  }
  // A copy, so the snapshot does not pin the whole fetched batch buffer.
  const snapshot = new Uint8Array(value.subarray(PREFIX_BYTES + len));
  return { topic: h.topic, partition: h.partition, offset: h.offset, watermarkMs: h.watermarkMs ?? null, sources: h.sources, writtenAtMs: h.writtenAtMs, snapshot };
}

export interface CheckpointStoreOptions {
  log: EventLog;
  source: PartitionedSource;
  /** The compacted checkpoints topic. */
  topic: string;
  /** The events topic whose partitions are checkpointed (recorded in each checkpoint and checked on load). */
  eventsTopic: string;
}

export interface LoadedCheckpoint {
  /** Null when the partition has no (readable) checkpoint: replay from the start of the log. */
  checkpoint: Checkpoint | null;
  /** Newer checkpoints of this partition that could not be decoded (fell back past them). */
  skipped: { offset: string; error: CheckpointDecodeError }[];
}

/** How many of the newest raw checkpoints of a partition a load keeps as fallbacks. */
const FALLBACKS = 3;

export class CheckpointStore {
  private partitionCount: number | undefined;

  constructor(private readonly o: CheckpointStoreOptions) {}

  async write(c: Checkpoint): Promise<{ bytes: number }> {
    const record = this.record(c);
    await this.append(record);
    return { bytes: record.value.length };
  }

  /** The checkpoint as its record (encoded now, synchronously); `append` writes it. */
  record(c: Checkpoint): BusRecord {
    return { key: checkpointKey(c.partition), value: encodeCheckpoint(c), headers: { 'content-type': 'application/vnd.iocbus.checkpoint' } };
  }

  async append(record: BusRecord): Promise<void> {
    await this.o.log.append(this.o.topic, [record]);
  }

  /**
   * The latest decodable checkpoint of an input partition. Reads the one
   * checkpoints-topic partition its key hashes to, to the end; compaction keeps that short.
   */
  async latest(partition: number): Promise<LoadedCheckpoint> {
    this.partitionCount ??= (await this.o.source.endOffsets(this.o.topic)).length;
    const key = checkpointKey(partition);
    const where = partitionForKey(key, this.partitionCount);
    const newest: ConsumedRecord[] = [];
    await this.o.source.scanToEnd(
      this.o.topic,
      (records) => {
        for (const r of records) {
          if (r.key !== key || r.value.length === 0) continue;
          newest.push(r);
          if (newest.length > FALLBACKS) newest.shift();
        }
      },
      { partitions: [where] },
    );
    const skipped: LoadedCheckpoint['skipped'] = [];
    for (let i = newest.length - 1; i >= 0; i--) {
      const r = newest[i] as ConsumedRecord;
      try {
        const checkpoint = decodeCheckpoint(r.value);
        if (checkpoint.topic !== this.o.eventsTopic || checkpoint.partition !== partition) {
          throw new CheckpointDecodeError(`checkpoint is for ${checkpoint.topic}[${checkpoint.partition}], not ${this.o.eventsTopic}[${partition}]`);
        }
        return { checkpoint, skipped };
      } catch (err) {
        if (!(err instanceof CheckpointDecodeError)) throw err;
        skipped.push({ offset: r.offset, error: err });
      }
    }
    // None, or every kept one unreadable: replaying from the start is the only state known to be right.
    return { checkpoint: null, skipped };
  }
}

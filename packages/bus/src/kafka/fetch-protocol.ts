/**
 * The Kafka Fetch request and response, version 11: the newest before the flexible encoding (v12+) and
 * topic ids (v13+), and within what Kafka 4.x serves (4.0 removed Fetch v0–v3; 4.4 accepts v4–v18).
 * Full fetches only: session id 0 and epoch -1 ask the broker for no fetch session (KIP-227).
 * https://kafka.apache.org/protocol#The_Messages_Fetch
 */
import type { ConsumedRecord } from '../ports.js';
import { decodeRecordSet, nextOffset, type AbortedTransaction } from './record-batches.js';

export const FETCH_API_KEY = 1;
export const FETCH_VERSION = 11;
export const READ_COMMITTED = 1;

export interface PartitionFetch {
  topic: string;
  partition: number;
  /** Next offset to read. */
  offset: bigint;
}

export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  partitions: readonly PartitionFetch[];
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  /** Kafka error code, 0 for none; a partition with an error has no records. */
  errorCode: number;
  highWatermark: string;
  logStartOffset: string;
  /**
   * The partition's record data, still encoded: decodeRecords() turns it into records. Decoding is left
   * to the moment of delivery so a response's records are not all alive at once (a prefetched response
   * stays bytes); null when there is none.
   */
  recordSet: { buf: Buffer; start: number; end: number; fetchOffset: bigint; aborted: AbortedTransaction[] | null } | null;
  /** Next offset to fetch: past every complete batch returned, filtered ones included; the requested offset if none. */
  next: bigint;
}

/**
 * The visible records of a fetched partition at or after the requested offset, in offset order
 * (control batches and aborted transactions skipped). Throws a non-retriable BusError for a corrupt
 * batch or one the bus does not read.
 */
export function decodeRecords(f: FetchedPartition): ConsumedRecord[] {
  const records: ConsumedRecord[] = [];
  const set = f.recordSet;
  if (set !== null) decodeRecordSet(set.buf, set.start, set.end, f.topic, f.partition, set.fetchOffset, set.aborted, records);
  return records;
}

/** Whole record batches of a fetched partition, about `size` visible records, and the offset after them. */
export interface RecordChunk {
  records: ConsumedRecord[];
  next: bigint;
}

/**
 * decodeRecords in pieces of whole batches of about `size` records (the last may be smaller; a piece may
 * be empty when its batches were all control batches), decoded as they are asked for: a group member
 * hands each piece to its handler before decoding the next, so a 4 MiB response's ~12,000 records are
 * not all alive at once — holding them made the young generation copy them, and promote them, in its
 * scavenges. A set with aborted transactions is decoded in one piece.
 */
export function* recordChunks(f: FetchedPartition, size: number): Generator<RecordChunk, void, undefined> {
  const set = f.recordSet;
  if (set === null) return;
  if (set.aborted !== null && set.aborted.length > 0) {
    yield { records: decodeRecords(f), next: f.next };
    return;
  }
  let at = set.start;
  for (;;) {
    const records: ConsumedRecord[] = [];
    const r = decodeRecordSet(set.buf, at, set.end, f.topic, f.partition, set.fetchOffset, set.aborted, records, size);
    if (r.batches === 0) return;
    at = r.stop;
    yield { records, next: r.next };
  }
}

export interface FetchResponse {
  errorCode: number;
  throttleTimeMs: number;
  partitions: FetchedPartition[];
}

/** The request body (after the common request header). */
export function encodeFetchRequest(request: FetchRequest): Buffer {
  const byTopic = new Map<string, PartitionFetch[]>();
  for (const p of request.partitions) {
    const list = byTopic.get(p.topic);
    if (list === undefined) byTopic.set(p.topic, [p]);
    else list.push(p);
  }
  let size = 4 + 4 + 4 + 4 + 1 + 4 + 4 + 4 + 4 + 2; // fixed fields, topics count, forgotten count, rack id
  for (const [topic, ps] of byTopic) size += 2 + Buffer.byteLength(topic) + 4 + ps.length * 28;
  const buf = Buffer.alloc(size);
  let at = 0;
  at = buf.writeInt32BE(-1, at); // replica id: a consumer
  at = buf.writeInt32BE(request.maxWaitMs, at);
  at = buf.writeInt32BE(request.minBytes, at);
  at = buf.writeInt32BE(request.maxBytes, at);
  at = buf.writeInt8(READ_COMMITTED, at);
  at = buf.writeInt32BE(0, at); // session id: none
  at = buf.writeInt32BE(-1, at); // session epoch: a full fetch, no session
  at = buf.writeInt32BE(byTopic.size, at);
  for (const [topic, ps] of byTopic) {
    at = buf.writeInt16BE(Buffer.byteLength(topic), at);
    at += buf.write(topic, at);
    at = buf.writeInt32BE(ps.length, at);
    for (const p of ps) {
      at = buf.writeInt32BE(p.partition, at);
      at = buf.writeInt32BE(-1, at); // current leader epoch: unknown
      at = buf.writeBigInt64BE(p.offset, at);
      at = buf.writeBigInt64BE(-1n, at); // log start offset: followers only
      at = buf.writeInt32BE(request.partitionMaxBytes, at);
    }
  }
  at = buf.writeInt32BE(0, at); // forgotten topics
  at = buf.writeInt16BE(0, at); // rack id ''
  return buf;
}

/** A response that ends early or does not parse. */
function truncated(): Error {
  return new RangeError('Fetch response ends early or is malformed');
}

/**
 * Decodes a Fetch v11 response body (after the correlation id). `offsets` gives each requested
 * partition's fetch offset by `topic\u0000partition`; records before it are dropped.
 */
export function decodeFetchResponse(body: Buffer, offsets: ReadonlyMap<string, bigint>): FetchResponse {
  let at = 0;
  const need = (n: number): void => {
    if (at + n > body.length) throw truncated();
  };
  need(14);
  const throttleTimeMs = body.readInt32BE(at);
  const errorCode = body.readInt16BE(at + 4);
  at += 10; // throttle, error code, session id
  const topicCount = body.readInt32BE(at);
  at += 4;
  const partitions: FetchedPartition[] = [];
  for (let t = 0; t < topicCount; t++) {
    need(2);
    const nameLength = body.readInt16BE(at);
    need(2 + nameLength + 4);
    const topic = body.toString('utf8', at + 2, at + 2 + nameLength);
    at += 2 + nameLength;
    const partitionCount = body.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitionCount; p++) {
      need(4 + 2 + 8 + 8 + 8 + 4);
      const partition = body.readInt32BE(at);
      const partitionError = body.readInt16BE(at + 4);
      const highWatermark = body.readBigInt64BE(at + 6).toString();
      const logStartOffset = body.readBigInt64BE(at + 22).toString();
      at += 30;
      const abortedCount = body.readInt32BE(at);
      at += 4;
      let aborted: AbortedTransaction[] | null = null;
      if (abortedCount >= 0) {
        need(abortedCount * 16);
        aborted = [];
        for (let a = 0; a < abortedCount; a++) {
          aborted.push({ producerId: body.readBigInt64BE(at), firstOffset: body.readBigInt64BE(at + 8) });
          at += 16;
        }
      }
      need(4 + 4);
      at += 4; // preferred read replica: the bus always reads from the leader
      const recordsLength = body.readInt32BE(at);
      at += 4;
      const fetchOffset = offsets.get(`${topic}\u0000${partition}`);
      let recordSet: FetchedPartition['recordSet'] = null;
      let next = fetchOffset ?? 0n;
      if (recordsLength > 0) {
        need(recordsLength);
        if (partitionError === 0 && fetchOffset !== undefined) {
          const after = nextOffset(body, at, at + recordsLength);
          if (after > next) next = after;
          // read_committed: a null list means no aborted transactions in range; [] still skips control batches.
          if (after >= 0n) recordSet = { buf: body, start: at, end: at + recordsLength, fetchOffset, aborted: aborted ?? [] };
        }
        at += recordsLength;
      }
      partitions.push({ topic, partition, errorCode: partitionError, highWatermark, logStartOffset, recordSet, next });
    }
  }
  return { errorCode, throttleTimeMs, partitions };
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * A drop-in for kafkajs 2.2.4's Produce request v3 (protocol/requests/produce/v3/request.js, which v4-v7
 * wrap), writing exactly the bytes it writes, only cheaper. kafkajs encodes each record into its own
 * buffer (after spreading the message into a new object), then copies the records into a record batch,
 * the batch into a partition, the partition into a topic and the topic into the request — five copies
 * of every record, each into a fresh zero-filled buffer that grows by doubling. Here records are written
 * once, straight into the request's buffer (record-encoder.ts), and the batch's CRC (crc32c.ts) and
 * lengths are filled in afterwards. Every field around the records is still written by kafkajs's own Encoder.
 *
 * Compressed batches, and messages the record encoder leaves to kafkajs, take kafkajs's own request.
 * kafkajs loads the request with `require` on the first Produce; installing before that swaps the
 * module's export.
 *
 * kafkajs then frames every request (protocol/request.js): a fresh Encoder takes the request header and
 * a copy of the request's bytes, and another fresh Encoder the size and a copy of that: two more copies
 * of a ~1 MB request, each into a zero-filled buffer of the next power of two (fresh pages: ~20 µs per
 * page fault on a VM). So the bytes here are written after FRAME_ROOM bytes left free, and the installed
 * Encoder#writeEncoder, given such a payload, writes the framing Encoder's few bytes into that room and
 * takes over the payload's buffer instead of copying it (framed-payload.ts).
 */
import { createRequire } from 'node:module';
import { crc32c } from './crc32c.js';
import { FRAME_ROOM, framedPayload, installFramedPayloads } from './framed-payload.js';
import {
  installFastRecordEncoder,
  measureRecord,
  writeMeasuredRecord,
  type KafkajsEncoder,
} from './record-encoder.js';

const require = createRequire(import.meta.url);

interface FieldEncoder {
  readonly buffer: Buffer;
  writeString(value: unknown): FieldEncoder;
  writeInt8(value: unknown): FieldEncoder;
  writeInt16(value: unknown): FieldEncoder;
  writeInt32(value: unknown): FieldEncoder;
  writeInt64(value: unknown): FieldEncoder;
}

interface ProduceMessage {
  key?: unknown;
  value?: unknown;
  headers?: unknown;
  timestamp?: unknown;
}

interface PartitionData {
  partition: unknown;
  messages: ProduceMessage[];
  firstSequence?: unknown;
}

interface TopicData {
  topic: unknown;
  partitions: PartitionData[];
}

export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: TopicData[];
}

export interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(): Promise<KafkajsEncoder>;
}

type ProduceRequestFactory = ((args: ProduceArgs) => ProduceRequest) & { [FAST]?: true; [ORIGINAL]?: ProduceRequestFactory };

const FAST = Symbol.for('iocbus.bus.fastProduceRequest');
const ORIGINAL = Symbol.for('iocbus.bus.kafkajsProduceRequest');
const PRODUCE_REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';
// The later versions take v3 with `require` when they are first loaded.
const WRAPPERS = ['v4', 'v5'].map((v) => `kafkajs/src/protocol/requests/produce/${v}/request.js`);
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => FieldEncoder;
const Long = require('kafkajs/src/utils/long.js') as { fromInt(v: number): unknown };
const { Produce: API_KEY } = require('kafkajs/src/protocol/requests/apiKeys.js') as { Produce: number };
const { Types } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number } };
const { MAGIC_BYTE } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { MAGIC_BYTE: number };
const TRANSACTIONAL = 16;

/** kafkajs's own request: for compressed batches and unusual messages, and as the reference in tests. */
let kafkajsProduceRequest: ProduceRequestFactory | undefined;

function kafkajsRequest(): ProduceRequestFactory {
  if (kafkajsProduceRequest === undefined) {
    const loaded = require(PRODUCE_REQUEST) as ProduceRequestFactory;
    kafkajsProduceRequest = loaded[ORIGINAL] ?? loaded;
  }
  return kafkajsProduceRequest;
}

/** Size of the last request, so that a similar one needs no regrowth. */
let sizeHint = 64 * 1024;

/** A growable buffer; only the bytes written are ever read, so it is never zero-filled. */
class Writer {
  buf = Buffer.allocUnsafe(sizeHint);
  // The first FRAME_ROOM bytes are left for kafkajs's framing (the header and the size).
  at = FRAME_ROOM;

  ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  fields(encoder: FieldEncoder): void {
    const bytes = encoder.buffer;
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.at);
    this.at += bytes.length;
  }

  /** Reserves 4 bytes for an int32 written later with fill(). */
  reserve(): number {
    this.ensure(4);
    this.at += 4;
    return this.at - 4;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** First and max timestamp exactly as kafkajs takes them: the default (string) sort of the non-null ones. */
function timestampBounds(messages: ProduceMessage[], dateNow: number): [unknown, unknown] {
  const stamps: unknown[] = [];
  let same = true;
  for (const m of messages) {
    const t = m.timestamp;
    if (t == null) continue;
    if (stamps.length > 0 && t !== stamps[0]) same = false;
    stamps.push(t);
  }
  if (stamps.length === 0) return [dateNow, dateNow];
  if (!same) stamps.sort();
  return [stamps[0], stamps[stamps.length - 1]];
}

/**
 * Writes one partition's record batch; false (nothing usable written) when a message must go through
 * kafkajs's own encoder.
 */
function writePartition(w: Writer, data: PartitionData, transactionalId: unknown, producerId: unknown, producerEpoch: unknown): boolean {
  const { partition, messages, firstSequence = 0 } = data;
  if (!Array.isArray(messages)) return false;
  const dateNow = Date.now();
  const [firstTimestamp, maxTimestamp] = timestampBounds(messages, dateNow);
  w.fields(new Encoder().writeInt32(partition));
  const batchSizeAt = w.reserve();
  w.fields(new Encoder().writeInt64(Long.fromInt(0))); // firstOffset
  const batchLengthAt = w.reserve();
  const batchStart = w.at;
  w.fields(new Encoder().writeInt32(0).writeInt8(MAGIC_BYTE)); // partitionLeaderEpoch, magic
  const crcAt = w.reserve();
  const bodyStart = w.at;
  w.fields(
    new Encoder()
      .writeInt16(transactionalId ? TRANSACTIONAL : 0) // attributes: no compression, create time
      .writeInt32(messages.length - 1) // lastOffsetDelta
      .writeInt64(firstTimestamp)
      .writeInt64(maxTimestamp)
      .writeInt64(producerId)
      .writeInt16(producerEpoch)
      .writeInt32(firstSequence),
  );
  w.fields(new Encoder().writeInt32(messages.length));
  // The messages of one request usually share their timestamp (a string, from the event log): the
  // delta is computed once per distinct value instead of parsing two strings per record.
  let lastTimestamp: unknown = Number.NaN;
  let lastDelta = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (!isPlainObject(message)) return false;
    const timestamp = message.timestamp || dateNow;
    if (timestamp !== lastTimestamp || typeof timestamp === 'object') {
      lastTimestamp = timestamp;
      lastDelta = (timestamp as number) - (firstTimestamp as number);
    }
    const timestampDelta = lastDelta;
    const size = measureRecord(i, timestampDelta, message.key, message.value, message.headers);
    if (size < 0) return false;
    w.ensure(size);
    const end = writeMeasuredRecord(w.buf, w.at);
    if (end !== w.at + size) throw new Error(`record encoder wrote ${end - w.at} of ${size} bytes`);
    w.at = end;
  }
  w.buf.writeUInt32BE(crc32c(w.buf.subarray(bodyStart, w.at)), crcAt);
  const batchLength = w.at - batchStart;
  w.buf.writeInt32BE(batchLength, batchLengthAt);
  w.buf.writeInt32BE(8 + 4 + batchLength, batchSizeAt); // the record batch: firstOffset, length, batch
  return true;
}

/** The request's bytes, or undefined when kafkajs must encode it. */
function encodeRequest(
  acks: number,
  timeout: number,
  transactionalId: unknown,
  producerId: unknown,
  producerEpoch: unknown,
  topicData: unknown,
): KafkajsEncoder | undefined {
  if (!Array.isArray(topicData)) return undefined;
  const w = new Writer();
  w.fields(new Encoder().writeString(transactionalId).writeInt16(acks).writeInt32(timeout));
  w.fields(new Encoder().writeInt32(topicData.length));
  for (const data of topicData as unknown[]) {
    if (!isPlainObject(data) || !Array.isArray(data.partitions)) return undefined;
    w.fields(new Encoder().writeString(data.topic));
    w.fields(new Encoder().writeInt32(data.partitions.length));
    for (const partition of data.partitions as unknown[]) {
      if (!isPlainObject(partition)) return undefined;
      if (!writePartition(w, partition as unknown as PartitionData, transactionalId, producerId, producerEpoch)) return undefined;
    }
  }
  sizeHint = Math.max(64 * 1024, Math.ceil(w.at * 1.25));
  return framedPayload(w.buf, FRAME_ROOM, w.at);
}

export const fastProduceRequest: ProduceRequestFactory = (args) => {
  const {
    acks,
    timeout,
    transactionalId = null,
    producerId = Long.fromInt(-1),
    producerEpoch = 0,
    compression = Types.None,
    topicData,
  } = args;
  return {
    apiKey: API_KEY,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: async () => {
      const fast =
        compression === Types.None ? encodeRequest(acks, timeout, transactionalId, producerId, producerEpoch, topicData) : undefined;
      return fast ?? kafkajsRequest()(args).encode();
    },
  };
};

/** kafkajs's own Produce v3 request, whether or not the fast one is installed (for tests). */
export function originalProduceRequest(): ProduceRequestFactory {
  return kafkajsRequest();
}

/**
 * Swaps kafkajs's Produce request (and record encoder) for the ones here, if kafkajs has not loaded the
 * later request versions yet. Returns whether the fast request is (now) in place.
 */
export function installFastProduceRequest(): boolean {
  const path = require.resolve(PRODUCE_REQUEST);
  if ((require.cache[path]?.exports as ProduceRequestFactory | undefined)?.[FAST]) return true;
  if (WRAPPERS.some((w) => require.cache[require.resolve(w)] !== undefined)) return false;
  // First, so that kafkajs's own request (kept for compressed batches) takes the fast record encoder.
  installFastRecordEncoder();
  installFramedPayloads();
  const original = kafkajsRequest();
  fastProduceRequest[FAST] = true;
  fastProduceRequest[ORIGINAL] = original;
  require.cache[path]!.exports = fastProduceRequest;
  return true;
}

/**
 * A PublishStreamResponse carrying the ack of an accepted or duplicate event, encoded by hand. Through
 * proto-loader each ack was `fromObject` (a message object per level, a Long for the sequence) and then
 * `encode` (a protobufjs Writer with its own operation list): ~2.5 µs of the gateway's ~50 µs per
 * streamed event. These acks are all alike — sequence, id, source, status, and no problems — so they are
 * written straight into one exactly-sized Buffer, byte for byte what protobufjs writes for the same
 * message (field order, and the empty `code` written out as protobufjs does; stream-ack.test.ts checks
 * against proto-loader's serializer). The PublishStream serializer passes such a Buffer through.
 */
import type { Writable } from 'node:stream';
import { varintSize, writeVarint } from '@iocbus/events';

const STATUS = { accepted: 1, duplicate: 2 } as const;

export type PlainAckStatus = keyof typeof STATUS;

function writeString(buf: Buffer, at: number, tag: number, text: string, length: number): number {
  buf[at++] = tag;
  at = writeVarint(buf, at, length);
  return at + buf.write(text, at, length, 'utf8');
}

/** Size of the encoded response (sequence, id and source lengths in UTF-8 bytes). */
function plainAckSize(sequence: number, idLength: number, sourceLength: number): { ack: number; result: number; total: number } {
  // EventResult: id (1), source (2), status (3), code (5) = ''.
  const result = 1 + varintSize(idLength) + idLength + 1 + varintSize(sourceLength) + sourceLength + 2 + 2;
  // PublishAck: sequence (1), result (2).
  const ack = 1 + varintSize(sequence) + 1 + varintSize(result) + result;
  return { ack, result, total: 1 + varintSize(ack) + ack };
}

function writePlainAck(buf: Buffer, at: number, sequence: number, id: string, idLength: number, source: string, sourceLength: number, status: PlainAckStatus): number {
  const { ack, result } = plainAckSize(sequence, idLength, sourceLength);
  buf[at++] = 0x0a; // PublishStreamResponse.ack
  at = writeVarint(buf, at, ack);
  buf[at++] = 0x08; // PublishAck.sequence
  at = writeVarint(buf, at, sequence);
  buf[at++] = 0x12; // PublishAck.result
  at = writeVarint(buf, at, result);
  at = writeString(buf, at, 0x0a, id, idLength);
  at = writeString(buf, at, 0x12, source, sourceLength);
  buf[at++] = 0x18; // EventResult.status
  buf[at++] = STATUS[status];
  buf[at++] = 0x2a; // EventResult.code, empty
  buf[at++] = 0;
  return at;
}

/** The encoded response for sequence (a safe integer ≥ 0) and an accepted or duplicate event. */
export function encodePlainAck(sequence: number, id: string, source: string, status: PlainAckStatus): Buffer {
  const idLength = Buffer.byteLength(id, 'utf8');
  const sourceLength = Buffer.byteLength(source, 'utf8');
  const buf = Buffer.allocUnsafe(plainAckSize(sequence, idLength, sourceLength).total);
  const at = writePlainAck(buf, 0, sequence, id, idLength, source, sourceLength, status);
  if (at !== buf.length) throw new Error(`ack encoder wrote ${at} of ${buf.length} bytes`);
  return buf;
}

export interface PlainResult {
  id: string;
  source: string;
  status: string;
}

/**
 * The acks of results[from, to) (each accepted or duplicate; sequence firstSequence + i for results[i]) as
 * gRPC length-prefixed messages (flag 0, 4-byte big-endian length, the response), back to back in one Buffer:
 * what grpc-js would put on the HTTP/2 stream for each of them, message by message.
 */
export function encodePlainAckFrames(firstSequence: number, results: readonly PlainResult[], from: number, to: number): Buffer {
  const lengths = new Array<number>(2 * (to - from));
  let total = 0;
  for (let i = from; i < to; i++) {
    const r = results[i] as PlainResult;
    const idLength = Buffer.byteLength(r.id, 'utf8');
    const sourceLength = Buffer.byteLength(r.source, 'utf8');
    lengths[2 * (i - from)] = idLength;
    lengths[2 * (i - from) + 1] = sourceLength;
    total += 5 + plainAckSize(firstSequence + i, idLength, sourceLength).total;
  }
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = from; i < to; i++) {
    const r = results[i] as PlainResult;
    const start = at + 5;
    at = writePlainAck(buf, start, firstSequence + i, r.id, lengths[2 * (i - from)] as number, r.source, lengths[2 * (i - from) + 1] as number, r.status as PlainAckStatus);
    buf[start - 5] = 0;
    buf.writeUInt32BE(at - start, start - 4);
  }
  if (at !== total) throw new Error(`ack encoder wrote ${at} of ${total} bytes`);
  return buf;
}

/**
 * A way to put framed responses (encodePlainAckFrames) on a grpc-js server call's HTTP/2 stream in one write.
 * Through `call.write` every ack is its own trip through grpc-js (a Writable write, serialize, a new framed
 * Buffer and a copy, an http2stream.write and its callback); a Kafka batch's thousand acks cost that a
 * thousand times. Relies on grpc-js 1.x internals (the duplex's `call` holds the HTTP/2 `stream`,
 * `maybeSendMetadata` and `checkCancelled`); undefined when they are not there, and the session then writes
 * ack by ack as before.
 */
export interface RawFrameWriter {
  /** False while messages written through the call wait in its own buffer: frames must not overtake them. */
  ready(): boolean;
  /** False when the HTTP/2 stream wants the writer to wait for 'drain' (then onDrain). */
  write(frames: Buffer): boolean;
  onDrain(listener: () => void): void;
}

interface GrpcJsServerCall {
  stream?: unknown;
  maybeSendMetadata?: unknown;
  checkCancelled?: unknown;
}

export function rawFrameWriter(call: Writable): RawFrameWriter | undefined {
  const inner = (call as unknown as { call?: GrpcJsServerCall }).call;
  const stream = inner?.stream as Writable | undefined;
  if (inner === undefined || typeof stream?.write !== 'function' || typeof stream.once !== 'function') return undefined;
  const { maybeSendMetadata, checkCancelled } = inner;
  if (typeof maybeSendMetadata !== 'function' || typeof checkCancelled !== 'function') return undefined;
  return {
    ready: () => call.writableLength === 0,
    write: (frames) => {
      if (checkCancelled.call(inner) === true) return true;
      maybeSendMetadata.call(inner);
      return stream.write(frames);
    },
    onDrain: (listener) => stream.once('drain', listener),
  };
}

/** Wraps a response serializer so that an already encoded response (a Buffer) goes out as it is. */
export function passEncoded(serialize: (value: unknown) => Buffer): (value: unknown) => Buffer {
  return (value) => (Buffer.isBuffer(value) ? value : serialize(value));
}

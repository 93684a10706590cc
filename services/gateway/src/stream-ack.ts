/**
 * A PublishStreamResponse carrying the ack of an accepted or duplicate event, encoded by hand. Through
 * proto-loader each ack was `fromObject` (a message object per level, a Long for the sequence) and then
 * `encode` (a protobufjs Writer with its own operation list): ~2.5 µs of the gateway's ~50 µs per
 * streamed event. These acks are all alike — sequence, id, source, status, and no problems — so they are
 * written straight into one exactly-sized Buffer, byte for byte what protobufjs writes for the same
 * message (field order, and the empty `code` written out as protobufjs does; stream-ack.test.ts checks
 * against proto-loader's serializer). The PublishStream serializer passes such a Buffer through.
 */
import { varintSize, writeVarint } from '@iocbus/events';

const STATUS = { accepted: 1, duplicate: 2 } as const;

export type PlainAckStatus = keyof typeof STATUS;

function writeString(buf: Buffer, at: number, tag: number, text: string, length: number): number {
  buf[at++] = tag;
  at = writeVarint(buf, at, length);
  return at + buf.write(text, at, length, 'utf8');
}

/** The encoded response for sequence (a safe integer ≥ 0) and an accepted or duplicate event. */
export function encodePlainAck(sequence: number, id: string, source: string, status: PlainAckStatus): Buffer {
  const idLength = Buffer.byteLength(id, 'utf8');
  const sourceLength = Buffer.byteLength(source, 'utf8');
  // EventResult: id (1), source (2), status (3), code (5) = ''.
  const result = 1 + varintSize(idLength) + idLength + 1 + varintSize(sourceLength) + sourceLength + 2 + 2;
  // PublishAck: sequence (1), result (2).
  const ack = 1 + varintSize(sequence) + 1 + varintSize(result) + result;
  const buf = Buffer.allocUnsafe(1 + varintSize(ack) + ack);
  let at = 0;
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
  if (at !== buf.length) throw new Error(`ack encoder wrote ${at} of ${buf.length} bytes`);
  return buf;
}

/** Wraps a response serializer so that an already encoded response (a Buffer) goes out as it is. */
export function passEncoded(serialize: (value: unknown) => Buffer): (value: unknown) => Buffer {
  return (value) => (Buffer.isBuffer(value) ? value : serialize(value));
}

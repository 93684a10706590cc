/**
 * Lets kafkajs frame a produce request without copying it. kafkajs 2.2.4's protocol/request.js builds
 * every request as
 *
 *   new Encoder().writeInt32(size).writeEncoder(new Encoder().writeInt16(apiKey)…writeString(clientId).writeEncoder(payload))
 *
 * and `writeEncoder` copies its argument's bytes into a fresh, zero-filled, power-of-two buffer: twice
 * per request. A framed payload is written FRAME_ROOM bytes into its buffer; when an Encoder holding at
 * most that many bytes writes it, those bytes are copied into the room just before the payload and the
 * Encoder takes the buffer over (its `buf` becomes the view from there to the payload's end), passing
 * the rest of the room on, so the outer Encoder does the same. The bytes are exactly those kafkajs
 * would have produced; anything else (a plain Encoder, an Encoder holding more than the room, a payload
 * written a second time) takes kafkajs's own copy.
 *
 * connection.js holds protocol/request.js from the moment kafkajs loads, so the method is replaced on
 * kafkajs's Encoder class itself, the one both build their Encoders from.
 */
import { createRequire } from 'node:module';
import type { KafkajsEncoder } from './record-encoder.js';

const require = createRequire(import.meta.url);

interface Encoder extends KafkajsEncoder {
  writeEncoder(value: unknown): Encoder;
  [ROOM]?: Room;
}

interface EncoderClass {
  prototype: Encoder;
}

/** Free bytes in front of `whole[start…]`, for the framing: usable once. */
interface Room {
  whole: Buffer;
  start: number;
}

const ROOM = Symbol('iocbus.bus.frameRoom');
const INSTALLED = Symbol.for('iocbus.bus.framedPayloads');
const EncoderClass = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const kafkajsWriteEncoder = EncoderClass.prototype.writeEncoder;

/**
 * Room for both framings: size (4) + apiKey, apiVersion (2 + 2) + correlationId (4) + clientId (2 + its
 * UTF-8 bytes): a clientId of up to FRAME_ROOM - 14 bytes fits; a longer one makes kafkajs copy as before.
 */
export const FRAME_ROOM = 256;

/** The bytes whole[start…end) as a kafkajs Encoder, with whole[0…start) free for the framing. */
export function framedPayload(whole: Buffer, start: number, end: number): KafkajsEncoder {
  const payload = Object.create(EncoderClass.prototype) as Encoder;
  payload.buf = whole.subarray(start, end);
  payload.offset = end - start;
  payload[ROOM] = { whole, start };
  return payload;
}

function writeEncoder(this: Encoder, value: unknown): Encoder {
  const payload = value as Encoder | null | undefined;
  const room = payload?.[ROOM];
  if (room === undefined || this.offset > room.start || payload!.offset !== payload!.buf.length) {
    return kafkajsWriteEncoder.call(this, value);
  }
  payload![ROOM] = undefined;
  const start = room.start - this.offset;
  this.buf.copy(room.whole, start, 0, this.offset);
  this.buf = room.whole.subarray(start, room.start + payload!.offset);
  this.offset = this.buf.length;
  this[ROOM] = { whole: room.whole, start };
  return this;
}

/** Puts writeEncoder above on kafkajs's Encoder (once). */
export function installFramedPayloads(): void {
  const proto = EncoderClass.prototype as Encoder & { [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  proto.writeEncoder = writeEncoder;
  proto[INSTALLED] = true;
}

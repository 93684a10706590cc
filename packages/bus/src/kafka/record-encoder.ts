/**
 * A drop-in for kafkajs 2.2.4's record encoder (protocol/recordBatch/record/v0/index.js), writing
 * exactly the bytes it writes, only cheaper. kafkajs gives every header its own Encoder, and every
 * Encoder starts with a zero-filled 512-byte buffer; every varint is a `Buffer.from([...])` copied in;
 * the timestamp delta goes through BigInt. A CloudEvent record (binary mode) has seven headers, so
 * one record cost nine 512-byte allocations and ~30 small ones: ~22 µs of CPU, the gateway's biggest
 * single cost. Here a record is measured once and written into one exactly-sized buffer.
 *
 * Only the inputs kafkajs itself encodes correctly take this path: key and value as Buffer, string or
 * null; header values as Buffer or string (or arrays of them); integer deltas in range. Anything else
 * (kafkajs throws on null header values or numbers, and writes a Uint8Array value inconsistently)
 * goes to kafkajs's own encoder, so its behaviour, errors included, is unchanged.
 *
 * The produce request takes its record encoder with `require` when it is first loaded, which kafkajs
 * does lazily on the first Produce; installing before that swaps the module's export.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}

type EncoderClass = (new (initialSize?: number) => KafkajsEncoder) & { prototype: KafkajsEncoder };

export interface RecordInput {
  offsetDelta?: unknown;
  timestampDelta?: unknown;
  key?: unknown;
  value?: unknown;
  headers?: unknown;
}

type RecordEncoder = ((record: RecordInput) => KafkajsEncoder) & { [FAST]?: true; [ORIGINAL]?: RecordEncoder };

const FAST = Symbol.for('iocbus.bus.fastRecordEncoder');
const ORIGINAL = Symbol.for('iocbus.bus.kafkajsRecordEncoder');
const RECORD_ENCODER = 'kafkajs/src/protocol/recordBatch/record/v0/index.js';
const PRODUCE_REQUEST = 'kafkajs/src/protocol/requests/produce/v3/request.js';
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const loaded = require(RECORD_ENCODER) as RecordEncoder;
/** kafkajs's own encoder, even if another copy of this module swapped it in first. */
const kafkajsRecord: RecordEncoder = loaded[ORIGINAL] ?? loaded;

/**
 * A kafkajs Encoder whose buffer is exactly the bytes given: kafkajs only reads `buf` and `buffer` of an
 * encoded record or request (writeEncoder, writeEncoderArray), and the inherited methods still work
 * should anything write to it.
 */
interface EncodedRecord extends KafkajsEncoder {}
const EncodedRecord = function (this: EncodedRecord, buf: Buffer) {
  this.buf = buf;
  this.offset = buf.length;
} as unknown as new (buf: Buffer) => EncodedRecord;
EncodedRecord.prototype = Object.create(Encoder.prototype, {
  buffer: {
    get(this: EncodedRecord): Buffer {
      return this.offset === this.buf.length ? this.buf : this.buf.subarray(0, this.offset);
    },
  },
});

// Varints exactly as kafkajs's Encoder writes them: zigzag over int32 (`(v << 1) ^ (v >> 31)`), then
// 7-bit groups while any bit above the low 7 is set (mask 0xffffff80, unsigned shifts).
function zigzag32(v: number): number {
  return (v << 1) ^ (v >> 31);
}

function sizeOfUVarInt(v: number): number {
  let bytes = 1;
  while ((v & 0xffffff80) !== 0) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
}

function writeUVarInt(buf: Buffer, at: number, v: number): number {
  while ((v & 0xffffff80) !== 0) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v & 0x7f;
  return at;
}

/** Zigzag of a 64-bit value given as a number with |v| < 2^52, so that the result is exact. */
function zigzag64(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function sizeOfUVarLong(v: number): number {
  let bytes = 1;
  while (v >= 128) {
    bytes++;
    v = Math.floor(v / 128);
  }
  return bytes;
}

function writeUVarLong(buf: Buffer, at: number, v: number): number {
  while (v >= 128) {
    buf[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

const isInt32 = (v: unknown): v is number => typeof v === 'number' && (v | 0) === v;

/** Byte length of a key, value or header value kafkajs encodes faithfully; -1 for null; NaN otherwise. */
function lengthOf(v: unknown): number {
  if (v === null || v === undefined) return -1;
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Buffer.isBuffer(v)) return v.length;
  return Number.NaN;
}

function write(buf: Buffer, at: number, v: unknown, length: number): number {
  if (length < 0) return writeUVarInt(buf, at, zigzag32(-1));
  at = writeUVarInt(buf, at, zigzag32(length));
  if (typeof v !== 'string') (v as Buffer).copy(buf, at);
  else if (length === v.length && length <= 64) {
    // All ASCII (one byte per code unit): short header names and values are copied faster than
    // Buffer#write crosses into C++.
    for (let i = 0; i < length; i++) buf[at + i] = v.charCodeAt(i);
  } else buf.write(v, at, length, 'utf8');
  return at + length;
}

// Scratch for one record's headers (the encoder is synchronous and never re-entered). Overwritten in
// place rather than emptied: `length = 0` would drop the backing stores and regrow them every record.
const names: string[] = [];
const nameLengths: number[] = [];
const values: unknown[] = [];
const valueLengths: number[] = [];
let count = 0;

function addHeader(name: string, nameLength: number, value: unknown, valueLength: number): void {
  names[count] = name;
  nameLengths[count] = nameLength;
  values[count] = value;
  valueLengths[count] = valueLength;
  count++;
}

/** Drops the references to the caller's values once a record is written or refused. */
function releaseValues(): void {
  for (let i = 0; i < count; i++) values[i] = undefined;
  count = 0;
}

/** Collects the headers as kafkajs flattens them; false when one is not a string or Buffer. */
function collectHeaders(headers: object): boolean {
  count = 0;
  const record = headers as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    const v = record[name];
    const nameLength = Buffer.byteLength(name, 'utf8');
    if (Array.isArray(v)) {
      for (const item of v) {
        const length = lengthOf(item);
        if (!(length >= 0)) return false;
        addHeader(name, nameLength, item, length);
      }
    } else {
      const length = lengthOf(v);
      if (!(length >= 0)) return false;
      addHeader(name, nameLength, v, length);
    }
  }
  return true;
}

// The record last measured, for writeMeasuredRecord.
let keyValue: unknown;
let keyLength = 0;
let valueValue: unknown;
let valueLength = 0;
let timestampZigzag = 0;
let offsetDeltaValue = 0;
let bodySize = 0;

/**
 * Measures one record as kafkajs's encoder would write it (same defaults: offsetDelta and timestampDelta
 * 0, headers {}). Returns its encoded size, length prefix included, or -1 when kafkajs must encode it.
 * writeMeasuredRecord then writes it; nothing may be measured in between.
 */
export function measureRecord(offsetDelta: unknown = 0, timestampDelta: unknown = 0, key: unknown, value: unknown, headers: unknown = {}): number {
  keyLength = lengthOf(key);
  valueLength = lengthOf(value);
  if (
    !isInt32(offsetDelta) ||
    typeof timestampDelta !== 'number' ||
    !Number.isInteger(timestampDelta) ||
    Math.abs(timestampDelta) >= 2 ** 52 ||
    Number.isNaN(keyLength) ||
    Number.isNaN(valueLength) ||
    typeof headers !== 'object' ||
    headers === null ||
    !collectHeaders(headers)
  ) {
    releaseValues();
    return -1;
  }
  keyValue = key;
  valueValue = value;
  offsetDeltaValue = offsetDelta;
  timestampZigzag = zigzag64(timestampDelta);
  let headersSize = sizeOfUVarInt(zigzag32(count));
  for (let i = 0; i < count; i++) {
    const n = nameLengths[i] as number;
    const v = valueLengths[i] as number;
    headersSize += sizeOfUVarInt(zigzag32(n)) + n + sizeOfUVarInt(zigzag32(v)) + v;
  }
  bodySize =
    1 +
    sizeOfUVarLong(timestampZigzag) +
    sizeOfUVarInt(zigzag32(offsetDelta)) +
    (keyLength < 0 ? 1 : sizeOfUVarInt(zigzag32(keyLength)) + keyLength) +
    (valueLength < 0 ? 1 : sizeOfUVarInt(zigzag32(valueLength)) + valueLength) +
    headersSize;
  return sizeOfUVarInt(zigzag32(bodySize)) + bodySize;
}

/** Writes the record measureRecord just measured at buf[at…]; returns where it ends. */
export function writeMeasuredRecord(buf: Buffer, at: number): number {
  at = writeUVarInt(buf, at, zigzag32(bodySize));
  buf[at++] = 0; // attributes: none used in a record
  at = writeUVarLong(buf, at, timestampZigzag);
  at = writeUVarInt(buf, at, zigzag32(offsetDeltaValue));
  at = write(buf, at, keyValue, keyLength);
  at = write(buf, at, valueValue, valueLength);
  at = writeUVarInt(buf, at, zigzag32(count));
  for (let i = 0; i < count; i++) {
    at = write(buf, at, names[i], nameLengths[i] as number);
    at = write(buf, at, values[i], valueLengths[i] as number);
  }
  releaseValues();
  keyValue = undefined;
  valueValue = undefined;
  return at;
}

export function encoderOf(buf: Buffer): KafkajsEncoder {
  return new EncodedRecord(buf);
}

export function fastRecordEncoder(record: RecordInput): KafkajsEncoder {
  const size = measureRecord(record.offsetDelta, record.timestampDelta, record.key, record.value, record.headers);
  if (size < 0) return kafkajsRecord(record);
  // Every byte is written, so the (pooled) unzeroed allocation is safe.
  const buf = Buffer.allocUnsafe(size);
  const end = writeMeasuredRecord(buf, 0);
  if (end !== size) throw new Error(`record encoder wrote ${end} of ${size} bytes`);
  return new EncodedRecord(buf);
}

/**
 * Swaps kafkajs's record encoder for the one above, if kafkajs has not loaded its produce request yet.
 * Returns whether the fast encoder is (now) in place.
 */
export function installFastRecordEncoder(): boolean {
  const recordPath = require.resolve(RECORD_ENCODER);
  const cached = require.cache[recordPath];
  if ((cached?.exports as RecordEncoder | undefined)?.[FAST]) return true;
  if (require.cache[require.resolve(PRODUCE_REQUEST)] !== undefined) return false;
  const fast: RecordEncoder = fastRecordEncoder;
  fast[FAST] = true;
  fast[ORIGINAL] = kafkajsRecord;
  require.cache[recordPath]!.exports = fast;
  return true;
}

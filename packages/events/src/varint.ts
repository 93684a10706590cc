/**
 * Protobuf base-128 varints of non-negative integers, for the hand-written writers (proto-writer.ts here, the
 * gateway's PublishStream acks). The 32-bit pair is the hot one (lengths, enums, field keys); the other takes any
 * safe integer (int64/uint64 fields, sequence numbers), dividing instead of shifting past 2^32.
 */

export function uint32VarintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export function writeUint32Varint(buf: Uint8Array, at: number, v: number): number {
  while (v > 127) {
    buf[at++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

/** Size of the varint of a non-negative safe integer. */
export function varintSize(v: number): number {
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

export function writeVarint(buf: Uint8Array, at: number, v: number): number {
  while (v >= 128) {
    buf[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

/**
 * CRC-32C (Castagnoli), the checksum of a Kafka record batch, computed eight bytes at a time
 * ("slicing-by-8", Kounavis & Berry, Intel 2005) instead of kafkajs's byte at a time: the batch CRC
 * was one of the larger costs of producing once records were no longer copied (produce-request.ts).
 * Same result as kafkajs's protocol/recordBatch/crc32C: a property test compares them.
 */
const POLYNOMIAL = 0x82f63b78; // CRC-32C, reflected

/** TABLE[k * 256 + n]: the CRC of byte n followed by k zero bytes. */
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
  TABLE[n] = c;
}
for (let k = 1; k < 8; k++) {
  for (let n = 0; n < 256; n++) {
    const prev = TABLE[(k - 1) * 256 + n] as number;
    TABLE[k * 256 + n] = (prev >>> 8) ^ (TABLE[prev & 0xff] as number);
  }
}

/** The CRC-32C of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  const t = TABLE;
  let crc = -1;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  while (i < end8) {
    const lo = crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    const hi = (bytes[i + 4] as number) | ((bytes[i + 5] as number) << 8) | ((bytes[i + 6] as number) << 16) | ((bytes[i + 7] as number) << 24);
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
    i += 8;
  }
  while (i < bytes.length) crc = (t[(crc ^ (bytes[i++] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

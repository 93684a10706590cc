import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { crc32c, crc32cJs } from './crc32c.js';

const require = createRequire(import.meta.url);
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;

test('the CRC-32C check value', () => {
  // RFC 3720 (iSCSI), appendix B.4, and the catalogue's check value for "123456789".
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('equals kafkajs’s crc32C on any bytes, at any offset into a larger buffer', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(7), (bytes, offset) => {
      const padded = Buffer.alloc(bytes.length + offset + 3, 0xa5);
      padded.set(bytes, offset);
      const view = padded.subarray(offset, offset + bytes.length);
      assert.equal(crc32c(view), kafkajsCrc32C(view));
    }),
    { numRuns: 3000 },
  );
});

test('the WebAssembly path equals the JavaScript one on any bytes, at any offset, as its memory grows', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.nat(7), fc.integer(), (length, offset, seed) => {
      const padded = Buffer.alloc(length + offset + 3, 0xa5);
      for (let i = 0; i < length; i++) padded[offset + i] = (Math.imul(seed ^ i, 0x9e3779b1) >>> 13) & 0xff;
      const view = padded.subarray(offset, offset + length);
      assert.equal(crc32c(view), crc32cJs(view));
    }),
    { numRuns: 2000 },
  );
  // Inputs larger than the memory so far (it grows), copied in 256 KiB pieces (one exactly, one a byte over two), then a small one.
  for (const length of [70_000, 1_500_000, 262_144, 524_289, 300]) {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = (i * 131 + (i >>> 8)) & 0xff;
    assert.equal(crc32c(bytes), kafkajsCrc32C(bytes), `${length} bytes`);
  }
});

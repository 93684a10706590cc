import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { fastRecordDecoder, installFastRecordDecoder } from './record-decoder.js';

const require = createRequire(import.meta.url);
// Taken before anything swaps it: the reference the fast decoder must match exactly.
const original = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as typeof fastRecordDecoder;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}) => { buffer: Buffer };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => Parameters<typeof fastRecordDecoder>[0];

const bytes = fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { nil: null });
const headerValue = fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a));
const record = fc.record({
  offsetDelta: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  timestampDelta: fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -(2 ** 52), max: 2 ** 52 })),
  key: bytes,
  value: bytes,
  // Names of Object.prototype members are left to the next test: kafkajs mishandles them.
  headers: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 12 }).filter((k) => !(k in Object.prototype)), fc.oneof(headerValue, fc.array(headerValue, { minLength: 2, maxLength: 3 })), { maxKeys: 9 }),
});
const context = fc.record({
  firstOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 2n ** 53n - 10n, max: 2n ** 62n })).map(String),
  firstTimestamp: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 42n }), fc.bigInt({ min: 2n ** 53n - 5n, max: 2n ** 60n })).map(String),
  magicByte: fc.constant(2),
  isControlBatch: fc.boolean(),
  timestampType: fc.constantFrom(0, 1),
  maxTimestamp: fc.bigInt({ min: 0n, max: 2n ** 42n }).map(String),
});

test('decodes every record exactly as kafkajs does', () => {
  fc.assert(
    fc.property(record, context, (r, ctx) => {
      const { buffer } = encodeRecord(r);
      // The record decoder starts after the length prefix, as kafkajs's batch decoder calls it.
      const slow = new Decoder(buffer);
      slow.readVarInt();
      const fast = new Decoder(buffer);
      fast.readVarInt();
      assert.deepEqual(fastRecordDecoder(fast, ctx), original(slow, ctx));
      assert.equal(fast.offset, slow.offset, 'both consume the same bytes');
    }),
    { numRuns: 3000 },
  );
});

test('header names of Object.prototype members stay plain own headers', () => {
  const { buffer } = encodeRecord({
    offsetDelta: 0,
    timestampDelta: 0,
    key: null,
    value: null,
    headers: { ['__proto__']: Buffer.from('p'), constructor: [Buffer.from('c1'), Buffer.from('c2')], toString: Buffer.from('t') } as never,
  });
  const decoder = new Decoder(buffer);
  decoder.readVarInt();
  const { headers } = fastRecordDecoder(decoder, { firstOffset: '0', firstTimestamp: '0', magicByte: 2, timestampType: 0, maxTimestamp: '0' });
  assert.equal(Object.getPrototypeOf(headers), Object.prototype, 'the prototype is untouched');
  assert.deepEqual(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, Buffer.from('p'));
  assert.deepEqual(headers.constructor, [Buffer.from('c1'), Buffer.from('c2')]);
  assert.deepEqual(headers.toString, Buffer.from('t'));
});

test('installs before kafkajs loads its batch decoder, which then uses it', () => {
  assert.equal(installFastRecordDecoder(), true);
  const batchDecoderSource = require.resolve('kafkajs/src/protocol/recordBatch/v0/decoder.js');
  require(batchDecoderSource);
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js'), fastRecordDecoder);
  assert.equal(installFastRecordDecoder(), true, 'idempotent');
});

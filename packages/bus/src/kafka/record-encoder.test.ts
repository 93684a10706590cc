import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { fastRecordEncoder, installFastRecordEncoder, type RecordInput } from './record-encoder.js';

const require = createRequire(import.meta.url);
// Taken before anything swaps it: the reference whose bytes the fast encoder must reproduce.
const original = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as typeof fastRecordEncoder;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch(options: { records: unknown[]; compression?: number; firstTimestamp: number; maxTimestamp: number; lastOffsetDelta: number }): Promise<{ buffer: Buffer }>;
};
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  // Lone surrogates: both encoders must write the same replacement bytes.
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const headerValue = fc.oneof(text, bytes);
const record = fc.record(
  {
    offsetDelta: fc.oneof(fc.nat(5000), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    timestampDelta: fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 })),
    key: fc.oneof(text, bytes, fc.constant(null)),
    value: fc.oneof(bytes, text, fc.constant(null)),
    headers: fc.dictionary(
      text.filter((k) => !(k in Object.prototype)),
      fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })),
      { maxKeys: 9 },
    ),
  },
  { requiredKeys: ['key', 'value'] },
);

test('writes every record byte for byte as kafkajs does', () => {
  fc.assert(
    fc.property(record, (r) => {
      const fast = fastRecordEncoder(r);
      assert.deepEqual(fast.buffer, original(r).buffer);
      assert.equal(fast.offset, fast.buffer.length);
    }),
    { numRuns: 5000 },
  );
});

test('a CloudEvent record in binary mode (seven ce_ headers, protobuf value) encodes identically', () => {
  const r: RecordInput = {
    offsetDelta: 999,
    timestampDelta: 12,
    key: 'H21.17-250701-000001',
    value: Buffer.from('0a1448323131372d3235303730312d303030303031', 'hex'),
    headers: {
      ce_specversion: '1.0',
      ce_id: 'evt-1-1751331600000-1',
      ce_source: '/agencies/H21.17/igate',
      ce_type: 'vn.gov.tthc.dossier.received',
      ce_time: '2025-07-01T08:00:00+07:00',
      ce_subject: 'H21.17-250701-000001',
      'content-type': 'application/protobuf',
    },
  };
  assert.deepEqual(fastRecordEncoder(r).buffer, original(r).buffer);
});

test('inputs kafkajs does not encode faithfully go to kafkajs, errors included', () => {
  const odd: RecordInput[] = [
    { key: 'k', value: new Uint8Array([1, 2, 3]) },
    { key: 'k', value: 'v', timestampDelta: 2 ** 60 },
    { key: 'k', value: 'v', timestampDelta: '5' },
    { key: 'k', value: 'v', offsetDelta: 2 ** 31 },
  ];
  for (const r of odd) assert.deepEqual(fastRecordEncoder(r).buffer, original(r).buffer);
  const throwing: RecordInput[] = [
    { key: 'k', value: 'v', headers: { a: null } },
    { key: 'k', value: 'v', headers: { a: 5 } },
    { key: 'k', value: 'v', headers: null },
    { key: 5, value: 'v' },
    { key: 'k', value: 'v', timestampDelta: 0.5 },
  ];
  for (const r of throwing) {
    let expected: unknown;
    assert.throws(() => original(r), (err) => ((expected = err), true));
    assert.throws(() => fastRecordEncoder(r), (err) => {
      assert.equal(String(err), String(expected));
      return true;
    });
  }
});

test('record batches built from either encoder are identical, compressed or not', async () => {
  const samples = fc.sample(record, { numRuns: 60, seed: 42 });
  for (const compression of [Compression.None, Compression.GZIP]) {
    const batch = (encode: typeof fastRecordEncoder) =>
      RecordBatch({
        compression,
        records: samples.map((r, i) => encode({ ...r, offsetDelta: i })),
        firstTimestamp: 1751331600000,
        maxTimestamp: 1751331600123,
        lastOffsetDelta: samples.length - 1,
      });
    const [fast, slow] = await Promise.all([batch(fastRecordEncoder), batch(original)]);
    assert.deepEqual(fast.buffer, slow.buffer);
  }
});

test('installs before kafkajs loads its produce request, which then uses it', () => {
  assert.equal(installFastRecordEncoder(), true);
  require('kafkajs/src/protocol/requests/produce/v3/request.js');
  assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/index.js'), fastRecordEncoder);
  assert.equal(installFastRecordEncoder(), true, 'idempotent');
});

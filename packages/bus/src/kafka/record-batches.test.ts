import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import type { ConsumedRecord } from '../ports.js';
import { crc32c } from './crc32c.js';
import { recordChunks, type FetchedPartition } from './fetch-protocol.js';
import { decodeRecordSet } from './record-batches.js';
import { toConsumed } from './records.js';

const require = createRequire(import.meta.url);
type Headers = Record<string, Buffer | Buffer[]>;
interface RecordInput {
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestampDelta: number;
}
// kafkajs's own encoders and decoder: the reference the bus's decoder must agree with.
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  r: RecordInput & { offsetDelta: number },
) => unknown;
const { RecordBatch: encodeBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (b: {
  compression?: number;
  firstOffset: { toString(): string };
  firstTimestamp: number;
  maxTimestamp: number;
  lastOffsetDelta: number;
  transactional?: boolean;
  producerId?: unknown;
  records: unknown[];
}) => Promise<{ buffer: Buffer }> };
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<{
  records: Array<Parameters<typeof toConsumed>[0] & { isControlRecord: boolean }>;
}>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => { offset: number; buffer: Buffer; canReadInt64(): boolean };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: unknown): { toString(): string } };
const GZIP = 1;

const TOPIC = 'events';
const PARTITION = 3;

const bytes = fc.option(fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)), { nil: null });
const text = fc.string({ unit: 'grapheme', maxLength: 16 }).map((s) => Buffer.from(s));
const recordInput: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(text, { nil: null }),
  value: bytes,
  // Repeated names as arrays (kafkajs's way of writing a header twice); Object.prototype names have their own test.
  headers: fc.dictionary(
    fc.string({ unit: 'grapheme', maxLength: 10 }).filter((k) => !(k in Object.prototype)),
    fc.oneof(text, fc.array(text, { minLength: 2, maxLength: 3 })),
    { maxKeys: 8 },
  ),
  timestampDelta: fc.integer({ min: 0, max: 1e7 }),
});
const batchInput: fc.Arbitrary<BatchInput> = fc.record({
  firstOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 2n ** 53n - 10n, max: 2n ** 62n })),
  firstTimestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  records: fc.array(recordInput, { minLength: 1, maxLength: 12 }),
  gzip: fc.boolean(),
});

interface BatchInput {
  firstOffset: bigint;
  firstTimestamp: number;
  records: RecordInput[];
  gzip: boolean;
  transactional?: boolean;
  producerId?: bigint;
}

async function batchBytes(b: BatchInput): Promise<Buffer> {
  const { buffer } = await encodeBatch({
    ...(b.gzip ? { compression: GZIP } : {}),
    firstOffset: Long.fromValue(b.firstOffset.toString()),
    firstTimestamp: b.firstTimestamp,
    maxTimestamp: b.firstTimestamp + Math.max(...b.records.map((r) => r.timestampDelta)),
    lastOffsetDelta: b.records.length - 1,
    ...(b.transactional ? { transactional: true, producerId: Long.fromValue(String(b.producerId)) } : {}),
    records: b.records.map((r, i) => encodeRecord({ ...r, offsetDelta: i })),
  });
  return buffer;
}

/** What kafkajs makes of the same bytes, mapped the way the bus mapped kafkajs's messages. */
async function reference(buffer: Buffer, fetchOffset: bigint): Promise<ConsumedRecord[]> {
  const decoder = new Decoder(buffer);
  const out: ConsumedRecord[] = [];
  while (decoder.offset < buffer.length) {
    const { records } = await decodeBatch(decoder);
    for (const m of records) if (!m.isControlRecord && BigInt(m.offset) >= fetchOffset) out.push(toConsumed(m, TOPIC, PARTITION));
  }
  return out;
}

function decode(buffer: Buffer, fetchOffset: bigint, aborted: Parameters<typeof decodeRecordSet>[6] = []) {
  const records: ConsumedRecord[] = [];
  const result = decodeRecordSet(buffer, 0, buffer.length, TOPIC, PARTITION, fetchOffset, aborted, records);
  return { records, ...result };
}

/** Sets attribute bits of the batch at `at` and fixes its CRC, as a broker-written control batch would have. */
function withAttributes(buffer: Buffer, bits: number, at = 0): Buffer {
  const copy = Buffer.from(buffer);
  copy.writeInt16BE(copy.readInt16BE(at + 21) | bits, at + 21);
  copy.writeUInt32BE(crc32c(copy.subarray(at + 21, at + 12 + copy.readInt32BE(at + 8))), at + 17);
  return copy;
}

test('decodes batches (plain and gzip) exactly as kafkajs does, from any fetch offset', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(batchInput, { minLength: 1, maxLength: 4 }), fc.nat(), async (inputs, skip) => {
      // Consecutive batches, as a log holds them.
      let offset = inputs[0]!.firstOffset;
      const parts: Buffer[] = [];
      for (const b of inputs) {
        parts.push(await batchBytes({ ...b, firstOffset: offset }));
        offset += BigInt(b.records.length);
      }
      const all = Buffer.concat(parts);
      const total = inputs.reduce((n, b) => n + b.records.length, 0);
      const fetchOffset = inputs[0]!.firstOffset + BigInt(skip % total);
      const ours = decode(all, fetchOffset);
      assert.deepEqual(ours.records, await reference(all, fetchOffset));
      assert.equal(ours.next, offset, 'the next fetch starts after the last batch');
      assert.equal(ours.batches, inputs.length);
    }),
    { numRuns: 300 },
  );
});

test('records whose header names recur (the same set, reordered, one more or less, repeated) decode as kafkajs does', async () => {
  // Few names, so consecutive records often share their names (one header object factory serves them) and often
  // differ by little; names that are Object.prototype members, empty or with a NUL byte must stay plain keys.
  const name = fc.constantFrom('ce_id', 'ce_type', 'content-type', 'a', '', 'constructor', 'x\u0000y', 'x', 'y\u0000', '__proto__');
  // (kafkajs's encoder cannot write a null header value.)
  const value = fc.constantFrom(Buffer.from('v1'), Buffer.from('v2'), Buffer.from('é'), Buffer.alloc(0));
  const record = fc
    .array(fc.tuple(name, fc.oneof(value, fc.array(value, { minLength: 2, maxLength: 3 }))), { maxLength: 6 })
    .map((pairs) => ({ key: null, value: null, headers: Object.fromEntries(pairs) as unknown as Headers, timestampDelta: 0 }));
  await fc.assert(
    fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 12 }), async (records) => {
      const buffer = await batchBytes({ firstOffset: 0n, firstTimestamp: 0, gzip: false, records });
      const ours = decode(buffer, 0n).records;
      assert.deepEqual(ours, await reference(buffer, 0n));
      for (const r of ours) assert.equal(Object.getPrototypeOf(r.headers), Object.prototype);
    }),
    { numRuns: 500 },
  );
});

test('a fetched partition in chunks of whole batches: the same records in order, each chunk with the offset after its batches', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }),
      fc.nat(),
      fc.integer({ min: 1, max: 12 }),
      fc.nat({ max: 40 }),
      async (sizes, skip, size, cut) => {
        let offset = 100n;
        const parts: Buffer[] = [];
        const ends: bigint[] = []; // the offset after each batch
        for (const n of sizes) {
          const records = Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${offset + BigInt(i)}`), value: Buffer.from('v'), headers: {}, timestampDelta: i }));
          parts.push(await batchBytes({ firstOffset: offset, firstTimestamp: 0, gzip: false, records }));
          offset += BigInt(n);
          ends.push(offset);
        }
        // A partial batch at the end, as the broker's size limit leaves one.
        const all = Buffer.concat(parts);
        const buf = Buffer.concat([all, parts[parts.length - 1]!.subarray(0, cut)]);
        const fetchOffset = 100n + BigInt(skip % Number(offset - 100n));
        const f: FetchedPartition = {
          topic: TOPIC,
          partition: PARTITION,
          errorCode: 0,
          highWatermark: String(offset),
          logStartOffset: '0',
          recordSet: { buf, start: 0, end: buf.length, fetchOffset, aborted: [] },
          next: offset,
        };
        const chunks = [...recordChunks(f, size)];
        assert.deepEqual(
          chunks.flatMap((c) => c.records),
          decode(buf, fetchOffset).records,
        );
        for (const c of chunks) assert.ok(ends.includes(c.next), `chunk ends at a batch boundary: ${c.next}`);
        assert.equal(chunks[chunks.length - 1]!.next, offset, 'the last chunk ends where the next fetch starts');
        // Whole batches up to `size` records: every chunk but the last reached it, with less than one batch more.
        for (const c of chunks.slice(0, -1)) assert.ok(c.records.length >= size && c.records.length < size + 9, `${c.records.length} records for ${size}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('null keys read as empty, null values as empty buffers, empty headers as {}, a repeated header as its last value', async () => {
  const buffer = await batchBytes({
    firstOffset: 0n,
    firstTimestamp: 1_700_000_000_000,
    gzip: false,
    records: [
      { key: null, value: null, headers: {}, timestampDelta: 0 },
      { key: Buffer.from('k'), value: Buffer.from('v'), headers: { a: Buffer.from('1'), b: [Buffer.from('x'), Buffer.from('y')] }, timestampDelta: 5 },
    ],
  });
  const { records } = decode(buffer, 0n);
  assert.deepEqual(records.map((r) => ({ key: r.key, value: r.value.length, headers: r.headers, offset: r.offset, timestamp: r.timestamp })), [
    { key: '', value: 0, headers: {}, offset: '0', timestamp: 1_700_000_000_000 },
    { key: 'k', value: 1, headers: { a: '1', b: 'y' }, offset: '1', timestamp: 1_700_000_000_005 },
  ]);
});

test('header names of Object.prototype members stay plain own headers', async () => {
  const buffer = await batchBytes({
    firstOffset: 0n,
    firstTimestamp: 0,
    gzip: false,
    records: [{ key: null, value: null, headers: { ['__proto__']: Buffer.from('p'), constructor: Buffer.from('c') } as Headers, timestampDelta: 0 }],
  });
  const [record] = decode(buffer, 0n).records;
  assert.equal(Object.getPrototypeOf(record!.headers), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(record!.headers, '__proto__')?.value, 'p');
  assert.equal(record!.headers.constructor, 'c');
});

test('offsets beyond 2^53 are exact', async () => {
  const buffer = await batchBytes({ firstOffset: 2n ** 62n, firstTimestamp: 0, gzip: false, records: [0, 1, 2].map(() => ({ key: null, value: null, headers: {}, timestampDelta: 0 })) });
  const ours = decode(buffer, 2n ** 62n + 1n);
  assert.deepEqual(ours.records.map((r) => r.offset), [String(2n ** 62n + 1n), String(2n ** 62n + 2n)]);
  assert.equal(ours.next, 2n ** 62n + 3n);
});

test('a partial batch at the end is left for the next fetch', async () => {
  const first = await batchBytes({ firstOffset: 10n, firstTimestamp: 0, gzip: false, records: [{ key: null, value: Buffer.from('a'), headers: {}, timestampDelta: 0 }] });
  const second = await batchBytes({ firstOffset: 11n, firstTimestamp: 0, gzip: false, records: [{ key: null, value: Buffer.alloc(100, 1), headers: {}, timestampDelta: 0 }] });
  for (const cut of [1, 11, 12, 60, second.length - 1]) {
    const ours = decode(Buffer.concat([first, second.subarray(0, cut)]), 10n);
    assert.deepEqual(ours.records.map((r) => r.offset), ['10'], `cut at ${cut}`);
    assert.equal(ours.next, 11n);
    assert.equal(ours.batches, 1);
  }
  assert.equal(decode(second.subarray(0, 30), 11n).next, -1n, 'nothing complete: no next offset');
});

test('a corrupt batch fails its CRC-32C check with a clear, non-retriable error', async () => {
  const buffer = await batchBytes({ firstOffset: 7n, firstTimestamp: 0, gzip: false, records: [{ key: Buffer.from('key'), value: Buffer.from('value'), headers: {}, timestampDelta: 0 }] });
  const corrupt = Buffer.from(buffer);
  corrupt[corrupt.length - 3]! ^= 0xff;
  assert.throws(() => decode(corrupt, 7n), (err: { message: string; retriable: boolean }) => {
    assert.match(err.message, /events\[3\] offset 7: record batch fails its CRC-32C check/);
    assert.equal(err.retriable, false);
    return true;
  });
});

test('compression other than gzip is refused by name', async () => {
  const buffer = await batchBytes({ firstOffset: 0n, firstTimestamp: 0, gzip: false, records: [{ key: null, value: Buffer.from('v'), headers: {}, timestampDelta: 0 }] });
  assert.throws(() => decode(withAttributes(buffer, 4), 0n), /compressed with zstd; the bus reads uncompressed and gzip batches only/);
});

test('control batches and aborted transactions are skipped, their offsets passed', async () => {
  const plain = (firstOffset: bigint, value: string) => batchBytes({ firstOffset, firstTimestamp: 0, gzip: false, records: [{ key: null, value: Buffer.from(value), headers: {}, timestampDelta: 0 }] });
  const txn = (firstOffset: bigint, value: string, producerId: bigint) =>
    batchBytes({ firstOffset, firstTimestamp: 0, gzip: false, transactional: true, producerId, records: [{ key: null, value: Buffer.from(value), headers: {}, timestampDelta: 0 }] });
  // A control record's key: version 0, type 0 (abort) or 1 (commit).
  const marker = async (firstOffset: bigint, producerId: bigint, type: number) => {
    const key = Buffer.alloc(4);
    key.writeInt16BE(type, 2);
    const b = await batchBytes({ firstOffset, firstTimestamp: 0, gzip: false, transactional: true, producerId, records: [{ key, value: Buffer.alloc(6), headers: {}, timestampDelta: 0 }] });
    return withAttributes(b, 0x20);
  };
  const log = Buffer.concat([
    await plain(0n, 'a'),
    await txn(1n, 'aborted', 9n),
    await txn(2n, 'committed', 8n),
    await marker(3n, 9n, 0),
    await marker(4n, 8n, 1),
    await txn(5n, 'later', 9n), // producer 9's next transaction, not aborted
    await plain(6n, 'b'),
  ]);
  const ours = decode(log, 0n, [{ producerId: 9n, firstOffset: 1n }]);
  assert.deepEqual(ours.records.map((r) => `${r.offset}:${r.value.toString()}`), ['0:a', '2:committed', '5:later', '6:b']);
  assert.equal(ours.next, 7n);
  const uncommitted = decode(log, 0n);
  assert.deepEqual(uncommitted.records.map((r) => r.value.toString()), ['a', 'aborted', 'committed', 'later', 'b'], 'no aborted list: only control batches go');
  const onlyMarkers = decode(Buffer.concat([await marker(3n, 9n, 0), await marker(4n, 8n, 1)]), 3n);
  assert.deepEqual(onlyMarkers.records, []);
  assert.equal(onlyMarkers.next, 5n, 'a response of control batches alone still moves the position');
});

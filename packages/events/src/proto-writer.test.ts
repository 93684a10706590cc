import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { arbitraryData, arbitraryEvent, EXAMPLE_EVENTS } from './arbitraries.js';
import { toKafkaRecord } from './kafka.js';
import { EVENT_TYPES, type EventType } from './names.js';
import { parseCloudEvent } from './parse.js';
import { encodeData, encodeDataWithProtobufjs } from './proto.js';
import { utf8Length } from './proto-writer.js';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

test('property: encodeData writes the bytes protobufjs writes, for random valid events', () => {
  fc.assert(
    fc.property(arbitraryEvent(), (event) => {
      const ours = encodeData(event.type, event.data);
      assert.ok(Buffer.isBuffer(ours));
      assert.equal(hex(ours), hex(encodeDataWithProtobufjs(event.type, event.data)));
    }),
    { numRuns: 3000 },
  );
});

test('property: toKafkaRecord value is protobufjs encoding of the data', () => {
  fc.assert(
    fc.property(arbitraryEvent(), (event) => {
      const record = toKafkaRecord(event);
      assert.equal(hex(record.value), hex(encodeDataWithProtobufjs(event.type, event.data)));
    }),
    { numRuns: 500 },
  );
});

// Long strings take the other branches: 2-3 byte length varints and Buffer#write instead of the JS copy.
const longText = fc.string({ unit: 'grapheme', minLength: 60, maxLength: 3000 });

test('property: long and non-ASCII strings in every string field encode as protobufjs does', () => {
  const lengthen = (v: unknown, s: string): unknown => {
    if (typeof v === 'string') return s;
    if (Array.isArray(v)) return v.map((x) => lengthen(x, s));
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'channel' || k === 'applicantType' || k === 'method' || k === 'rating' ? x : lengthen(x, s)]));
    return v;
  };
  fc.assert(
    fc.property(
      fc.constantFrom(...EVENT_TYPES).chain((type) => fc.tuple(fc.constant(type), arbitraryData(type), longText)),
      ([type, data, s]) => {
        const long = lengthen(data, s) as object;
        assert.equal(hex(encodeData(type, long)), hex(encodeDataWithProtobufjs(type, long)));
      },
    ),
    { numRuns: 500 },
  );
});

test('the example events encode as protobufjs does, absent optional fields and extremes included', () => {
  for (const json of Object.values(EXAMPLE_EVENTS)) {
    const parsed = parseCloudEvent(json);
    assert.ok(parsed.ok);
    assert.equal(hex(encodeData(parsed.event.type, parsed.event.data)), hex(encodeDataWithProtobufjs(parsed.event.type, parsed.event.data)));
  }
  const base = { dossierCode: 'D', procedureCode: 'P', unitCode: 'U', occurredAt: '2025-07-01T08:30:00+07:00' };
  const cases: [EventType, object][] = [
    ['vn.gov.tthc.dossier.fee_requested', { ...base, amount: 0 }],
    ['vn.gov.tthc.dossier.fee_requested', { ...base, amount: Number.MAX_SAFE_INTEGER }],
    ['vn.gov.tthc.dossier.fee_requested', { ...base, amount: 2 ** 32 + 5 }],
    ['vn.gov.tthc.dossier.received', { ...base, receivedAt: '', dueAt: '', channel: 'postal', applicantType: 'business', statutoryHours: Number.MIN_VALUE, components: [{ code: 'x', digitized: false }] }],
    ['vn.gov.tthc.dossier.result_issued', { ...base, electronic: false }],
  ];
  for (const [type, data] of cases) assert.equal(hex(encodeData(type, data)), hex(encodeDataWithProtobufjs(type, data)), JSON.stringify(data));
});

test('property: utf8Length is Buffer.byteLength for any UTF-16 string, lone surrogates included', () => {
  // Code units anywhere in 0-0xFFFF, so high surrogates meet non-ASCII followers ("\ud800é": 3 + 2 bytes).
  const units = fc.array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength: 40 });
  fc.assert(
    fc.property(units, (codes) => {
      const s = String.fromCharCode(...codes);
      assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'));
    }),
    { numRuns: 2000 },
  );
  assert.equal(utf8Length('\ud800\u00e9'), 5);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumedRecord } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { EventDecodeError, fromKafkaRecord, toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { arbitraryEvent } from '@iocbus/events/arbitraries';
import fc from 'fast-check';
import { decodeEvent, fastDecode } from './decode.js';
import { workload } from './workload.js';

function consumed(r: { key: string; value: Buffer; headers: Record<string, string> }): ConsumedRecord {
  return { ...r, topic: 't', partition: 0, offset: '0', timestamp: 0 };
}

test('on valid events the decoder returns exactly what fromKafkaRecord returns', () => {
  fc.assert(
    fc.property(arbitraryEvent(), (event) => {
      const record = consumed(toKafkaRecord(event));
      assert.deepEqual(decodeEvent(record), fromKafkaRecord(record));
    }),
    { numRuns: 2000 },
  );
});

test('without extension attributes the fast path takes valid events, and its result equals the full decoder', () => {
  let fast = 0;
  fc.assert(
    fc.property(arbitraryEvent({ extras: false }), (event) => {
      const record = consumed(toKafkaRecord(event));
      const f = fastDecode(record);
      if (f !== undefined) {
        fast++;
        assert.deepEqual(f, fromKafkaRecord(record));
      }
    }),
    { numRuns: 2000 },
  );
  // Odd-but-valid corners (e.g. a false bool sent as proto3 default) may go the slow way; most must not.
  assert.ok(fast > 1500, `fast path took ${fast} of 2000`);
});

test('every event the workload and the gateway produce takes the fast path', async () => {
  const catalog = await loadSampleCatalog();
  const events = workload(300, { catalog, seed: 2 });
  for (const e of events) {
    const record = consumed(toKafkaRecord(e));
    const f = fastDecode(record);
    assert.ok(f !== undefined, e.type);
    assert.deepEqual(f, fromKafkaRecord(record));
  }
});

test('poison records miss the fast path and fail with the full decoder\'s EventDecodeError', async () => {
  const catalog = await loadSampleCatalog();
  const [event] = workload(1, { catalog, seed: 3 }).filter((e) => e.type.endsWith('.received')) as DossierEvent[];
  const good = toKafkaRecord(event!);
  const cases: Record<string, { key: string; value: Buffer; headers: Record<string, string> }> = {
    'truncated value': { ...good, value: good.value.subarray(0, good.value.length - 3) },
    'string length beyond the end': { ...good, value: Buffer.concat([good.value, Buffer.from([0x0a, 0x7f, 0x41])]) },
    'garbage bytes': { ...good, value: Buffer.from([0xff, 0xff, 0xff, 0x01]) },
    'unknown type': { ...good, headers: { ...good.headers, ce_type: 'vn.gov.tthc.dossier.teleported' } },
    'key is not the subject': { ...good, key: 'other' },
    'no content type': { ...good, headers: Object.fromEntries(Object.entries(good.headers).filter(([k]) => k !== 'content-type')) },
    'time without offset': { ...good, headers: { ...good.headers, ce_time: '2025-07-01T08:00:00' } },
    // Field 8 (channel) = 9: not a Channel value.
    'unknown enum number': { ...good, value: Buffer.concat([good.value, Buffer.from([0x40, 0x09])]) },
  };
  for (const [name, r] of Object.entries(cases)) {
    const record = consumed(r);
    assert.equal(fastDecode(record), undefined, name);
    assert.throws(() => decodeEvent(record), EventDecodeError, name);
  }
});

test('mutated records either decode consistently or fail with EventDecodeError, never anything else', async () => {
  const catalog = await loadSampleCatalog();
  const records = workload(50, { catalog, seed: 4 }).map((e) => toKafkaRecord(e));
  fc.assert(
    fc.property(fc.constantFrom(...records), fc.nat(), fc.integer({ min: 0, max: 255 }), (r, at, byte) => {
      const value = Buffer.from(r.value);
      value[at % value.length] = byte;
      const record = consumed({ ...r, value });
      try {
        const e = decodeEvent(record);
        assert.equal(e.subject, record.key);
        assert.equal((e.data as { dossierCode: string }).dossierCode, e.subject);
      } catch (err) {
        assert.ok(err instanceof EventDecodeError, String(err));
      }
    }),
    { numRuns: 3000 },
  );
});

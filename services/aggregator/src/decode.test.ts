import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumedRecord } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { EVENT_NAMES, EventDecodeError, fromKafkaRecord, isRfc3339, toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { arbitraryEvent, arbitraryTimestamp } from '@iocbus/events/arbitraries';
import fc from 'fast-check';
import { decodeEvent, fastDecode, fastDecodedTypes, isRfc3339Bytes } from './decode.js';
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

/** The full decoder's verdict: the event, or the EventDecodeError it throws (anything else fails the test). */
function full(record: ConsumedRecord): DossierEvent | EventDecodeError {
  try {
    return fromKafkaRecord(record);
  } catch (err) {
    assert.ok(err instanceof EventDecodeError, String(err));
    return err;
  }
}

/** The fast path may only ever say what the full decoder says: a miss is fine, a different answer is not. */
function assertFastAgrees(record: ConsumedRecord): boolean {
  const f = fastDecode(record);
  if (f === undefined) return false;
  const reference = full(record);
  assert.ok(!(reference instanceof EventDecodeError), `fast path accepted what the full decoder rejects: ${String(reference)}`);
  assert.deepEqual(f, reference);
  return true;
}

test('every event type has a generated decoder', () => {
  assert.deepEqual(fastDecodedTypes().sort(), EVENT_NAMES.map((n) => `vn.gov.tthc.dossier.${n}`).sort());
});

// Mutations of real records: every byte position and value, truncation, bytes inserted, headers changed.
const bytes = fc.uint8Array({ minLength: 1, maxLength: 4 });
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes }),
  fc.record({
    kind: fc.constant('header' as const),
    name: fc.constantFrom('ce_id', 'ce_source', 'ce_time', 'ce_subject', 'ce_type', 'ce_specversion', 'content-type', 'ce_ext', 'CE_ID', 'Content-Type', 'x-trace'),
    value: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', ' ', 'a b', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00', '\u0085', 'é')),
  }),
  fc.record({ kind: fc.constant('drop' as const), name: fc.constantFrom('ce_id', 'ce_time', 'ce_subject', 'content-type') }),
);

function mutate(r: { key: string; value: Buffer; headers: Record<string, string> }, m: typeof mutation extends fc.Arbitrary<infer M> ? M : never): ConsumedRecord {
  const value = Buffer.from(r.value);
  const headers = { ...r.headers };
  switch (m.kind) {
    case 'set':
      value[m.at % value.length] = m.byte;
      return consumed({ ...r, value, headers });
    case 'cut':
      return consumed({ ...r, value: value.subarray(0, m.at % value.length), headers });
    case 'insert': {
      const at = m.at % (value.length + 1);
      return consumed({ ...r, value: Buffer.concat([value.subarray(0, at), Buffer.from(m.bytes), value.subarray(at)]), headers });
    }
    case 'header':
      headers[m.name] = m.value;
      return consumed({ ...r, value, headers });
    case 'drop':
      delete headers[m.name];
      return consumed({ ...r, value, headers });
  }
}

test('whatever the fast path accepts of a mutated record, the full decoder accepts with an equal result', async () => {
  const catalog = await loadSampleCatalog();
  const records = workload(80, { catalog, seed: 5 }).map((e) => toKafkaRecord(e));
  let fast = 0;
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...records), arbitraryEvent({ extras: false }).map((e) => toKafkaRecord(e))), mutation, (r, m) => {
      if (assertFastAgrees(mutate(r, m))) fast++;
    }),
    { numRuns: 20_000 },
  );
  // Many mutations leave a record valid (a changed letter in a code, a header nobody reads): those still go fast.
  assert.ok(fast > 1000, `fast path took ${fast} of 20000 mutated records`);
});

test('codes are served from the intern table only for the same bytes (colliding and evicted slots)', async () => {
  const catalog = await loadSampleCatalog();
  const [event] = workload(1, { catalog, seed: 6 }).filter((e) => e.type.endsWith('.received')) as DossierEvent[];
  // 20,000 distinct unit and component codes over 4,096 slots: every slot is taken, evicted and taken again.
  for (let i = 0; i < 20_000; i++) {
    const data = { ...(event!.data as Record<string, unknown>), unitCode: `U${i}`, components: [{ code: `TP${i % 7000}`, digitized: true }] };
    const record = consumed(toKafkaRecord({ ...event!, data } as DossierEvent));
    const f = fastDecode(record) as { data: { unitCode: string; components: { code: string }[] } } | undefined;
    assert.equal(f?.data.unitCode, `U${i}`);
    assert.equal(f?.data.components[0]?.code, `TP${i % 7000}`);
  }
});

test('the timestamp check on bytes is isRfc3339, character for byte', () => {
  const near = arbitraryTimestamp().chain((t) =>
    fc.oneof(
      fc.constant(t),
      fc.tuple(fc.nat(), fc.constantFrom(...'0123456789:-+.TtZz x/9')).map(([at, ch]) => t.slice(0, at % t.length) + ch + t.slice((at % t.length) + 1)),
      fc.nat().map((at) => t.slice(0, at % t.length)),
    ),
  );
  fc.assert(
    fc.property(fc.oneof(near, fc.string({ maxLength: 40 })), (s) => {
      const b = Buffer.from(`##${s}`, 'latin1');
      // Bytes are checked as the UTF-8 of the string: only ASCII strings are the same both ways.
      if (!/^[\x00-\x7f]*$/.test(s)) return;
      assert.equal(isRfc3339Bytes(b, 2, b.length - 2), isRfc3339(s), s);
    }),
    { numRuns: 20_000 },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Kafka, type CloudEvent } from 'cloudevents';
import fc from 'fast-check';
import { EXAMPLE_EVENTS, arbitraryEvent } from './arbitraries.js';
import { EventDecodeError } from './errors.js';
import { fromKafkaRecord, toKafkaRecord, type KafkaRecordIn, type KafkaRecordOut } from './kafka.js';
import { EVENT_NAMES } from './names.js';
import { parseCloudEvent } from './parse.js';
import { codecFor, decodeData } from './proto.js';
import type { DossierEvent } from './schemas.js';

function parsed(name: (typeof EVENT_NAMES)[number]): DossierEvent {
  const r = parseCloudEvent(EXAMPLE_EVENTS[name]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.event;
}

/** As a Kafka client delivers it: key, value and header values as Buffers. */
function delivered(rec: KafkaRecordOut): KafkaRecordIn & { headers: Record<string, Buffer | string | undefined> } {
  return {
    key: Buffer.from(rec.key),
    value: Buffer.from(rec.value),
    headers: Object.fromEntries(Object.entries(rec.headers).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

/** Runs fromKafkaRecord; returns the event, or the problems of an EventDecodeError. Any other throw fails. */
function decodeOutcome(rec: unknown): { event: DossierEvent } | { problems: readonly { path: string; message: string }[] } {
  try {
    return { event: fromKafkaRecord(rec as KafkaRecordIn) };
  } catch (err) {
    assert.ok(err instanceof EventDecodeError, `unexpected ${String(err)}`);
    assert.equal(err.code, 'IOC_EVENTS_DECODE');
    assert.equal(err.retriable, false);
    assert.ok(err.problems.length > 0);
    for (const p of err.problems) assert.match(p.path, /^\$/);
    return { problems: err.problems };
  }
}

function rejectedAt(rec: unknown, path: string): void {
  const out = decodeOutcome(rec);
  assert.ok('problems' in out, `expected a rejection at ${path}`);
  assert.ok(
    out.problems.some((p) => p.path === path),
    `${path} not in ${JSON.stringify(out.problems)}`,
  );
}

test('every example type round-trips object → Kafka record → object, with binary-mode headers', () => {
  for (const name of EVENT_NAMES) {
    const event = parsed(name);
    const rec = toKafkaRecord(event);
    assert.equal(rec.key, event.subject);
    assert.equal(rec.headers['content-type'], 'application/protobuf');
    assert.equal(rec.headers.ce_specversion, '1.0');
    assert.equal(rec.headers.ce_id, event.id);
    assert.equal(rec.headers.ce_source, event.source);
    assert.equal(rec.headers.ce_type, event.type);
    assert.equal(rec.headers.ce_time, event.time);
    assert.equal(rec.headers.ce_subject, event.subject);
    assert.ok(Buffer.isBuffer(rec.value));
    assert.deepEqual(decodeData(event.type, rec.value), event.data);
    assert.deepStrictEqual(fromKafkaRecord(delivered(rec)), event);
    assert.deepStrictEqual(fromKafkaRecord(rec), event);
  }
  assert.equal(toKafkaRecord(parsed('received')).headers.ce_traceparent, EXAMPLE_EVENTS.received.traceparent);
});

test('the cloudevents SDK reads our records, and we read its binary records', () => {
  for (const name of EVENT_NAMES) {
    const event = parsed(name);
    const rec = toKafkaRecord(event);
    const ce = Kafka.toEvent({ key: rec.key, value: rec.value, headers: rec.headers } as never) as CloudEvent<Buffer>;
    assert.equal(ce.id, event.id);
    assert.equal(ce.type, event.type);
    assert.equal(ce.subject, event.subject);
    assert.equal(Date.parse(ce.time as string), Date.parse(event.time));
    assert.equal(ce.datacontenttype, 'application/protobuf');

    const sdk = Kafka.binary(ce) as unknown as { key: string; value: Buffer; headers: Record<string, string | undefined> };
    const back = fromKafkaRecord({ key: sdk.key, value: sdk.value, headers: sdk.headers });
    assert.deepStrictEqual(back.data, event.data);
    assert.equal(back.extensions?.partitionkey, event.subject);
  }
});

test('property: random valid events round-trip exactly through the Kafka codec', () => {
  fc.assert(
    fc.property(arbitraryEvent(), (e) => {
      assert.deepStrictEqual(fromKafkaRecord(delivered(toKafkaRecord(e))), e);
    }),
    { numRuns: 1500 },
  );
});

const required = ['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'ce_subject'];

test('missing or garbled headers, key and value are reported at their paths', () => {
  const rec = delivered(toKafkaRecord(parsed('fee_paid')));
  for (const h of required) {
    const headers = { ...rec.headers };
    delete headers[h];
    rejectedAt({ ...rec, headers }, `$.headers.${h}`);
  }
  rejectedAt({ ...rec, headers: { ...rec.headers, 'content-type': undefined } }, "$.headers['content-type']");
  rejectedAt({ ...rec, headers: { ...rec.headers, 'content-type': 'application/json' } }, "$.headers['content-type']");
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_time: Buffer.from('2025-07-04T09:20:31') } }, '$.headers.ce_time');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_id: Buffer.from([0xc3, 0x28]) } }, '$.headers.ce_id');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_id: [Buffer.from('a'), Buffer.from('b')] } }, '$.headers.ce_id');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_type: 'vn.gov.tthc.dossier.approved' } }, '$.headers.ce_type');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_specversion: '0.3' } }, '$.headers.ce_specversion');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_subject: 'OTHER' } }, '$.headers.ce_subject');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_Bad: 'x' } }, '$.headers.ce_Bad');
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_data: 'x' } }, '$.headers.ce_data');
  rejectedAt({ ...rec, headers: undefined }, '$.headers.ce_id');
  rejectedAt({ ...rec, headers: 'x' }, '$.headers');
  rejectedAt({ ...rec, key: null }, '$.key');
  rejectedAt({ ...rec, key: 'OTHER' }, '$.key');
  rejectedAt({ ...rec, value: null }, '$.value');
  rejectedAt({ ...rec, value: 'text' }, '$.value');
  // A fee_paid message read as another type: field 6 is a string there, an enum varint here.
  rejectedAt({ ...rec, headers: { ...rec.headers, ce_type: Buffer.from('vn.gov.tthc.dossier.rated') } }, '$.value');
  // Well-formed protobuf whose content breaks the schema: reported at the data field's JSON path.
  const rx = delivered(toKafkaRecord(parsed('received')));
  const type = codecFor('vn.gov.tthc.dossier.received').type;
  const msg = { ...decodeData('vn.gov.tthc.dossier.received', rx.value as Buffer), channel: 7, applicantType: 0, dueAt: 'soon' };
  const out = decodeOutcome({ ...rx, value: Buffer.from(type.encode(msg).finish()) });
  assert.ok('problems' in out);
  assert.deepEqual(out.problems.map((p) => p.path).sort(), ['$.data.applicantType', '$.data.channel', '$.data.dueAt']);
  assert.match(out.problems.find((p) => p.path === '$.data.channel')?.message ?? '', /data\.channel: expected one of direct, online, postal, got 7/);
  for (const garbage of [null, undefined, 42, 'record', [], {}]) decodeOutcome(garbage);
});

test('the message of a decode error names the first problem', () => {
  const rec = delivered(toKafkaRecord(parsed('resolved')));
  try {
    fromKafkaRecord({ ...rec, headers: { ...rec.headers, ce_time: 'yesterday' } });
    assert.fail('expected EventDecodeError');
  } catch (err) {
    assert.ok(err instanceof EventDecodeError);
    assert.match(err.message, /^cannot decode dossier event: headers\.ce_time: expected an RFC 3339 timestamp/);
    assert.deepEqual(err.details?.problems, err.problems);
  }
});

test('property: a value cut short by one byte is always rejected at $.value', () => {
  fc.assert(
    fc.property(arbitraryEvent(), (e) => {
      const rec = delivered(toKafkaRecord(e));
      rejectedAt({ ...rec, value: (rec.value as Buffer).subarray(0, (rec.value as Buffer).length - 1) }, '$.value');
    }),
    { numRuns: 1000 },
  );
});

/**
 * Protobuf has no checksum: some cuts and flips still decode to a different well-formed message. The
 * contract is that every outcome is a valid event or an EventDecodeError with paths — never another throw.
 */
test('property: truncated, flipped and random value bytes never escape as anything but EventDecodeError', () => {
  fc.assert(
    fc.property(
      arbitraryEvent(),
      fc.oneof(
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
        fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 20 }) }),
      ),
      (e, c) => {
        const rec = delivered(toKafkaRecord(e));
        const v = rec.value as Buffer;
        let value: Buffer;
        if (c.kind === 'cut') value = v.subarray(0, c.at % v.length);
        else if (c.kind === 'flip') {
          value = Buffer.from(v);
          const i = c.at % value.length;
          value[i] = (value[i] as number) ^ c.mask;
        } else if (c.kind === 'random') value = Buffer.from(c.bytes);
        else value = Buffer.concat([v.subarray(0, c.at % v.length), c.bytes, v.subarray(c.at % v.length)]);
        const out = decodeOutcome({ ...rec, value });
        if ('event' in out) {
          // Whatever decoded must itself be a fully valid event of the same envelope.
          assert.equal(out.event.id, e.id);
          assert.ok(parseCloudEvent(JSON.parse(JSON.stringify({ ...out.event, ...out.event.extensions, extensions: undefined }))).ok);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: arbitrary records and headers never escape as anything but EventDecodeError', () => {
  const headerValue = fc.oneof(fc.string(), fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)), fc.constant(undefined));
  fc.assert(
    fc.property(
      fc.record({
        key: fc.oneof(fc.string(), fc.constant(null)),
        value: fc.oneof(fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)), fc.constant(null)),
        headers: fc.dictionary(fc.oneof(fc.constantFrom(...required, 'content-type'), fc.string()), headerValue),
      }),
      (rec) => {
        decodeOutcome(rec);
      },
    ),
    { numRuns: 1500 },
  );
  fc.assert(fc.property(fc.anything(), (v) => void decodeOutcome(v)), { numRuns: 500 });
});

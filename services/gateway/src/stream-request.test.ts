import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { protoModel, toProtoCloudEvent } from '@iocbus/events';
import { arbitraryEvent } from '@iocbus/events/arbitraries';
import { loadIngestPackage } from './grpc.js';
import { fastStreamRequest, slowRequest, streamRequestDeserializer, type StreamRequest } from './stream-request.js';

interface Method {
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): unknown;
}
const stream = (loadIngestPackage()['iocbus.ingest.v1.IngestService'] as unknown as Record<string, Method>).PublishStream as Method;

interface Field {
  name: string;
  type: string;
  repeated: boolean;
  map: boolean;
  resolvedType: { valuesById?: Record<number, string>; fieldsArray?: Field[] } | null;
}

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constant(''));

/** Any value proto-loader can serialize for the field: unknown enum numbers, negative and huge int64s, NaN, -0… */
function valueOf(field: Field, depth: number): fc.Arbitrary<unknown> {
  const rt = field.resolvedType;
  if (rt?.valuesById !== undefined) {
    const ids = Object.keys(rt.valuesById).map(Number);
    return fc.oneof(fc.constantFrom(...ids), fc.constantFrom(...ids.map((i) => (rt.valuesById as Record<number, string>)[i])), fc.integer({ min: -5, max: 200 }));
  }
  if (rt?.fieldsArray !== undefined) return messageOf(rt.fieldsArray, depth + 1);
  switch (field.type) {
    case 'string':
      return text;
    case 'bool':
      return fc.boolean();
    case 'double':
      return fc.oneof(fc.double(), fc.integer({ min: 0, max: 1000 }));
    case 'int64':
      return fc.oneof(fc.integer({ min: -1000, max: 1_000_000 }), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
    default:
      throw new Error(`no arbitrary for ${field.type}`);
  }
}

function messageOf(fields: readonly Field[], depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (f.map) model[f.name] = fc.dictionary(fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'traceparent')), text, { maxKeys: 4 });
    else if (f.repeated) model[f.name] = fc.array(valueOf(f, depth), { maxLength: 3 });
    else model[f.name] = valueOf(f, depth);
  }
  return fc.record(model, { requiredKeys: [] });
}

const cloudEventFields = (protoModel().cloudEvent as unknown as { fieldsArray: Field[] }).fieldsArray;
/** A CloudEvent message with any subset of its fields, several data cases at once included. */
const anyCloudEvent = messageOf(cloudEventFields);
const sequence = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const anyRequest = fc.record({ sequence, event: fc.oneof(anyCloudEvent, arbitraryEvent().map(toProtoCloudEvent)) }, { requiredKeys: [] });

const slow = (bytes: Buffer): StreamRequest => slowRequest(bytes, stream.requestDeserialize);
const deserialize = streamRequestDeserializer(stream.requestDeserialize);

/** Same result, and for an accepted event the same event down to its key order (Kafka headers follow it). */
function assertSame(ours: StreamRequest, theirs: StreamRequest): void {
  assert.deepStrictEqual(ours, theirs);
  if (ours.candidate.ok) assert.equal(JSON.stringify(ours.candidate.event), JSON.stringify((theirs.candidate as typeof ours.candidate).event));
}

test('valid events take the fast path and come out exactly as the old way makes them', () => {
  fc.assert(
    fc.property(sequence, arbitraryEvent(), (seq, event) => {
      const bytes = stream.requestSerialize({ sequence: seq, event: toProtoCloudEvent(event) });
      const fast = fastStreamRequest(bytes);
      assert.ok(fast !== undefined, 'a valid event left the fast path');
      assert.ok(fast.candidate.ok);
      assertSame(fast, slow(bytes));
      assert.deepStrictEqual(fast.candidate.event, event);
    }),
    { numRuns: 2000 },
  );
});

test('any message proto-loader can write: the deserializer gives what the old way gives', () => {
  let fast = 0;
  fc.assert(
    fc.property(anyRequest, (request) => {
      const bytes = stream.requestSerialize(request);
      if (fastStreamRequest(bytes) !== undefined) fast++;
      assertSame(deserialize(bytes), slow(bytes));
    }),
    { numRuns: 3000 },
  );
  assert.ok(fast > 100, `only ${fast} messages took the fast path`);
});

test('concatenated messages (protobuf merges them) give what the old way gives', () => {
  fc.assert(
    fc.property(fc.array(anyRequest, { minLength: 2, maxLength: 4 }), (requests) => {
      const bytes = Buffer.concat(requests.map((r) => stream.requestSerialize(r)));
      assertSame(deserialize(bytes), slow(bytes));
    }),
    { numRuns: 1000 },
  );
});

test('damaged bytes give what the old way gives, or throw where it throws', () => {
  const outcome = (f: () => StreamRequest): { ok: true; value: StreamRequest } | { ok: false } => {
    try {
      return { ok: true, value: f() };
    } catch {
      return { ok: false };
    }
  };
  fc.assert(
    fc.property(anyRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), (request, edits, cut) => {
      const bytes = Buffer.from(stream.requestSerialize(request));
      if (bytes.length === 0) return;
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      const damaged = bytes.subarray(0, bytes.length - (cut % 3));
      const ours = outcome(() => deserialize(damaged));
      const theirs = outcome(() => slow(damaged));
      assert.equal(ours.ok, theirs.ok);
      if (ours.ok && theirs.ok) assertSame(ours.value, theirs.value);
    }),
    { numRuns: 3000 },
  );
});

test('the example: a received event with an extension, and the same with an invalid time (old way, same problems)', () => {
  const event = toProtoCloudEvent(arbitraryEventSample());
  const good = stream.requestSerialize({ sequence: 3, event: { ...event, extensions: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } } });
  const fast = fastStreamRequest(good);
  assert.equal(fast?.sequence, 3);
  assert.ok(fast?.candidate.ok);
  assert.equal((fast.candidate.event.extensions as Record<string, string>).traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  const bad = stream.requestSerialize({ sequence: 4, event: { ...event, time: '2025-07-01 08:00' } });
  assert.equal(fastStreamRequest(bad), undefined);
  const result = deserialize(bad);
  assert.equal(result.sequence, 4);
  assert.ok(!result.candidate.ok);
  assert.deepEqual(result.candidate.problems.map((p) => p.path), ['$.time']);
});

function arbitraryEventSample() {
  return fc.sample(arbitraryEvent({ extras: false }), { numRuns: 1, seed: 42 })[0] as Parameters<typeof toProtoCloudEvent>[0];
}

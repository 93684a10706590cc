import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadIngestPackage } from './grpc.js';
import { encodePlainAck, encodePlainAckFrames, passEncoded, rawFrameWriter } from './stream-ack.js';
import { toProtoResult } from './grpc-common.js';

interface Method {
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}
const stream = (loadIngestPackage()['iocbus.ingest.v1.IngestService'] as unknown as Record<string, Method>).PublishStream as Method;

// Ids and sources as clients may send them: any text, non-ASCII and long ones included.
const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ minLength: 100, maxLength: 300 }));
const sequence = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

test('an accepted or duplicate ack is encoded byte for byte as proto-loader serializes it', () => {
  fc.assert(
    fc.property(sequence, text, text, fc.constantFrom('accepted' as const, 'duplicate' as const), (seq, id, source, status) => {
      const expected = stream.responseSerialize({ ack: { sequence: seq, result: toProtoResult({ id, source, status }) } });
      assert.deepEqual(encodePlainAck(seq, id, source, status), expected);
    }),
    { numRuns: 3000 },
  );
});

test('the client reads it back as the ack it stands for', () => {
  const bytes = encodePlainAck(4242, 'hồ-sơ-1', '/agencies/H21.17/igate', 'duplicate');
  assert.deepEqual(stream.responseDeserialize(bytes), {
    ack: { sequence: 4242, result: { id: 'hồ-sơ-1', source: '/agencies/H21.17/igate', status: 'EVENT_STATUS_DUPLICATE', code: '' } },
    kind: 'ack',
  });
});

test('the serializer passes encoded responses through and serializes everything else', () => {
  const serialize = passEncoded(stream.responseSerialize);
  const encoded = encodePlainAck(1, 'a', 'b', 'accepted');
  assert.equal(serialize(encoded), encoded);
  const grant = { flowControl: { maxInFlight: 1000, ackedThrough: 0, maxEventBytes: 4 << 20, retryAfterMs: 0 } };
  assert.deepEqual(serialize(grant), stream.responseSerialize(grant));
});

test('a run of acks is framed as grpc-js frames each response, back to back', () => {
  const result = fc.record({ id: text, source: text, status: fc.constantFrom('accepted' as const, 'duplicate' as const) });
  fc.assert(
    // Sequences stay safe integers: the first one leaves room for the run.
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 20 }), fc.array(result, { minLength: 1, maxLength: 20 }), fc.nat(), (first, results, skip) => {
      const from = skip % results.length;
      const expected = Buffer.concat(
        results.slice(from).map((r, k) => {
          const message = stream.responseSerialize({ ack: { sequence: first + from + k, result: toProtoResult(r) } });
          const header = Buffer.alloc(5);
          header.writeUInt32BE(message.length, 1);
          return Buffer.concat([header, message]);
        }),
      );
      assert.deepEqual(encodePlainAckFrames(first, results, from, results.length), expected);
    }),
    { numRuns: 1000 },
  );
});

test('raw frames are offered only for a grpc-js call that has its HTTP/2 stream', () => {
  assert.equal(rawFrameWriter(new PassThrough()), undefined);
  const written: Buffer[] = [];
  const http2Stream = new Writable({ write: (chunk: Buffer, _e, cb) => (written.push(chunk), cb()) });
  let cancelled = false;
  let metadata = 0;
  const call = Object.assign(new PassThrough(), {
    call: { stream: http2Stream, maybeSendMetadata: () => metadata++, checkCancelled: () => cancelled },
  });
  const raw = rawFrameWriter(call);
  assert.ok(raw !== undefined);
  assert.equal(raw.ready(), true);
  assert.equal(raw.write(Buffer.from([1])), true);
  assert.equal(metadata, 1);
  cancelled = true;
  raw.write(Buffer.from([2]));
  assert.deepEqual(written, [Buffer.from([1])]);
  call.cork();
  call.write('queued');
  assert.equal(raw.ready(), false, 'frames must not overtake a message waiting in the call');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadIngestPackage } from './grpc.js';
import { encodePlainAck, passEncoded } from './stream-ack.js';
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { FRAME_ROOM, installFramedPayloads } from './framed-payload.js';
import { fastProduceRequest, installFastProduceRequest, originalProduceRequest, type ProduceArgs } from './produce-request.js';

const require = createRequire(import.meta.url);
// Loaded before anything is installed: kafkajs's request with kafkajs's own record encoder.
const original = originalProduceRequest();
const Long = require('kafkajs/src/utils/long.js') as { fromInt(v: number): unknown; fromValue(v: unknown): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

const NOW = 1_751_331_600_000;

/** Both encoders call Date.now() for messages without a timestamp: pin it while comparing. */
async function withNow<T>(f: () => Promise<T>): Promise<T> {
  const real = Date.now;
  Date.now = () => NOW;
  try {
    return await f();
  } finally {
    Date.now = real;
  }
}

async function bytes(factory: (args: ProduceArgs) => { encode(): Promise<{ buffer: Buffer }> }, args: ProduceArgs): Promise<Buffer> {
  return withNow(async () => (await factory(args).encode()).buffer);
}

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }));
const data = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
const headerValue = fc.oneof(text, data);
const timestamp = fc.oneof(
  fc.integer({ min: NOW - 10_000, max: NOW + 10_000 }).map(String),
  fc.integer({ min: NOW - 10_000, max: NOW + 10_000 }),
  // Mixed digit counts: kafkajs takes first and max timestamp from a string sort, and so must this.
  fc.integer({ min: 0, max: 2000 }),
);
const message = fc.record(
  {
    key: fc.oneof(text, data, fc.constant(null)),
    value: fc.oneof(data, text, fc.constant(null)),
    headers: fc.dictionary(text.filter((k) => !(k in Object.prototype)), fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })), { maxKeys: 8 }),
    timestamp,
  },
  { requiredKeys: ['key', 'value'] },
);
const args = fc.record(
  {
    acks: fc.constantFrom(-1, 0, 1),
    timeout: fc.integer({ min: 0, max: 60_000 }),
    transactionalId: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }),
    producerId: fc.oneof(fc.constant(Long.fromInt(-1)), fc.bigInt({ min: 0n, max: 2n ** 62n }).map((v) => Long.fromValue(v))),
    producerEpoch: fc.integer({ min: 0, max: 32_767 }),
    topicData: fc.array(
      fc.record({
        topic: fc.string({ minLength: 1, maxLength: 40 }),
        partitions: fc.array(
          fc.record(
            {
              partition: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
              firstSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
              messages: fc.array(message, { maxLength: 25 }),
            },
            { requiredKeys: ['partition', 'messages'] },
          ),
          { minLength: 1, maxLength: 4 },
        ),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  },
  { requiredKeys: ['acks', 'timeout', 'topicData'] },
) as fc.Arbitrary<ProduceArgs>;

test('writes every produce request byte for byte as kafkajs does', async () => {
  await fc.assert(
    fc.asyncProperty(args, async (a) => {
      assert.deepEqual(await bytes(fastProduceRequest, a), await bytes(original, a));
    }),
    { numRuns: 1500 },
  );
});

type Framed = { buf: Buffer; buffer: Buffer };
const frame = require('kafkajs/src/protocol/request.js') as (r: { correlationId: number; clientId: string; request: unknown }) => Promise<Framed>;

test('kafkajs frames the request to exactly the same bytes, taking over its buffer instead of copying it', async () => {
  installFramedPayloads();
  const clientId = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 60, maxLength: 200 }),
    // Around the most the room holds.
    fc.integer({ min: FRAME_ROOM - 20, max: FRAME_ROOM }).map((n) => 'c'.repeat(n)),
  );
  await fc.assert(
    fc.asyncProperty(args, clientId, fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (a, id, correlationId) => {
      const expected = await withNow(async () => (await frame({ correlationId, clientId: id, request: original(a) })).buffer);
      const request = fastProduceRequest(a);
      const payload = (await withNow(() => request.encode())) as unknown as Framed;
      const reuse = { ...request, encode: async () => payload };
      const framed = await frame({ correlationId, clientId: id, request: reuse });
      assert.deepEqual(framed.buffer, expected);
      // Short client ids fit the room: the framed request is the payload's own memory, nothing was copied.
      assert.equal(framed.buf.buffer === payload.buf.buffer, Buffer.byteLength(id) <= FRAME_ROOM - 14);
      // The same payload framed again is copied (the room is taken), and is still right.
      const again = await frame({ correlationId, clientId: id, request: reuse });
      assert.notEqual(again.buf.buffer, payload.buf.buffer);
      assert.deepEqual(again.buffer, expected);
    }),
    { numRuns: 500 },
  );
});

test('the request around the bytes is kafkajs’s', () => {
  for (const acks of [-1, 0, 1]) {
    const a: ProduceArgs = { acks, timeout: 30_000, topicData: [] };
    const fast = fastProduceRequest(a);
    const slow = original(a);
    assert.deepEqual(
      [fast.apiKey, fast.apiVersion, fast.apiName, fast.expectResponse()],
      [slow.apiKey, slow.apiVersion, slow.apiName, slow.expectResponse()],
    );
  }
});

test('a gateway-sized request (thousands of CloudEvent records, one timestamp) is identical', async () => {
  const stamp = String(NOW);
  const messages = Array.from({ length: 3000 }, (_, i) => ({
    key: `H21.17-250701-${String(i).padStart(6, '0')}`,
    value: Buffer.alloc(60 + (i % 40), i % 251),
    headers: {
      ce_specversion: '1.0',
      ce_id: `evt-${i}`,
      ce_source: '/agencies/H21.17/igate',
      ce_type: 'vn.gov.tthc.dossier.received',
      ce_time: '2025-07-01T08:00:00+07:00',
      ce_subject: `H21.17-250701-${String(i).padStart(6, '0')}`,
      'content-type': 'application/protobuf',
    },
    timestamp: stamp,
  }));
  const a: ProduceArgs = {
    acks: -1,
    timeout: 30_000,
    producerId: Long.fromValue(4242n),
    producerEpoch: 3,
    topicData: [0, 1, 2, 3, 4, 5].map(() => ({ topic: 'iocbus.dossier-events.v1', partitions: [] })).slice(0, 1),
  };
  a.topicData[0]!.partitions = [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, firstSequence: p * 1000, messages: messages.filter((_, i) => i % 6 === p) }));
  const fast = await bytes(fastProduceRequest, a);
  assert.ok(fast.length > 3000 * 150, 'a request of real size');
  assert.deepEqual(fast, await bytes(original, a));
});

test('compressed batches and unusual messages take kafkajs’s own request, errors included', async () => {
  const base = { acks: -1, timeout: 1000 };
  const same: ProduceArgs[] = [
    { ...base, compression: Compression.GZIP, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', timestamp: String(NOW) }] }] }] },
    { ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: new Uint8Array([1, 2]), timestamp: String(NOW) }] }] }] },
    { ...base, topicData: [{ topic: 't', partitions: [{ partition: 1, messages: [] }] }] },
    { ...base, topicData: [{ topic: 't', partitions: [{ partition: 1, messages: [{ key: 'k', value: 'v' }] }] }] },
  ];
  for (const a of same) assert.deepEqual(await bytes(fastProduceRequest, a), await bytes(original, a));
  const throwing: ProduceArgs[] = [
    { ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', headers: { h: null }, timestamp: String(NOW) }] }] }] },
    { ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v', timestamp: 'soon' }] }] }] },
    { ...base, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [null as never] }] }] },
  ];
  for (const a of throwing) {
    const expected = await bytes(original, a).then(
      () => assert.fail('kafkajs encoded it'),
      (err: unknown) => String(err),
    );
    await assert.rejects(bytes(fastProduceRequest, a), (err) => String(err) === expected);
  }
});

test('installs before kafkajs loads the later request versions, which then use it', async () => {
  assert.equal(installFastProduceRequest(), true);
  const v7 = require('kafkajs/src/protocol/requests/produce/v7/request.js') as typeof original;
  assert.equal(require('kafkajs/src/protocol/requests/produce/v3/request.js'), fastProduceRequest);
  assert.equal(originalProduceRequest(), original, 'kafkajs’s own request stays reachable');
  const a = fc.sample(args, { numRuns: 1, seed: 7 })[0] as ProduceArgs;
  const viaV7 = v7(a);
  assert.equal(viaV7.apiVersion, 7);
  assert.deepEqual(await withNow(async () => (await viaV7.encode()).buffer), await bytes(original, a));
  assert.equal(installFastProduceRequest(), true, 'idempotent');
});

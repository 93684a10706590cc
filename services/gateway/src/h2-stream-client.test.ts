import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { parseCloudEvent, toProtoCloudEvent, type DossierEvent } from '@iocbus/events';
import { loadIngestPackage } from './grpc.js';
import { ACK_STATUS, decodeResponse, frameMessages, FrameSplitter, publishStream } from './h2-stream-client.js';
import { gatewayWithH2Session, sampleEvent, testKeys, type TestKeys } from './test-support.js';

interface Method {
  requestSerialize(value: unknown): Buffer;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): Record<string, unknown>;
}
const stream = (loadIngestPackage()['iocbus.ingest.v1.IngestService'] as unknown as Record<string, Method>).PublishStream as Method;

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ minLength: 100, maxLength: 200 }));
const u32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const u53 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const response = fc.oneof(
  fc.record({
    ack: fc.record({
      sequence: u53,
      result: fc.record({
        id: text,
        source: text,
        status: fc.constantFrom(...ACK_STATUS),
        problems: fc.array(fc.record({ path: text, message: text }), { maxLength: 3 }),
        code: text,
      }),
    }),
  }),
  fc.record({ flowControl: fc.record({ maxInFlight: u32, ackedThrough: u53, maxEventBytes: u32, retryAfterMs: u32 }) }),
);

test('decodeResponse reads every PublishStreamResponse as proto-loader does', () => {
  fc.assert(
    fc.property(response, (value) => {
      const bytes = stream.responseSerialize(value);
      const ours = decodeResponse(bytes);
      const theirs = stream.responseDeserialize(bytes) as { ack?: { sequence?: number; result?: Record<string, unknown> }; flowControl?: Record<string, number> };
      if (theirs.ack !== undefined) {
        const r = theirs.ack.result ?? {};
        assert.deepEqual(ours, {
          kind: 'ack',
          sequence: theirs.ack.sequence ?? 0,
          id: r.id ?? '',
          source: r.source ?? '',
          status: ACK_STATUS.indexOf((r.status ?? 'EVENT_STATUS_UNSPECIFIED') as (typeof ACK_STATUS)[number]),
          code: r.code ?? '',
          problems: ((r.problems ?? []) as { path?: string; message?: string }[]).map((p) => ({ path: p.path ?? '', message: p.message ?? '' })),
        });
      } else {
        const f = theirs.flowControl ?? {};
        assert.deepEqual(ours, { kind: 'flowControl', maxInFlight: f.maxInFlight ?? 0, ackedThrough: f.ackedThrough ?? 0, maxEventBytes: f.maxEventBytes ?? 0, retryAfterMs: f.retryAfterMs ?? 0 });
      }
    }),
    { numRuns: 2000 },
  );
});

test('decodeResponse refuses truncated bytes', () => {
  const bytes = stream.responseSerialize({ ack: { sequence: 7, result: { id: 'evt-1', source: '/agencies/x', status: 'EVENT_STATUS_ACCEPTED' } } });
  for (let cut = 1; cut < bytes.length; cut++) assert.throws(() => decodeResponse(bytes.subarray(0, cut)), `cut at ${cut}`);
});

test('FrameSplitter finds the same messages whatever the chunk boundaries', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1 }), (messages, cuts) => {
      const { bytes, ends } = frameMessages(messages);
      assert.equal(ends.length, messages.length);
      const seen: Buffer[] = [];
      const splitter = new FrameSplitter();
      let at = 0;
      for (let i = 0; at < bytes.length; i++) {
        const next = Math.min(bytes.length, at + (cuts[i % cuts.length] as number));
        splitter.push(bytes.subarray(at, next), (buf, start, end) => seen.push(Buffer.from(buf.subarray(start, end))));
        at = next;
      }
      assert.equal(splitter.buffered, 0);
      assert.deepEqual(seen, messages.map((m) => Buffer.from(m)));
    }),
    { numRuns: 500 },
  );
});

const TOPIC = 'iocbus.dossier-events.v1';
let keys: TestKeys;

async function gatewayOn(t: TestContext, streamMaxInFlight: number) {
  keys ??= await testKeys();
  return gatewayWithH2Session(t, TOPIC, keys, { streamMaxInFlight });
}

function events(n: number): DossierEvent[] {
  return Array.from({ length: n }, () => {
    const parsed = parseCloudEvent(sampleEvent());
    assert.ok(parsed.ok);
    return parsed.event;
  });
}

const requests = (list: DossierEvent[]) => frameMessages(list.map((e, i) => stream.requestSerialize({ sequence: i + 1, event: toProtoCloudEvent(e) })));

test('against the grpc-js gateway: every event lands, every ack is checked, never more in flight than granted', async (t) => {
  const { session, onTopic } = await gatewayOn(t, 16);
  const sent = events(500);
  const acks: number[] = [];
  const result = await publishStream({ session, key: keys.agency, frames: requests(sent), onAck: (s) => acks.push(s) });
  assert.equal(result.status, 0, result.message);
  assert.equal(result.acked, 500);
  assert.deepEqual(acks, Array.from({ length: 500 }, (_, i) => i + 1));
  assert.equal(result.maxGrant, 16);
  assert.ok(result.maxUnacked <= 16 && result.maxUnacked > 1, `max unacked ${result.maxUnacked}`);
  assert.deepEqual(
    (await onTopic()).sort((a, b) => a.id.localeCompare(b.id)),
    [...sent].sort((a, b) => a.id.localeCompare(b.id)),
  );
});

test('an ack that is not accepted fails the run; duplicates pass when expected', async (t) => {
  const { session } = await gatewayOn(t, 64);
  const sent = events(20);
  assert.equal((await publishStream({ session, key: keys.agency, frames: requests(sent) })).acked, 20);
  await assert.rejects(publishStream({ session, key: keys.agency, frames: requests(sent) }), /ack 1: EVENT_STATUS_DUPLICATE/);
  const again = await publishStream({ session, key: keys.agency, frames: requests(sent), expect: [1, 2] });
  assert.equal(again.acked, 20);
});

test('a refused call resolves with its gRPC status and nothing acked', async (t) => {
  const { session } = await gatewayOn(t, 64);
  const result = await publishStream({ session, key: 'agency.wrong', frames: requests(events(3)) });
  assert.equal(result.status, 16); // UNAUTHENTICATED
  assert.equal(result.acked, 0);
  assert.match(result.message, /invalid API key/);
});

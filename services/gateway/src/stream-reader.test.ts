import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { parseCloudEvent, toProtoCloudEvent, type DossierEvent } from '@iocbus/events';
import { loadIngestPackage } from './grpc.js';
import { decodeResponse, frameMessages, FrameSplitter, PUBLISH_STREAM_PATH } from './h2-stream-client.js';
import { bearer, gatewayWithH2Session, ingestClient, sampleEvent, testKeys, type StreamResponse, type TestKeys } from './test-support.js';

interface Method {
  requestSerialize(value: unknown): Buffer;
}
const stream = (loadIngestPackage()['iocbus.ingest.v1.IngestService'] as unknown as Record<string, Method>).PublishStream as Method;
const TOPIC = 'iocbus.dossier-events.v1';
let keys: TestKeys;

async function gatewayOn(t: TestContext) {
  keys ??= await testKeys();
  return gatewayWithH2Session(t, TOPIC, keys, { streamMaxInFlight: 64, maxMessageBytes: 2048 });
}

function events(n: number): DossierEvent[] {
  return Array.from({ length: n }, () => {
    const parsed = parseCloudEvent(sampleEvent());
    assert.ok(parsed.ok);
    return parsed.event;
  });
}

/** A raw PublishStream call: writes `bytes` in pieces of `piece` bytes, then ends; collects acks and the status. */
function rawCall(session: http2.ClientHttp2Session, bytes: Buffer, piece: number): Promise<{ acks: number[]; statuses: number[]; status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': PUBLISH_STREAM_PATH, 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${keys.agency}` });
    const acks: number[] = [];
    const statuses: number[] = [];
    let status = -1;
    let message = '';
    const splitter = new FrameSplitter();
    req.on('data', (chunk: Buffer) =>
      splitter.push(chunk, (buf, start, end) => {
        const m = decodeResponse(buf, start, end);
        if (m.kind === 'ack') {
          acks.push(m.sequence);
          statuses.push(m.status);
        }
      }),
    );
    req.on('trailers', (t) => {
      status = Number(t['grpc-status']);
      message = decodeURIComponent(String(t['grpc-message'] ?? ''));
    });
    req.on('end', () => {
      if (!req.writableEnded) req.close();
    });
    req.on('close', () => resolve({ acks, statuses, status, message }));
    req.on('error', reject);
    void (async () => {
      for (let at = 0; at < bytes.length; at += piece) {
        req.write(bytes.subarray(at, at + piece));
        // Separate DATA frames: let each piece go out on its own.
        if (piece < 64) await new Promise((r) => setImmediate(r));
      }
      req.end();
    })();
  });
}

test('messages split across DATA frames at any byte are read whole, every one acked in order', async (t) => {
  const { session, onTopic } = await gatewayOn(t);
  const sent = events(40);
  const frames = frameMessages(sent.map((e, i) => stream.requestSerialize({ sequence: i + 1, event: toProtoCloudEvent(e) })));
  const result = await rawCall(session, frames.bytes, 7);
  assert.equal(result.status, grpc.status.OK, result.message);
  assert.deepEqual(result.acks, Array.from({ length: 40 }, (_, i) => i + 1));
  assert.ok(result.statuses.every((s) => s === 1));
  assert.equal((await onTopic()).length, 40);
});

test('a message over the receive limit ends the call with RESOURCE_EXHAUSTED; nothing acked is missing from the topic', async (t) => {
  const { session, onTopic } = await gatewayOn(t);
  const [first] = events(1);
  const big = stream.requestSerialize({ sequence: 2, event: { ...toProtoCloudEvent(events(1)[0] as DossierEvent), extensions: { pad: 'x'.repeat(3000) } } });
  const frames = frameMessages([stream.requestSerialize({ sequence: 1, event: toProtoCloudEvent(first as DossierEvent) }), big]);
  const result = await rawCall(session, frames.bytes, 1 << 20);
  assert.equal(result.status, grpc.status.RESOURCE_EXHAUSTED, result.message);
  assert.match(result.message, /larger than the limit/);
  assert.ok(result.acks.length <= 1);
  assert.ok(result.acks.length <= (await onTopic()).length);
});

test('bytes that are no PublishStreamRequest end the call with INVALID_ARGUMENT; so does a stream ending inside a message', async (t) => {
  const { session } = await gatewayOn(t);
  const garbage = frameMessages([Buffer.from([0x12, 0x7f, 0x0a])]);
  const bad = await rawCall(session, garbage.bytes, 1 << 20);
  assert.equal(bad.status, grpc.status.INVALID_ARGUMENT, bad.message);
  assert.match(bad.message, /not a PublishStreamRequest/);
  const cut = frameMessages([stream.requestSerialize({ sequence: 1, event: toProtoCloudEvent(events(1)[0] as DossierEvent) })]);
  const truncated = await rawCall(session, cut.bytes.subarray(0, cut.bytes.length - 10), 1 << 20);
  assert.equal(truncated.status, grpc.status.INVALID_ARGUMENT, truncated.message);
  assert.match(truncated.message, /ended inside a message/);
});

test('a client that compresses (grpc-encoding gzip) is read through grpc-js, every event acked', async (t) => {
  const { grpcPort, onTopic } = await gatewayOn(t);
  const client = ingestClient(grpcPort, undefined, { 'grpc.default_compression_algorithm': 2 });
  t.after(() => client.close());
  const call = client.PublishStream(bearer(keys.agency));
  const received: StreamResponse[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (m: StreamResponse) => received.push(m));
  call.on('error', () => {});
  const sent = events(30);
  sent.forEach((e, i) => call.write({ sequence: i + 1, event: toProtoCloudEvent(e) }));
  call.end();
  const status = await ended;
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.deepEqual(received.filter((m) => m.ack !== undefined).map((m) => m.ack?.sequence), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal((await onTopic()).length, 30);
});

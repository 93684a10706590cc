/**
 * The gateway against a real broker: what it accepts is on the topic exactly as sent (read back with kcat,
 * an independent client), an independent CloudEvents client can publish to it in both HTTP modes, nothing
 * it refuses reaches Kafka, and an unreachable Kafka gets a bounded 503.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { parseCloudEvent, toProtoCloudEvent, type DossierEvent } from '@iocbus/events';
import { startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import {
  bearer,
  callUnary,
  errorMatrix,
  ingestClient,
  sampleEvent,
  testKeys,
  type StreamResponse,
  type TestKeys,
} from '../../services/gateway/src/test-support.js';
import { kcatEvents, startGatewayOnKafka } from './support.js';

let broker: KafkaBroker;
let keys: TestKeys;

before(async () => {
  broker = await startKafka();
  keys = await testKeys();
  return async () => broker.stop();
});

function valid(overrides: Record<string, unknown> = {}): DossierEvent {
  const parsed = parseCloudEvent(sampleEvent(overrides));
  assert.ok(parsed.ok);
  return parsed.event;
}

const byId = (events: DossierEvent[]) => [...events].sort((a, b) => a.id.localeCompare(b.id));

test('HTTP (structured, binary, batch) and gRPC (Publish, PublishBatch, PublishStream) events land on the topic as sent', async (t) => {
  const topic = uniqueName('gw-ingest');
  const { url, grpcPort } = await startGatewayOnKafka(t, broker.brokers, topic, keys);
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { message: '/readyz to report Kafka reachable' });
  const sent: DossierEvent[] = [];
  const auth = { authorization: `Bearer ${keys.agency}` };

  const structured = valid();
  let res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { ...auth, 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(structured) });
  assert.equal(res.status, 202, await res.text());
  sent.push(structured);

  const binary = valid();
  res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: {
      ...auth,
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': binary.id,
      'ce-source': binary.source,
      'ce-type': binary.type,
      'ce-time': binary.time,
      'ce-subject': binary.subject,
    },
    body: JSON.stringify(binary.data),
  });
  assert.equal(res.status, 202, await res.text());
  sent.push(binary);

  const batch = Array.from({ length: 50 }, () => valid());
  res = await fetch(`${url}/v1/events:batch`, { method: 'POST', headers: { ...auth, 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch) });
  assert.equal(res.status, 202);
  assert.equal(((await res.json()) as { accepted: number }).accepted, 50);
  sent.push(...batch);

  const client = ingestClient(grpcPort);
  t.after(() => client.close());
  const one = valid();
  assert.equal((await callUnary(client.Publish, client, { event: toProtoCloudEvent(one) }, bearer(keys.agency))).result.status, 'EVENT_STATUS_ACCEPTED');
  sent.push(one);
  const grpcBatch = Array.from({ length: 20 }, () => valid());
  const batchRes = await callUnary(client.PublishBatch, client, { events: grpcBatch.map(toProtoCloudEvent) }, bearer(keys.agency));
  assert.ok(batchRes.results.every((r) => r.status === 'EVENT_STATUS_ACCEPTED'));
  sent.push(...grpcBatch);

  const streamed = Array.from({ length: 200 }, () => valid());
  const call = client.PublishStream(bearer(keys.agency));
  const acks: number[] = [];
  call.on('data', (m: StreamResponse) => m.ack && acks.push(m.ack.sequence));
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  streamed.forEach((e, i) => call.write({ sequence: i + 1, event: toProtoCloudEvent(e) }));
  call.end();
  assert.equal((await status).code, grpc.status.OK);
  assert.deepEqual(acks, streamed.map((_, i) => i + 1));
  sent.push(...streamed);

  const { records, events } = await kcatEvents(broker.brokers, topic);
  assert.equal(records.length, sent.length);
  assert.deepEqual(byId(events), byId(sent));
  for (const r of records) {
    assert.equal(r.headers.ce_specversion?.toString(), '1.0');
    assert.equal(r.key?.toString(), r.headers.ce_subject?.toString(), 'key = subject = dossier code');
  }
});

test('the cloudevents npm SDK publishes to the HTTP endpoint in binary and structured mode', async (t) => {
  const topic = uniqueName('gw-sdk');
  const { url } = await startGatewayOnKafka(t, broker.brokers, topic, keys);
  const sent: DossierEvent[] = [];
  for (const mode of [Mode.BINARY, Mode.STRUCTURED]) {
    const { specversion: _v, datacontenttype: _c, ...attributes } = sampleEvent();
    const event = new CloudEvent({ ...attributes, datacontenttype: 'application/json' } as ConstructorParameters<typeof CloudEvent>[0]);
    const emit = emitterFor(httpTransport(`${url}/v1/events`), { mode });
    const response = (await emit(event, { headers: { authorization: `Bearer ${keys.agency}` } })) as { body: string };
    const body = JSON.parse(response.body) as { results: { status: string }[] };
    assert.equal(body.results[0]?.status, 'accepted', `${mode}: ${response.body}`);
    const parsed = parseCloudEvent(JSON.parse(JSON.stringify(event)));
    assert.ok(parsed.ok);
    sent.push(parsed.event);
  }
  const { events } = await kcatEvents(broker.brokers, topic);
  assert.deepEqual(byId(events), byId(sent));
});

test('the error matrix over real HTTP: every refusal has its status and message, and the topic stays empty', async (t) => {
  const topic = uniqueName('gw-errors');
  const bodyLimitBytes = 64 * 1024;
  const { url } = await startGatewayOnKafka(t, broker.brokers, topic, keys, { http: { bodyLimitBytes } });
  const cases = errorMatrix(keys, bodyLimitBytes);
  for (const c of cases) {
    for (const r of c.before ?? []) await (await fetch(`${url}${r.url}`, { method: 'POST', headers: r.headers, body: r.body })).arrayBuffer();
    const res = await fetch(`${url}${c.request.url}`, { method: 'POST', headers: c.request.headers, body: c.request.body });
    const body = (await res.json()) as { error: { code: string; message: string; problems?: { path: string }[] } };
    assert.equal(res.status, c.status, `${c.name}: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, c.code, c.name);
    assert.match(body.error.message, c.message, c.name);
    const paths = (body.error.problems ?? []).map((p) => p.path);
    for (const path of c.paths ?? []) assert.ok(paths.includes(path), `${c.name}: ${path} not in ${paths}`);
  }
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
  const { events } = await kcatEvents(broker.brokers, topic);
  assert.deepEqual(events, []);
});

test('Kafka unreachable: 503 UNAVAILABLE within the produce timeout, readiness false, nothing acknowledged', async (t) => {
  const topic = uniqueName('gw-down');
  // A port where no broker listens: the bus cannot connect at all.
  const deadBrokers = ['127.0.0.1:1'];
  const { url, grpcPort } = await startGatewayOnKafka(t, deadBrokers, topic, keys, { kafka: { produceTimeoutMs: 1500 } }, { createTopic: false });
  const started = performance.now();
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.agency}`, 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify(sampleEvent()),
  });
  const elapsed = performance.now() - started;
  assert.equal(res.status, 503);
  assert.ok(res.headers.get('retry-after'));
  assert.ok(elapsed < 4000, `503 after ${elapsed} ms`);
  const client = ingestClient(grpcPort);
  t.after(() => client.close());
  await assert.rejects(
    callUnary(client.Publish, client, { event: toProtoCloudEvent(valid()) }, bearer(keys.agency)),
    (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE,
  );
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { kafka: string }).kafka, 'down');
});

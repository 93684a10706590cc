import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { createInProcessBus, type AppendedRecord, type BusRecord, type EventLog } from '@iocbus/bus';
import { fromKafkaRecord, parseCloudEvent } from '@iocbus/events';
import { promtoolFindings } from '@iocbus/telemetry';
import { buildTestGateway, errorMatrix, GatedLog, sampleEvent, SOURCE, testConfig, testKeys, type TestKeys } from './test-support.js';

const TOPIC = 'iocbus.dossier-events.v1';
const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

let keys: TestKeys;

async function setup(t: TestContext, eventLog?: EventLog, overrides: Parameters<typeof testConfig>[1] = {}) {
  keys ??= await testKeys();
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: TOPIC, partitions: 4 }]);
  const config = testConfig(TOPIC, { http: { bodyLimitBytes: 64 * 1024 }, ...overrides });
  const { gateway } = buildTestGateway(config, keys, eventLog ?? bus.log, async () => {
    await bus.admin.partitionCount(TOPIC);
  });
  t.after(() => gateway.close());
  const onTopic = async () => (await bus.source.readToEnd(TOPIC)).map((r) => fromKafkaRecord(r));
  const send = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    gateway.http.inject({
      method: 'POST',
      url,
      headers: { 'content-type': url.endsWith(':batch') ? BATCH : STRUCTURED, authorization: `Bearer ${keys.agency}`, ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { gateway, bus, onTopic, send };
}

test('a structured event is written once and decodes from the topic to exactly what was sent', async (t) => {
  const { send, onTopic } = await setup(t);
  const event = sampleEvent();
  const res = await send('/v1/events', event);
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(res.json(), {
    accepted: 1,
    duplicate: 0,
    rejected: 0,
    failed: 0,
    results: [{ id: event.id, source: SOURCE, status: 'accepted' }],
  });
  const onKafka = await onTopic();
  assert.equal(onKafka.length, 1);
  const expected = parseCloudEvent(event);
  assert.ok(expected.ok);
  assert.deepEqual(onKafka[0], expected.event);
});

test('binary mode: ce-* headers and a JSON body, percent-encoded values decoded', async (t) => {
  const { send, onTopic } = await setup(t);
  const event = sampleEvent({ source: '/agencies/H21.17/igate' });
  const res = await send('/v1/events', event.data, {
    'content-type': 'application/json; charset=utf-8',
    'ce-specversion': '1.0',
    'ce-id': String(event.id),
    'ce-source': '%2Fagencies%2FH21.17%2Figate',
    'ce-type': String(event.type),
    'ce-time': String(event.time),
    'ce-subject': String(event.subject),
    'ce-traceparent': '00-abc-def-01',
  });
  assert.equal(res.statusCode, 202, res.body);
  const [onKafka] = await onTopic();
  assert.equal(onKafka?.id, event.id);
  assert.equal(onKafka?.source, '/agencies/H21.17/igate');
  assert.deepEqual(onKafka?.data, event.data);
  assert.deepEqual(onKafka?.extensions, { traceparent: '00-abc-def-01' });
});

test('a batch answers per event: accepted, rejected with every problem at its path, duplicate', async (t) => {
  const { send, onTopic } = await setup(t);
  const first = sampleEvent();
  await send('/v1/events', first);
  const good = sampleEvent();
  const bad = sampleEvent({ time: 'yesterday' }, { channel: 'fax' });
  const res = await send('/v1/events:batch', [good, bad, first, good]);
  assert.equal(res.statusCode, 202, res.body);
  const body = res.json();
  assert.deepEqual(
    body.results.map((r: { status: string }) => r.status),
    ['accepted', 'rejected', 'duplicate', 'duplicate'],
  );
  assert.equal(body.accepted, 1);
  assert.equal(body.results[1].code, 'IOC_GATEWAY_VALIDATION');
  assert.deepEqual(
    body.results[1].problems.map((p: { path: string }) => p.path).sort(),
    ['$[1].data.channel', '$[1].time'],
  );
  const ids = (await onTopic()).map((e) => e.id).sort();
  assert.deepEqual(ids, [first.id, good.id].sort());
});

test('a batch body is read as it arrives: a slow, finely chunked body is parsed whole; bad bodies are answered as before', async (t) => {
  const { gateway, send, onTopic } = await setup(t);
  const { httpPort } = await gateway.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  // Non-ASCII text so that some chunk boundaries fall inside a multi-byte character.
  const events = Array.from({ length: 40 }, (_, i) => sampleEvent({}, { procedureCode: `thủ-tục-${i}` }));
  const bytes = Buffer.from(JSON.stringify(events, null, 1));
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: httpPort, method: 'POST', path: '/v1/events:batch', headers: { 'content-type': BATCH, 'content-length': bytes.length, authorization: `Bearer ${keys.agency}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    let at = 0;
    const pump = (): void => {
      if (at >= bytes.length) return void req.end();
      req.write(bytes.subarray(at, (at += 997)));
      setImmediate(pump);
    };
    pump();
  });
  assert.equal(answer.status, 202, answer.body);
  assert.equal(JSON.parse(answer.body).accepted, 40);
  assert.deepEqual((await onTopic()).map((e) => e.data.procedureCode).sort(), events.map((e) => (e.data as { procedureCode: string }).procedureCode).sort());

  const broken = '[{"specversion": "1.0"}, {"id": ';
  const malformed = await send('/v1/events:batch', broken);
  assert.equal(malformed.statusCode, 400);
  let reason = '';
  try {
    JSON.parse(broken);
  } catch (err) {
    reason = (err as Error).message;
  }
  assert.equal(malformed.json().error.code, 'IOC_GATEWAY_MALFORMED_JSON');
  assert.equal(malformed.json().error.message, `the body is not valid JSON: ${reason}`, 'JSON.parse’s own words, as for a single event');
  const oversize = await send('/v1/events:batch', [{ ...sampleEvent(), padding: 'x'.repeat(64 * 1024) }]);
  assert.equal(oversize.statusCode, 413);
  assert.equal(oversize.json().error.code, 'IOC_GATEWAY_BODY_TOO_LARGE');
  const notArray = await send('/v1/events:batch', sampleEvent());
  assert.equal(notArray.json().error.code, 'IOC_GATEWAY_INVALID_BATCH');
});

test('a resent event is reported duplicate and not written again', async (t) => {
  const { send, onTopic } = await setup(t);
  const event = sampleEvent();
  assert.equal((await send('/v1/events', event)).json().results[0].status, 'accepted');
  const again = await send('/v1/events', event);
  assert.equal(again.statusCode, 202);
  assert.equal(again.json().results[0].status, 'duplicate');
  assert.equal((await onTopic()).length, 1);
});

test('the same event twice in flight at once is written once', async (t) => {
  const { send, onTopic } = await setup(t);
  const event = sampleEvent();
  const answers = await Promise.all([send('/v1/events', event), send('/v1/events', event), send('/v1/events', event)]);
  assert.deepEqual(answers.map((a) => a.statusCode), [202, 202, 202]);
  assert.deepEqual(answers.map((a) => a.json().results[0].status).sort(), ['accepted', 'duplicate', 'duplicate']);
  assert.equal((await onTopic()).length, 1);
});

test('the error matrix: each refusal has its status, code and message, and nothing reaches the topic', async (t) => {
  const { gateway, onTopic } = await setup(t);
  for (const c of errorMatrix(keys, 64 * 1024)) {
    for (const r of c.before ?? []) await gateway.http.inject({ method: 'POST', url: r.url, headers: r.headers, payload: r.body });
    const res = await gateway.http.inject({ method: 'POST', url: c.request.url, headers: c.request.headers, payload: c.request.body });
    assert.equal(res.statusCode, c.status, `${c.name}: ${res.body}`);
    const body = res.json();
    assert.equal(body.error.code, c.code, c.name);
    assert.match(body.error.message, c.message, c.name);
    const paths: string[] = (body.error.problems ?? []).map((p: { path: string }) => p.path);
    for (const path of c.paths ?? []) assert.ok(paths.includes(path), `${c.name}: ${path} not in ${paths}`);
    if (c.status === 429) assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, c.name);
  }
  assert.deepEqual(await onTopic(), []);
});

test('unknown routes get 404 in the same error shape', async (t) => {
  const { gateway } = await setup(t);
  const res = await gateway.http.inject({ method: 'GET', url: '/v2/nothing' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().error.code, 'IOC_GATEWAY_NOT_FOUND');
});

/** An EventLog that never answers: Kafka unreachable, from the gateway's point of view. */
const silentLog: EventLog = {
  append: () => new Promise<AppendedRecord[]>(() => {}),
  close: async () => {},
};

test('when the log does not acknowledge, the answer is 503 with Retry-After within the produce timeout', async (t) => {
  const { send } = await setup(t, silentLog, { kafka: { produceTimeoutMs: 300 }, shutdown: { timeoutMs: 300 } });
  const started = performance.now();
  const res = await send('/v1/events:batch', [sampleEvent(), sampleEvent()]);
  const elapsed = performance.now() - started;
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.headers['retry-after'], '1');
  const body = res.json();
  assert.equal(body.error.code, 'IOC_GATEWAY_KAFKA_UNAVAILABLE');
  assert.equal(body.error.retriable, true);
  assert.deepEqual(body.results.map((r: { status: string }) => r.status), ['failed', 'failed']);
  assert.ok(elapsed >= 290 && elapsed < 2000, `answered after ${elapsed} ms`);
});

test('a 503 is not remembered as seen: the retry is written', async (t) => {
  keys ??= await testKeys();
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: TOPIC, partitions: 1 }]);
  let down = true;
  const flaky: EventLog = {
    append: (topic: string, records: readonly BusRecord[]) =>
      down ? Promise.reject(Object.assign(new Error('down'), { retriable: true })) : bus.log.append(topic, records),
    close: async () => {},
  };
  const { send, onTopic } = await setup(t, flaky);
  const event = sampleEvent();
  assert.equal((await send('/v1/events', event)).statusCode, 503);
  down = false;
  const retry = await send('/v1/events', event);
  assert.equal(retry.statusCode, 202);
  assert.equal(retry.json().results[0].status, 'accepted');
  void onTopic;
  assert.equal((await bus.source.readToEnd(TOPIC)).length, 1);
});

test('/healthz, /readyz follow the probe, /metrics exposes the gateway series', async (t) => {
  const { gateway, send } = await setup(t);
  assert.equal((await gateway.http.inject({ url: '/healthz' })).statusCode, 200);
  assert.equal((await gateway.http.inject({ url: '/readyz' })).statusCode, 503);
  await gateway.core.health.probeOnce();
  assert.equal((await gateway.http.inject({ url: '/readyz' })).statusCode, 200);
  await send('/v1/events', sampleEvent());
  await send('/v1/events', { nope: true });
  await send('/v1/events:batch', [sampleEvent()]);
  const metrics = await gateway.http.inject({ url: '/metrics' });
  assert.match(metrics.headers['content-type'] as string, /^text\/plain/);
  assert.match(metrics.body, /iocbus_gateway_events_total\{transport="http",result="accepted"\} 2/);
  assert.match(metrics.body, /iocbus_gateway_events_total\{transport="http",result="rejected"\} 1/);
  assert.match(metrics.body, /iocbus_gateway_request_duration_seconds_count\{transport="http",route="\/v1\/events",status="202"\} 1/);
  assert.match(metrics.body, /iocbus_gateway_request_duration_seconds_count\{transport="http",route="\/v1\/events:batch",status="202"\} 1/);
  assert.match(metrics.body, /iocbus_gateway_kafka_produce_duration_seconds_count\{outcome="acked"\} 2/);
  assert.match(metrics.body, /iocbus_gateway_kafka_batch_size_records_sum 2/);
  assert.match(metrics.body, /iocbus_gateway_in_flight_events 0/);
  assert.match(metrics.body, /iocbus_gateway_kafka_up_bool 1/);
  assert.deepEqual(promtoolFindings(metrics.body), []);
});

test('graceful close waits for a request already taken and answers it 202 once written, asking the client to reconnect', async (t) => {
  keys ??= await testKeys();
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: TOPIC, partitions: 1 }]);
  const gate = new GatedLog(bus.log);
  gate.gated = true;
  const { gateway, send } = await setup(t, gate);
  const taken = send('/v1/events', sampleEvent());
  while (gate.waiting === 0) await new Promise((r) => setTimeout(r, 5));
  let closedYet = false;
  const closed = gateway.close().then(() => (closedYet = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closedYet, false, 'close must wait for the request in flight');
  assert.equal(gateway.core.closing, true);
  gate.release();
  const answer = await taken;
  assert.equal(answer.statusCode, 202);
  assert.equal(answer.headers.connection, 'close');
  await closed;
  assert.equal((await bus.source.readToEnd(TOPIC)).length, 1);
});

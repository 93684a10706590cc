import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createInProcessBus, type EventLog } from '@iocbus/bus';
import { fromKafkaRecord, parseCloudEvent, toProtoCloudEvent, type DossierEvent } from '@iocbus/events';
import { protoPath as healthProtoPath, service as healthService } from 'grpc-health-check';
import {
  bearer,
  buildTestGateway,
  callUnary,
  GatedLog,
  ingestClient,
  sampleEvent,
  testConfig,
  testKeys,
  trailerProblems,
  type IngestClient,
  type StreamResponse,
  type TestKeys,
} from './test-support.js';

const TOPIC = 'iocbus.dossier-events.v1';
let keys: TestKeys;

function validEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): DossierEvent {
  const parsed = parseCloudEvent(sampleEvent(overrides, data));
  assert.ok(parsed.ok);
  return parsed.event;
}

async function setup(t: TestContext, options: { eventLog?: (inner: EventLog) => EventLog; config?: Parameters<typeof testConfig>[1] } = {}) {
  keys ??= await testKeys();
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: TOPIC, partitions: 4 }]);
  const eventLog = options.eventLog?.(bus.log) ?? bus.log;
  const { gateway } = buildTestGateway(testConfig(TOPIC, options.config), keys, eventLog, async () => {
    await bus.admin.partitionCount(TOPIC);
  });
  const { grpcPort } = await gateway.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  const client = ingestClient(grpcPort);
  t.after(async () => {
    client.close();
    await gateway.close();
  });
  const onTopic = async () => (await bus.source.readToEnd(TOPIC)).map((r) => fromKafkaRecord(r));
  return { gateway, client, grpcPort, onTopic, eventLog };
}

const publish = (client: IngestClient, event: unknown, key: string | null = keys.agency) =>
  callUnary(client.Publish, client, { event }, bearer(key ?? undefined));

test('Publish writes the event; it decodes from the topic to exactly what was sent', async (t) => {
  const { client, onTopic } = await setup(t);
  const event = validEvent();
  const res = await publish(client, toProtoCloudEvent(event));
  assert.deepEqual(res.result, { id: event.id, source: event.source, status: 'EVENT_STATUS_ACCEPTED', code: '' });
  assert.deepEqual(await onTopic(), [event]);
  const again = await publish(client, toProtoCloudEvent(event));
  assert.equal(again.result.status, 'EVENT_STATUS_DUPLICATE');
  assert.equal((await onTopic()).length, 1);
});

test('Publish refusals are gRPC statuses with the code, message and problems in trailers', async (t) => {
  const { client, onTopic } = await setup(t);
  const expectStatus = async (p: Promise<unknown>, code: grpc.status, iocCode: string, message: RegExp) => {
    const err = (await p.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    )) as grpc.ServiceError;
    assert.equal(err.code, code, err.details);
    assert.equal(err.metadata.get('iocbus-error-code')[0], iocCode);
    assert.match(err.details, message);
    return err;
  };
  const bad = { ...toProtoCloudEvent(validEvent()), time: '2025-07-01 08:00' };
  const invalid = await expectStatus(publish(client, bad), grpc.status.INVALID_ARGUMENT, 'IOC_GATEWAY_VALIDATION', /time/);
  assert.deepEqual(trailerProblems(invalid).map((p) => p.path), ['$.time']);
  await expectStatus(publish(client, toProtoCloudEvent(validEvent()), null), grpc.status.UNAUTHENTICATED, 'IOC_GATEWAY_UNAUTHENTICATED', /missing API key/);
  await expectStatus(publish(client, toProtoCloudEvent(validEvent()), 'agency.wrong'), grpc.status.UNAUTHENTICATED, 'IOC_GATEWAY_UNAUTHENTICATED', /invalid API key/);
  const denied = await expectStatus(
    publish(client, toProtoCloudEvent(validEvent({}, { unitCode: 'H21.99' }))),
    grpc.status.PERMISSION_DENIED,
    'IOC_GATEWAY_FORBIDDEN',
    /may not publish for unit "H21\.99"/,
  );
  assert.deepEqual(trailerProblems(denied).map((p) => p.path), ['$.data.unitCode']);
  for (let i = 0; i < 3; i++) await publish(client, {}, keys.slow).catch(() => undefined);
  const limited = await expectStatus(publish(client, toProtoCloudEvent(validEvent()), keys.slow), grpc.status.RESOURCE_EXHAUSTED, 'IOC_GATEWAY_RATE_LIMITED', /rate limit/);
  assert.ok(Number(limited.metadata.get('retry-after-ms')[0]) > 0);
  assert.deepEqual(await onTopic(), []);
});

test('PublishBatch answers per event in order and writes only the valid, permitted, new ones', async (t) => {
  const { client, onTopic } = await setup(t);
  const a = validEvent();
  const b = validEvent({}, { unitCode: 'H21.99' });
  const c = { ...toProtoCloudEvent(validEvent()), subject: 'X' };
  const res = await callUnary(client.PublishBatch, client, { events: [toProtoCloudEvent(a), toProtoCloudEvent(b), c, toProtoCloudEvent(a)] }, bearer(keys.agency));
  assert.deepEqual(
    res.results.map((r) => [r.status, r.code]),
    [
      ['EVENT_STATUS_ACCEPTED', ''],
      ['EVENT_STATUS_REJECTED', 'IOC_GATEWAY_FORBIDDEN'],
      ['EVENT_STATUS_REJECTED', 'IOC_GATEWAY_VALIDATION'],
      ['EVENT_STATUS_DUPLICATE', ''],
    ],
  );
  assert.equal(res.results[2]?.problems?.[0]?.path, '$.events[2].subject');
  assert.deepEqual(await onTopic(), [a]);
  await assert.rejects(callUnary(client.PublishBatch, client, { events: [] }, bearer(keys.agency)), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
});

function openStream(client: IngestClient, key = keys.agency) {
  const call = client.PublishStream(bearer(key));
  const received: StreamResponse[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (m: StreamResponse) => received.push(m));
  call.on('error', () => {});
  return { call, received, ended };
}

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) assert.fail('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('PublishStream: a grant first, then one ack per event in sequence order, then OK on half-close', async (t) => {
  const { client, onTopic } = await setup(t, { config: { grpc: { streamMaxInFlight: 50 } } });
  const { call, received, ended } = openStream(client);
  const events = Array.from({ length: 300 }, () => validEvent());
  events.forEach((event, i) => call.write({ sequence: i + 1, event: toProtoCloudEvent(event) }));
  call.write({ sequence: 301, event: { ...toProtoCloudEvent(validEvent()), type: 'nope' } });
  call.end();
  const status = await ended;
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.deepEqual(received[0]?.flowControl, { maxInFlight: 50, ackedThrough: 0, maxEventBytes: 4 * 1024 * 1024, retryAfterMs: 0 });
  const acks = received.filter((m) => m.ack !== undefined).map((m) => m.ack as NonNullable<StreamResponse['ack']>);
  assert.deepEqual(acks.map((a) => a.sequence), Array.from({ length: 301 }, (_, i) => i + 1));
  assert.ok(acks.slice(0, 300).every((a) => a.result.status === 'EVENT_STATUS_ACCEPTED'));
  assert.equal(acks[300]?.result.status, 'EVENT_STATUS_REJECTED');
  assert.equal((await onTopic()).length, 300);
});

test('PublishStream flow control: past the window the server stops reading until Kafka catches up', async (t) => {
  let gate!: GatedLog;
  const { grpcPort, gateway } = await setup(t, {
    eventLog: (inner) => (gate = new GatedLog(inner)),
    config: { grpc: { streamMaxInFlight: 20 } },
  });
  gate.gated = true;
  // With no retry buffer grpc-js completes a write only once HTTP/2 flow control let it out.
  const direct = ingestClient(grpcPort, undefined, { 'grpc.enable_retries': 0, 'grpc.per_rpc_retry_buffer_size': 0 });
  t.after(() => direct.close());
  const { call, received, ended } = openStream(direct);
  let written = 0;
  for (let i = 1; i <= 2000; i++) {
    call.write({ sequence: i, event: toProtoCloudEvent(validEvent()) }, () => written++);
  }
  await until(() => gate.waiting === 1);
  // Let the client push as much as the transport allows while the produce request is held.
  await new Promise((r) => setTimeout(r, 300));
  const metrics = (await gateway.http.inject({ url: '/metrics' })).body;
  const inFlight = Number(/iocbus_gateway_in_flight_events (\d+)/.exec(metrics)?.[1]);
  gate.release();
  assert.ok(inFlight <= 20, `the gateway took ${inFlight} events past a window of 20`);
  assert.ok(inFlight > 0, 'the gateway read nothing at all');
  assert.ok(written < 1000, `the client was not slowed down: ${written} of 2000 writes completed`);
  call.end();
  const status = await ended;
  assert.equal(status.code, grpc.status.OK, status.details);
  assert.equal(received.filter((m) => m.ack !== undefined).length, 2000);
});

test('PublishStream: a sequence gap ends the stream with INVALID_ARGUMENT after acking what came before', async (t) => {
  const { client } = await setup(t);
  const { call, received, ended } = openStream(client);
  call.write({ sequence: 1, event: toProtoCloudEvent(validEvent()) });
  await until(() => received.some((m) => m.ack?.sequence === 1));
  call.write({ sequence: 3, event: toProtoCloudEvent(validEvent()) });
  const status = await ended;
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.match(status.details, /expected sequence 2, got 3/);
});

test('PublishStream without a key is refused with UNAUTHENTICATED', async (t) => {
  const { client } = await setup(t);
  const { ended } = openStream(client, 'nobody.none');
  const status = await ended;
  assert.equal(status.code, grpc.status.UNAUTHENTICATED);
});

test('PublishStream over its rate is slowed by a zero grant, not failed', async (t) => {
  const { client } = await setup(t);
  const { call, received, ended } = openStream(client, keys.slow);
  for (let i = 1; i <= 5; i++) call.write({ sequence: i, event: toProtoCloudEvent(validEvent()) });
  call.end();
  const status = await ended;
  assert.equal(status.code, grpc.status.OK, status.details);
  const grants = received.filter((m) => m.flowControl !== undefined).map((m) => m.flowControl?.maxInFlight);
  assert.ok(grants.includes(0), `grants ${grants}`);
  assert.equal(received.filter((m) => m.ack !== undefined).length, 5);
});

test('grpc.health.v1 follows Kafka reachability; reflection lists the services', async (t) => {
  const { grpcPort, gateway } = await setup(t);
  const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const health = new Health(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check: (req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void;
  };
  t.after(() => health.close());
  await gateway.core.health.probeOnce();
  const res = await new Promise<{ status: string } | undefined>((resolve, reject) =>
    health.Check({ service: 'iocbus.ingest.v1.IngestService' }, (err, r) => (err ? reject(err) : resolve(r))),
  );
  assert.equal(res?.status, 'SERVING');

  const reflectionDefinition = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
    includeDirs: [new URL('../../../node_modules/@grpc/reflection/build/proto/', import.meta.url).pathname],
  });
  const Reflection = (grpc.loadPackageDefinition(reflectionDefinition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  }).grpc.reflection.v1.ServerReflection;
  const reflection = new Reflection(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, { listServicesResponse?: { service: { name: string }[] } }>;
  };
  t.after(() => reflection.close());
  const stream = reflection.ServerReflectionInfo();
  const answer = new Promise<string[]>((resolve) =>
    stream.on('data', (m: { listServicesResponse?: { service: { name: string }[] } }) =>
      resolve((m.listServicesResponse?.service ?? []).map((s) => s.name)),
    ),
  );
  stream.write({ listServices: '' });
  const services = await answer;
  stream.end();
  assert.ok(services.includes('iocbus.ingest.v1.IngestService'), String(services));
  assert.ok(services.includes('grpc.health.v1.Health'), String(services));
  void healthProtoPath;
});

test('PublishStream: accepted, rejected and duplicate acks of one batch keep their sequence order', async (t) => {
  const { client, onTopic } = await setup(t);
  const { call, received, ended } = openStream(client);
  const [a, b, c] = [validEvent(), validEvent(), validEvent()];
  const sent = [toProtoCloudEvent(a), toProtoCloudEvent(b), { ...toProtoCloudEvent(validEvent()), time: 'soon' }, toProtoCloudEvent(a), toProtoCloudEvent(c)];
  sent.forEach((event, i) => call.write({ sequence: i + 1, event }));
  call.end();
  const status = await ended;
  assert.equal(status.code, grpc.status.OK, status.details);
  const acks = received.filter((m) => m.ack !== undefined).map((m) => m.ack as NonNullable<StreamResponse['ack']>);
  assert.deepEqual(
    acks.map((x) => [x.sequence, x.result.status, x.result.id]),
    [
      [1, 'EVENT_STATUS_ACCEPTED', a.id],
      [2, 'EVENT_STATUS_ACCEPTED', b.id],
      [3, 'EVENT_STATUS_REJECTED', sent[2]?.id],
      [4, 'EVENT_STATUS_DUPLICATE', a.id],
      [5, 'EVENT_STATUS_ACCEPTED', c.id],
    ],
  );
  assert.equal((await onTopic()).length, 3);
});

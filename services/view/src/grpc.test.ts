/**
 * IndicatorService over a real gRPC server (in-process bus underneath), exercised by a client built from
 * the .proto with @grpc/grpc-js alone: snapshot, deltas, heartbeats, resume on another instance, reset.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createInProcessBus, type InProcessBus } from '@iocbus/bus';
import { INDICATORS } from '@iocbus/engine';
import { waitFor } from '@iocbus/testing';
import { service as healthService } from 'grpc-health-check';
import { decodeToken } from './token.js';
import {
  DAY,
  MINUTE,
  grpcClient,
  partial,
  partialRecord,
  partialsBus,
  progressRecord,
  protoKey,
  province,
  received,
  recordStream,
  startView,
  testConfig,
  unaryCall,
  unit,
  type IndicatorClient,
  type ProtoValue,
  type RecordedStream,
  type TestView,
} from './test-support.js';

const TOPIC = 'partials';

async function setup(t: TestContext, bus?: InProcessBus, config = testConfig()): Promise<{ bus: InProcessBus; v: TestView; client: IndicatorClient }> {
  const b = bus ?? (await partialsBus(TOPIC, 3));
  if (bus === undefined) {
    await b.log.append(TOPIC, [
      partialRecord(0, received('day', DAY, province, 10, 4)),
      partialRecord(1, received('day', DAY, province, 5, 1)),
      partialRecord(0, received('day', DAY, unit('H21.17'), 10, 4)),
      partialRecord(1, received('day', DAY, unit('H21.227'), 5, 1)),
      partialRecord(0, received('minute', MINUTE, province, 2)),
      partialRecord(0, partial('now', 0, province, { in_process: 7 })),
      progressRecord(0, 2, Date.now() - 3000, Date.now()),
      progressRecord(1, 2, Date.now() - 8000, Date.now()),
    ]);
  }
  const v = await startView(b.source, { config });
  const client = grpcClient(v.grpcPort);
  t.after(async () => {
    client.close();
    await v.close();
  });
  return { bus: b, v, client };
}

// The fixture's day (test-support NOW); the view runs on the real clock, so it is a past, closed window.
const DAY_LABEL = '2025-03-14';

const byKey = (values: ProtoValue[] | undefined): Map<string, ProtoValue> => new Map((values ?? []).map((v) => [protoKey(v), v]));

test('ListIndicators lists the catalog with units and windows', async (t) => {
  const { client } = await setup(t);
  const res = await unaryCall<{ indicators: { id: string; unit: string; windows: string[]; maxPoints?: number; rate?: boolean }[] }>(client, 'listIndicators', {});
  assert.deepEqual(res.indicators.map((d) => d.id), INDICATORS.map((d) => d.id));
  const tdgq = res.indicators.find((d) => d.id === 'qd766.tdgq_2_1');
  assert.equal(tdgq?.maxPoints, 20);
  assert.equal(tdgq?.unit, 'VALUE_UNIT_RATIO');
  assert.deepEqual(res.indicators.find((d) => d.id === 'in_process')?.windows, ['WINDOW_KIND_NOW']);
});

test('GetSnapshot filters by indicator, window kind and scope, merged across input partitions', async (t) => {
  const { client } = await setup(t);
  const res = await unaryCall<{ values: ProtoValue[]; watermark?: { seconds: number }; resumeToken: string }>(client, 'getSnapshot', {
    filter: { indicatorIds: ['received', 'online_share'], windows: ['WINDOW_KIND_TODAY'], scopes: [{ kind: 'SCOPE_KIND_PROVINCE' }, { kind: 'SCOPE_KIND_UNIT', keys: ['H21.227'] }] },
  });
  const values = byKey(res.values);
  assert.deepEqual([...values.keys()].sort(), [
    `online_share|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`,
    `online_share|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_UNIT:H21.227`,
    `received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`,
    `received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_UNIT:H21.227`,
  ]);
  assert.equal(values.get(`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`)?.value, 15);
  const share = values.get(`online_share|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`);
  assert.deepEqual([share?.numerator, share?.denominator], [5, 15]);
  const commune = values.get(`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_UNIT:H21.227`);
  assert.deepEqual([commune?.scope.unitGroup, commune?.scope.name], ['commune', 'UBND xã Phú Lộc']);
  assert.ok(res.resumeToken.length > 10);
  assert.ok(res.watermark !== undefined && Number(res.watermark.seconds) > 0);

  await assert.rejects(unaryCall(client, 'getSnapshot', { filter: { indicatorIds: ['nope'] } }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /nope/.test(e.details));
});

test('Subscribe: snapshot, then deltas as partials change, then heartbeats with the watermark', async (t) => {
  const { bus, client } = await setup(t);
  const s = recordStream(client, { filter: { indicatorIds: ['received'], scopes: [{ kind: 'SCOPE_KIND_PROVINCE' }] } });
  t.after(() => s.call.cancel());
  await waitFor(() => s.messages.length >= 1, { message: 'snapshot' });
  assert.equal(s.messages[0]?.kind, 'snapshot');
  assert.equal(s.state.get(`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`)?.value, 15);

  await bus.log.append(TOPIC, [partialRecord(1, received('day', DAY, province, 9, 1))]);
  await waitFor(() => s.messages.some((m) => m.kind === 'delta'), { message: 'delta' });
  const delta = s.messages.find((m) => m.kind === 'delta');
  assert.deepEqual(delta?.delta?.values?.map((v) => [protoKey(v), v.value]), [[`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`, 19]]);

  await waitFor(() => s.messages.some((m) => m.kind === 'heartbeat'), { message: 'heartbeat', timeoutMs: 3000 });
  const hb = s.messages.find((m) => m.kind === 'heartbeat');
  assert.ok(hb?.heartbeat?.watermark !== undefined);
  assert.ok(Math.abs(Number(hb.heartbeat.watermark.seconds) * 1000 - (Date.now() - 8000)) < 5000, 'the lowest watermark over input partitions');
  const position = (token: string | undefined) => {
    const d = decodeToken(token ?? '');
    return d === undefined ? undefined : { offsets: d.offsets, minute: d.minute };
  };
  assert.deepEqual(position(hb.resumeToken), position(delta?.resumeToken), 'nothing changed since the delta: same position');
  assert.ok(s.messages.every((m) => m.resumeToken.length > 0), 'every message carries a token');
});

async function lastToken(s: RecordedStream): Promise<string> {
  await waitFor(() => s.messages.length > 0, { message: 'a message' });
  return s.lastToken();
}

test('resume on a second view instance continues without a gap; a foreign token gets a reset', async (t) => {
  const { bus, client } = await setup(t);
  // A second instance over the same log (its own reader, same history id).
  const other = await setup(t, createInProcessBus({ broker: bus.broker }));
  const filter = { scopes: [{ kind: 'SCOPE_KIND_PROVINCE' }, { kind: 'SCOPE_KIND_UNIT' }] };
  const first = recordStream(client, { filter });
  await waitFor(() => first.messages.length > 0 && first.messages.at(-1)?.snapshot?.more !== true, { message: 'snapshot' });
  await bus.log.append(TOPIC, [partialRecord(0, received('day', DAY, unit('H21.17'), 11, 4))]);
  await waitFor(() => first.messages.some((m) => m.kind === 'delta'), { message: 'first delta' });
  const token = await lastToken(first);
  const clientState = new Map(first.state);
  first.call.cancel();

  // While the client is away: values change, a new scope appears, one input partition drops a partial.
  await bus.log.append(TOPIC, [
    partialRecord(1, received('day', DAY, province, 6, 6)),
    partialRecord(2, received('day', DAY, unit('H21.18'), 3)),
    { ...partialRecord(1, received('day', DAY, unit('H21.227'), 5, 1)), value: Buffer.alloc(0) },
  ]);
  const second = recordStream(other.client, { filter, resumeToken: token });
  t.after(() => second.call.cancel());
  await waitFor(() => second.messages.length > 0, { message: 'resume answer' });
  assert.equal(second.messages[0]?.kind, 'delta', 'resumed, not re-snapshotted');
  for (const v of second.messages[0]?.delta?.values ?? []) clientState.set(protoKey(v), v);
  for (const k of second.messages[0]?.delta?.removed ?? []) clientState.delete(protoKey(k));

  const truth = await unaryCall<{ values: ProtoValue[] }>(other.client, 'getSnapshot', { filter });
  const expected = byKey(truth.values);
  assert.deepEqual([...clientState.keys()].sort(), [...expected.keys()].sort());
  for (const [k, v] of expected) assert.deepEqual({ ...clientState.get(k), updatedAt: null }, { ...v, updatedAt: null }, k);
  assert.equal(expected.get(`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_PROVINCE:H21`)?.value, 16);
  assert.ok(expected.has(`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_UNIT:H21.18`));
  assert.ok(!expected.has(`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_UNIT:H21.227`));

  // An instance of another partials history (here: another history id) cannot resume it.
  const foreign = await setup(t, createInProcessBus({ broker: bus.broker }), testConfig({ resume: { historyId: 'boot-2' } }));
  const third = recordStream(foreign.client, { filter, resumeToken: token });
  t.after(() => third.call.cancel());
  await waitFor(() => third.messages.length >= 2, { message: 'reset and snapshot' });
  assert.equal(third.messages[0]?.kind, 'reset');
  assert.equal(third.messages[0]?.reset?.cause, 'RESET_CAUSE_OTHER_HISTORY');
  assert.equal(third.messages[1]?.kind, 'snapshot');
  assert.equal(third.state.size, expected.size);
});

test('a GetSnapshot token resumes into Subscribe without re-reading the snapshot', async (t) => {
  const { bus, client } = await setup(t);
  const filter = { indicatorIds: ['received'], windows: ['WINDOW_KIND_TODAY'] };
  const snap = await unaryCall<{ values: ProtoValue[]; resumeToken: string }>(client, 'getSnapshot', { filter });
  await bus.log.append(TOPIC, [partialRecord(2, received('day', DAY, unit('H21.18'), 4))]);
  await waitFor(async () => (await unaryCall<{ values: ProtoValue[] }>(client, 'getSnapshot', { filter })).values.length > snap.values.length, { message: 'applied' });
  const s = recordStream(client, { filter, resumeToken: snap.resumeToken });
  t.after(() => s.call.cancel());
  await waitFor(() => s.messages.length > 0, { message: 'answer' });
  assert.equal(s.messages[0]?.kind, 'delta');
  assert.deepEqual(
    (s.messages[0]?.delta?.values ?? []).map((v) => [protoKey(v), v.value]),
    [[`received|WINDOW_KIND_TODAY:${DAY_LABEL}|SCOPE_KIND_UNIT:H21.18`, 4]],
    'exactly what changed since the snapshot',
  );
});

test('grpc.health.v1 serves once loaded; reflection lists and describes IndicatorService', async (t) => {
  const { v } = await setup(t);
  const Health = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const health = new Health(`127.0.0.1:${v.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check: (req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void) => void;
  };
  t.after(() => health.close());
  const res = await new Promise<{ status: string } | undefined>((resolve, reject) =>
    health.Check({ service: 'iocbus.indicators.v1.IndicatorService' }, (err, r) => (err ? reject(err) : resolve(r))),
  );
  assert.equal(res?.status, 'SERVING');

  const reflectionDefinition = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', {
    includeDirs: [new URL('../../../node_modules/@grpc/reflection/build/proto/', import.meta.url).pathname],
  });
  const Reflection = (grpc.loadPackageDefinition(reflectionDefinition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  }).grpc.reflection.v1.ServerReflection;
  const reflection = new Reflection(`127.0.0.1:${v.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo: () => grpc.ClientDuplexStream<unknown, ReflectionAnswer>;
  };
  t.after(() => reflection.close());
  type ReflectionAnswer = { listServicesResponse?: { service: { name: string }[] }; fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } };
  const stream = reflection.ServerReflectionInfo();
  const answers: ReflectionAnswer[] = [];
  stream.on('data', (m: ReflectionAnswer) => answers.push(m));
  stream.write({ listServices: '' });
  stream.write({ fileContainingSymbol: 'iocbus.indicators.v1.IndicatorService' });
  await waitFor(() => answers.length === 2, { message: 'two reflection answers' });
  stream.end();
  const services = (answers[0]?.listServicesResponse?.service ?? []).map((s) => s.name);
  assert.ok(services.includes('iocbus.indicators.v1.IndicatorService'), String(services));
  assert.ok(services.includes('grpc.health.v1.Health'), String(services));
  const files = Buffer.concat(answers[1]?.fileDescriptorResponse?.fileDescriptorProto ?? []).toString('latin1');
  for (const name of ['Subscribe', 'GetSnapshot', 'ListIndicators', 'ResetCause']) assert.ok(files.includes(name), name);
});

test('a stalled subscriber is dropped with RST_STREAM and its client sees the stream end', async (t) => {
  const { bus, client, v } = await setup(t, undefined, testConfig({ subscribe: { heartbeatMs: 50, stallTimeoutMs: 300, maxBufferedBytes: 1024 } }));
  // Big values so the transport buffers fill: every unit scope, many windows.
  const records: ReturnType<typeof partialRecord>[] = [];
  for (let i = 0; i < 400; i++) records.push(partialRecord(0, received('day', DAY - (i % 30), unit(`H21.${1000 + i}`), i + 1)));
  await bus.log.append(TOPIC, records);
  const stalled = recordStream(client, { filter: {} });
  stalled.call.pause();
  const hub = v.view.hub!;
  for (let round = 0; round < 200 && hub.stats().blocked === 0; round++) {
    await bus.log.append(TOPIC, records.slice(0, 10).map((r, i) => partialRecord(0, received('day', DAY - (i % 30), unit(`H21.${1000 + i}`), round * 1000 + i))));
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(hub.stats().blocked, 1, 'the transport pushed back');
  // Updates keep coming while we wait, as they do live: a paused client's HTTP/2 window still absorbs small writes
  // (heartbeats), and each drain would restart the stall clock if nothing refilled the transport.
  let more = 0;
  await waitFor(
    async () => {
      if (hub.stats().subscribers === 0) return true;
      more++;
      await bus.log.append(TOPIC, records.slice(0, 10).map((r, i) => partialRecord(0, received('day', DAY - (i % 30), unit(`H21.${1000 + i}`), 500_000 + more * 1000 + i))));
      return false;
    },
    { message: 'stalled subscriber dropped', timeoutMs: 10_000, intervalMs: 50 },
  );
  stalled.call.resume();
  await waitFor(() => stalled.error !== undefined || stalled.ended, { message: 'client sees the stream end', timeoutMs: 5000 });
  const metrics = await (await fetch(`http://127.0.0.1:${v.httpPort}/metrics`)).text();
  assert.match(metrics, /iocbus_view_streams_ended_total\{transport="grpc",reason="stalled"\} 1/);
  assert.equal(stalled.error?.code, grpc.status.CANCELLED);
});

/**
 * The HTTP edge over a real socket: JSON snapshot, SSE with the Subscribe semantics (snapshot, deltas,
 * heartbeats, Last-Event-ID resume on another instance), /metrics with indicator gauges, probes.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { createInProcessBus, type InProcessBus } from '@iocbus/bus';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import { waitFor } from '@iocbus/testing';
import { createView } from './view.js';
import type { JsonValue } from './messages.js';
import {
  DAY,
  ManualClock,
  NOW,
  partial,
  partialRecord,
  partialsBus,
  progressRecord,
  province,
  readSse,
  received,
  startView,
  testCatalog,
  testConfig,
  unit,
  type SseStream,
  type TestView,
} from './test-support.js';

const TOPIC = 'partials';

async function setup(t: TestContext, bus?: InProcessBus, clock = new ManualClock()): Promise<{ bus: InProcessBus; v: TestView; base: string; clock: ManualClock }> {
  const b = bus ?? (await partialsBus(TOPIC, 2));
  if (bus === undefined) {
    await b.log.append(TOPIC, [
      partialRecord(0, received('day', DAY, province, 10, 4)),
      partialRecord(1, received('day', DAY, province, 5, 1)),
      partialRecord(0, received('day', DAY, unit('H21.17'), 10, 4)),
      partialRecord(1, received('day', DAY, unit('H21.227'), 5, 1)),
      partialRecord(0, partial('now', 0, province, { in_process: 7, in_process_overdue: 2 })),
      partialRecord(0, partial('now', 0, unit('H21.227'), { in_process: 3, in_process_overdue: 1 })),
      partialRecord(1, partial('now', 0, unit('H21.17'), { in_process: 4, in_process_overdue: 1 })),
      progressRecord(0, 2, NOW - 60_000, NOW - 1000),
    ]);
  }
  const v = await startView(b.source, { clock });
  t.after(() => v.close());
  return { bus: b, v, base: `http://127.0.0.1:${v.httpPort}`, clock };
}

interface Snapshot {
  values: JsonValue[];
  watermark: string | null;
  resumeToken: string;
  serverTime: string;
}

const key = (v: { indicator: string; window: { kind: string; label: string }; scope: { kind: string; code: string } }): string =>
  `${v.indicator}|${v.window.kind}:${v.window.label}|${v.scope.kind}:${v.scope.code}`;

test('GET /v1/indicators answers the JSON snapshot, filtered by window, scope and indicator', async (t) => {
  const { base } = await setup(t);
  const res = await fetch(`${base}/v1/indicators?window=today&scope=province,unit:H21.227&indicator=received,online_share&current=true`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as Snapshot;
  assert.deepEqual(body.values.map(key).sort(), [
    'online_share|day:2025-03-14|province:H21',
    'online_share|day:2025-03-14|unit:H21.227',
    'received|day:2025-03-14|province:H21',
    'received|day:2025-03-14|unit:H21.227',
  ]);
  const v = body.values.find((x) => key(x) === 'online_share|day:2025-03-14|province:H21');
  assert.deepEqual(v, {
    indicator: 'online_share',
    window: { kind: 'day', label: '2025-03-14', start: '2025-03-13T17:00:00.000Z', end: '2025-03-14T17:00:00.000Z', current: true },
    scope: { kind: 'province', code: 'H21', name: 'Test province' },
    value: 5 / 15,
    numerator: 5,
    denominator: 15,
    eventCount: 15,
    open: true,
    revised: false,
    updatedAt: new Date(NOW).toISOString(),
  });
  assert.equal(body.watermark, new Date(NOW - 60_000).toISOString());
  assert.ok(body.resumeToken.length > 10);

  const bad = await fetch(`${base}/v1/indicators?window=week`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'IOC_VIEW_INVALID_FILTER');
  assert.equal((await fetch(`${base}/`)).status, 404, '/ is left for the wall screen');
});

async function events(s: SseStream, n: number, what: string): Promise<void> {
  await waitFor(() => s.events.length >= n, { message: what, timeoutMs: 5000 });
}

test('GET /v1/indicators:stream: snapshot, deltas, heartbeats; every event has an id', async (t) => {
  const { bus, v, clock } = await setup(t);
  const s = readSse(v.httpPort, '/v1/indicators:stream?indicator=received&scope=province');
  t.after(() => s.close());
  await events(s, 1, 'snapshot');
  assert.equal(s.response?.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(s.events[0]?.event, 'snapshot');
  const snap = s.events[0]?.data as { values: JsonValue[]; more: boolean };
  assert.equal(snap.more, false);
  assert.deepEqual(snap.values.map((x) => [key(x), x.value]).sort(), [['received|day:2025-03-14|province:H21', 15]]);

  await bus.log.append(TOPIC, [partialRecord(1, received('day', DAY, province, 8, 1))]);
  await events(s, 2, 'delta');
  assert.equal(s.events[1]?.event, 'delta');
  assert.deepEqual((s.events[1]?.data as { values: JsonValue[] }).values.map((x) => x.value), [18]);

  clock.advance(1000);
  await events(s, 3, 'heartbeat');
  assert.equal(s.events[2]?.event, 'heartbeat');
  assert.equal((s.events[2]?.data as { watermark: string }).watermark, new Date(NOW - 60_000).toISOString());
  assert.ok(s.events.every((e) => e.id !== undefined && e.id.length > 10));
});

/** The raw bytes of one HTTP request on a socket, until `done` says they are enough. */
async function rawStream(port: number, request: string, done: (bytes: Buffer) => boolean): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  const parts: Buffer[] = [];
  socket.on('data', (b: Buffer) => parts.push(b));
  socket.write(request);
  try {
    await waitFor(() => done(Buffer.concat(parts)), { message: 'raw stream bytes', timeoutMs: 5000 });
    return Buffer.concat(parts);
  } finally {
    socket.destroy();
  }
}

/** Decodes an HTTP/1.1 chunked body; returns the chunks. */
function chunksOf(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const nl = body.indexOf('\r\n', i);
    assert.ok(nl > i, `chunk size line at ${i}`);
    const size = Number.parseInt(body.toString('latin1', i, nl), 16);
    assert.ok(Number.isInteger(size), `chunk size at ${i}`);
    if (size === 0 || nl + 2 + size + 2 > body.length) return out;
    out.push(body.subarray(nl + 2, nl + 2 + size));
    assert.equal(body.toString('latin1', nl + 2 + size, nl + 4 + size), '\r\n', 'chunk ends in CRLF');
    i = nl + 4 + size;
    if (i === body.length) return out;
  }
}

test('SSE on the wire: HTTP/1.1 gets one chunk per event, the same bytes on every stream; HTTP/1.0 an unframed body', async (t) => {
  const { bus, v } = await setup(t);
  const path = '/v1/indicators:stream?indicator=received&scope=province';
  const events = (body: Buffer): string[] => body.toString('utf8').split('\n\n').filter((b) => b.includes('\nevent: '));
  const headEnd = (b: Buffer): number => b.indexOf('\r\n\r\n') + 4;
  const streams = [1, 2].map(() =>
    rawStream(v.httpPort, `GET ${path} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n`, (b) => {
      const head = headEnd(b);
      return head > 3 && events(Buffer.concat(chunksOf(b.subarray(head)))).length >= 2;
    }),
  );
  const old = rawStream(v.httpPort, `GET ${path} HTTP/1.0\r\naccept: text/event-stream\r\n\r\n`, (b) => headEnd(b) > 3 && events(b.subarray(headEnd(b))).length >= 2);
  // Every stream has its snapshot before the update, so each gets the same delta.
  await waitFor(() => v.view.hub?.stats().subscribers === 3, { message: 'three streams', timeoutMs: 5000 });
  await bus.log.append(TOPIC, [partialRecord(1, received('day', DAY, province, 8, 1))]);

  const bodies = await Promise.all(streams);
  const chunked = bodies.map((b) => {
    assert.match(b.toString('latin1', 0, headEnd(b)), /^HTTP\/1\.1 200 [^]*\r\ntransfer-encoding: chunked\r\n/i);
    return chunksOf(b.subarray(headEnd(b)));
  });
  for (const chunks of chunked) {
    assert.equal(chunks[0]?.toString(), 'retry: 1000\n\n');
    // Snapshot, then delta: each a whole event in one chunk.
    assert.deepEqual(chunks.slice(1, 3).map((c) => /^id: \S+\nevent: (\w+)\ndata: \{.*\}\n\n$/.exec(c.toString())?.[1]), ['snapshot', 'delta']);
  }
  assert.deepEqual(chunked[0]?.[2], chunked[1]?.[2], 'the same delta bytes on both streams');
  assert.match(chunked[0]?.[2]?.toString() ?? '', /"value":18,/);

  const raw = await old;
  const head = raw.toString('latin1', 0, headEnd(raw));
  assert.match(head, /^HTTP\/1\.1 200 /);
  assert.doesNotMatch(head, /transfer-encoding/i);
  const unframed = raw.subarray(headEnd(raw)).toString('utf8');
  assert.ok(unframed.startsWith('retry: 1000\n\nid: '), unframed.slice(0, 40));
  assert.ok(unframed.includes(`event: delta\ndata: ${(chunked[0]?.[2]?.toString() ?? '').split('\ndata: ')[1]}`), 'the same delta, without chunk framing');
});

test('Last-Event-ID resumes on another instance without a gap; an unknown id resets', async (t) => {
  const { bus, v } = await setup(t);
  const path = '/v1/indicators:stream?scope=unit';
  const first = readSse(v.httpPort, path);
  await events(first, 1, 'snapshot');
  const state = new Map<string, number | null>();
  for (const x of (first.events[0]?.data as { values: JsonValue[] }).values) state.set(key(x), x.value);
  const lastId = first.events.at(-1)?.id as string;
  first.close();

  await bus.log.append(TOPIC, [
    partialRecord(0, received('day', DAY, unit('H21.17'), 12, 4)),
    partialRecord(1, received('day', DAY, unit('H21.18'), 2)),
    partialRecord(1, partial('now', 0, unit('H21.17'), { in_process: 9, in_process_overdue: 0 })),
  ]);
  const other = await setup(t, createInProcessBus({ broker: bus.broker }));
  const resumed = readSse(other.v.httpPort, path, { 'last-event-id': lastId });
  t.after(() => resumed.close());
  await events(resumed, 1, 'resume answer');
  assert.equal(resumed.events[0]?.event, 'delta');
  const delta = resumed.events[0]?.data as { values: JsonValue[]; removed: { indicator: string }[] };
  for (const x of delta.values) state.set(key(x), x.value);
  const truth = (await (await fetch(`${other.base}/v1/indicators?scope=unit`)).json()) as Snapshot;
  assert.deepEqual(new Map(truth.values.map((x) => [key(x), x.value])), state);
  assert.equal(state.get('received|day:2025-03-14|unit:H21.17'), 12);
  assert.equal(state.get('in_process_overdue|now:now|unit:H21.17'), 0);

  const reset = readSse(other.v.httpPort, `${path}&lastEventId=garbage`);
  t.after(() => reset.close());
  await events(reset, 2, 'reset and snapshot');
  assert.deepEqual([reset.events[0]?.event, reset.events[1]?.event], ['reset', 'snapshot']);
  assert.equal((reset.events[0]?.data as { cause: string }).cause, 'token_invalid');
});

test('/metrics exports operational series and province / unit-group indicator gauges', async (t) => {
  const { base } = await setup(t);
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /iocbus_view_ready_bool 1/);
  assert.match(text, /iocbus_view_partial_records_total\{kind="partial"\} 7/);
  assert.match(text, /iocbus_view_indicator_value\{indicator="received",window="day",scope="province",group=""\} 15/);
  assert.match(text, /iocbus_view_indicator_value\{indicator="in_process_overdue",window="now",scope="unit_group",group="department"\} 1/);
  assert.match(text, /iocbus_view_indicator_value\{indicator="in_process",window="now",scope="unit_group",group="commune"\} 3/);
  assert.match(text, /iocbus_view_indicator_value\{indicator="received",window="day",scope="unit_group",group="commune"\} 5/);
  assert.match(text, /iocbus_view_watermark_lag_seconds 60/);
  const series = text.split('\n').filter((l) => l.startsWith('iocbus_view_indicator_value{'));
  assert.ok(!series.some((l) => l.includes('H21.')), 'no per-unit indicator series');
  assert.ok(series.length > 20 && series.length < 500, `${series.length} bounded series`);
});

test('probes: healthz always, readyz and the APIs only once the initial partials are loaded', async (t) => {
  const bus = await partialsBus(TOPIC, 1);
  const config = testConfig();
  const view = createView({ config, source: bus.source, catalog: testCatalog, logger: createLogger({ service: 'view', level: 'silent' }), registry: createRegistry({ defaultMetrics: false }) });
  t.after(() => view.close());
  const { httpPort } = await view.listen();
  const base = `http://127.0.0.1:${httpPort}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  const early = await fetch(`${base}/v1/indicators`);
  assert.equal(early.status, 503);
  assert.equal(((await early.json()) as { error: { code: string } }).error.code, 'IOC_VIEW_NOT_READY');
  await view.start();
  await view.ready;
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  assert.equal((await fetch(`${base}/v1/indicators`)).status, 200);
});

test('routes registered through the factory serve next to the API (the wall screen at /)', async (t) => {
  const bus = await partialsBus(TOPIC, 1);
  const view = createView({
    config: testConfig(),
    source: bus.source,
    catalog: testCatalog,
    logger: createLogger({ service: 'view', level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
    routes: (app) => {
      app.get('/', async (_req, reply) => reply.type('text/html').send('<h1>IOC</h1>'));
    },
  });
  t.after(() => view.close());
  const { httpPort } = await view.listen();
  const res = await fetch(`http://127.0.0.1:${httpPort}/`);
  assert.equal(await res.text(), '<h1>IOC</h1>');
});

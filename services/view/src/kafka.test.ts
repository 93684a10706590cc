/**
 * The view over a real Kafka broker: partials records produced to a compacted topic, two view instances
 * reading it (no consumer group), a client resuming on the other instance with the first one's token.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type KafkaBus } from '@iocbus/bus';
import { startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import {
  DAY,
  grpcClient,
  partial,
  partialRecord,
  progressRecord,
  protoKey,
  province,
  received,
  recordStream,
  startView,
  testConfig,
  unaryCall,
  unit,
  readSse,
  type ProtoValue,
  type TestView,
} from './test-support.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

let broker: KafkaBroker;
before(async () => {
  broker = await startKafka();
});
after(() => broker?.stop());

function bus(t: TestContext): KafkaBus {
  const b = createKafkaBus({ brokers: broker.brokers, clientId: uniqueName('view-test'), clientLogLevel: 'error', consumer: { maxWaitTimeMs: 100 } });
  t.after(() => b.close());
  return b;
}

async function view(t: TestContext, topic: string): Promise<TestView> {
  const v = await startView(bus(t).source, { config: testConfig({ partials: { topic } }) });
  t.after(() => v.close());
  return v;
}

test('over Kafka: loads what the compacted topic holds, follows it, and resumes across instances without a gap', async (t) => {
  const topic = uniqueName('view-partials');
  const producer = bus(t);
  await producer.admin.ensureTopics([{ name: topic, partitions: 3, config: { 'cleanup.policy': 'compact' } }]);
  await producer.log.append(topic, [
    partialRecord(0, received('day', DAY, province, 10, 4)),
    partialRecord(1, received('day', DAY, province, 5, 1)),
    partialRecord(2, received('day', DAY, unit('H21.17'), 3)),
    partialRecord(0, partial('now', 0, province, { in_process: 7 })),
    progressRecord(0, 3, Date.now() - 2000, Date.now()),
  ]);

  const a = await view(t, topic);
  const b = await view(t, topic);
  const filter = { indicatorIds: ['received', 'in_process'], scopes: [{ kind: 'SCOPE_KIND_PROVINCE' }, { kind: 'SCOPE_KIND_UNIT' }] };
  const clientA = grpcClient(a.grpcPort);
  const clientB = grpcClient(b.grpcPort);
  t.after(() => {
    clientA.close();
    clientB.close();
  });

  const s = recordStream(clientA, { filter });
  await waitFor(() => s.messages.length > 0, { message: 'snapshot from A' });
  assert.equal(s.messages[0]?.kind, 'snapshot');
  assert.equal(s.state.get('received|WINDOW_KIND_TODAY:2025-03-14|SCOPE_KIND_PROVINCE:H21')?.value, 15);
  assert.equal(s.state.get('in_process|WINDOW_KIND_NOW:now|SCOPE_KIND_PROVINCE:H21')?.value, 7);

  const sent = Date.now();
  await producer.log.append(topic, [partialRecord(1, received('day', DAY, province, 9, 2))]);
  await waitFor(() => s.state.get('received|WINDOW_KIND_TODAY:2025-03-14|SCOPE_KIND_PROVINCE:H21')?.value === 19, { message: 'delta from A' });
  const latencyMs = Date.now() - sent;
  assert.ok(latencyMs < 2000, `produce → delta took ${latencyMs} ms`);
  const token = s.lastToken();
  const held = new Map(s.state);
  s.call.cancel();

  await producer.log.append(topic, [
    partialRecord(0, received('day', DAY, unit('H21.227'), 4, 4)),
    partialRecord(2, received('day', DAY, unit('H21.17'), 6)),
    partialRecord(0, partial('now', 0, province, { in_process: 5 })),
  ]);
  // B must have read those too before the comparison; its snapshot says when.
  await waitFor(
    async () => {
      const r = await unaryCall<{ values: ProtoValue[] }>(clientB, 'getSnapshot', { filter });
      return r.values.some((v) => v.scope.key === 'H21.227');
    },
    { message: 'B applied the new records' },
  );
  const resumed = recordStream(clientB, { filter, resumeToken: token });
  t.after(() => resumed.call.cancel());
  await waitFor(() => resumed.messages.length > 0, { message: 'resume answer from B' });
  assert.equal(resumed.messages[0]?.kind, 'delta');
  for (const v of resumed.messages[0]?.delta?.values ?? []) held.set(protoKey(v), v);
  for (const k of resumed.messages[0]?.delta?.removed ?? []) held.delete(protoKey(k));
  const truth = await unaryCall<{ values: ProtoValue[] }>(clientB, 'getSnapshot', { filter });
  assert.deepEqual(
    [...held.entries()].map(([k, v]) => [k, v.value]).sort(),
    truth.values.map((v) => [protoKey(v), v.value]).sort(),
  );
  assert.equal(held.get('in_process|WINDOW_KIND_NOW:now|SCOPE_KIND_PROVINCE:H21')?.value, 5);
  assert.equal(held.get('received|WINDOW_KIND_TODAY:2025-03-14|SCOPE_KIND_UNIT:H21.227')?.value, 4);

  // Still live on B after the resume.
  await producer.log.append(topic, [partialRecord(2, received('day', DAY, unit('H21.17'), 8))]);
  await waitFor(() => resumed.state.get('received|WINDOW_KIND_TODAY:2025-03-14|SCOPE_KIND_UNIT:H21.17')?.value === 8, { message: 'live delta on B' });
});

test('main.ts: waits for the partials topic, serves once loaded, and SIGTERM ends streams and exits 0', async (t) => {
  const topic = uniqueName('view-main');
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      KAFKA_BROKERS: broker.brokers.join(','),
      IOCBUS_VIEW__PARTIALS__TOPIC: topic,
      IOCBUS_VIEW__HTTP__PORT: '0',
      IOCBUS_VIEW__HTTP__HOST: '127.0.0.1',
      IOCBUS_VIEW__GRPC__PORT: '0',
      IOCBUS_VIEW__GRPC__HOST: '127.0.0.1',
      IOCBUS_VIEW__KAFKA__TOPIC_RETRY_MS: '200',
      IOCBUS_VIEW__LOG__LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  const listening = await waitFor(() => lines.find((l) => l.msg === 'listening'), { message: 'listening log line', timeoutMs: 30_000 });
  const base = `http://127.0.0.1:${listening.httpPort as number}`;
  assert.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready while the topic does not exist');

  const producer = bus(t);
  await producer.admin.ensureTopics([{ name: topic, partitions: 2, config: { 'cleanup.policy': 'compact' } }]);
  await producer.log.append(topic, [partialRecord(0, received('day', DAY, province, 3))]);
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { message: 'ready once loaded', timeoutMs: 30_000 });
  const snap = (await (await fetch(`${base}/v1/indicators?indicator=received&scope=province`)).json()) as { values: { value: number }[] };
  assert.deepEqual(snap.values.map((v) => v.value), [3]);

  const sse = readSse(listening.httpPort as number, '/v1/indicators:stream?indicator=received&scope=province');
  await waitFor(() => sse.events.length > 0, { message: 'SSE snapshot', timeoutMs: 30_000 });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  await waitFor(() => sse.ended, { message: 'the SSE stream ended with the process', timeoutMs: 30_000 });
  assert.ok(lines.some((l) => l.msg === 'stopped'));
});

test('main.ts reports every configuration problem at once and exits 2 before opening a socket', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, KAFKA_BROKERS: '', IOCBUS_VIEW__HTTP__PORT: 'eighty', IOCBUS_VIEW__SUBSCRIBE__HEARTBEAT: '5', IOCBUS_VIEW__RESUME__MAX_TOKEN_AGE_MS: '-1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /http\.port/);
  assert.match(r.stderr, /IOCBUS_VIEW__SUBSCRIBE__HEARTBEAT: not a known setting of subscribe/);
  assert.match(r.stderr, /resume\.maxTokenAgeMs/);
});

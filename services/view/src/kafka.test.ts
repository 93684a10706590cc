/**
 * The view over a real Kafka broker: partials records produced to a compacted topic, two view instances
 * reading it (no consumer group), a client resuming on the other instance with the first one's token.
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
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
  type ProtoValue,
  type TestView,
} from './test-support.js';

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

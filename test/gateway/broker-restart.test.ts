/**
 * SPEC §1: "nothing is acknowledged that Kafka did not acknowledge". A dedicated broker (not the shared one:
 * it gets killed) is SIGKILLed under HTTP load and started again. Every request gets an answer, every event
 * answered 202 is on the topic afterwards (counted with kcat), and the gateway recovers by itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kcatConsume, startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { testKeys } from '../../services/gateway/src/test-support.js';
import { restartable } from './broker-process.js';
import { startLoad } from './load.js';
import { startGatewayOnKafka } from './support.js';

test('broker killed under load and started again: every 202 event is on the topic, and the gateway recovers', { timeout: 240_000 }, async (t) => {
  const broker = await startKafka({ sources: ['jars'] });
  const control = await restartable(broker);
  t.after(async () => {
    await control.cleanup();
    await broker.stop();
  });
  const keys = await testKeys();
  const topic = uniqueName('gw-restart');
  const { url } = await startGatewayOnKafka(t, broker.brokers, topic, keys, { kafka: { produceTimeoutMs: 2000, probeIntervalMs: 250 } });
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { message: 'gateway ready' });

  const load = startLoad({ url, key: keys.admin, clients: 4, batch: 20, maxRequests: 50_000 });
  await waitFor(() => load.accepted >= 50, { timeoutMs: 30_000, message: '50 accepted requests before the kill' });
  await control.kill();
  const acceptedAtKill = load.accepted;
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, { timeoutMs: 15_000, message: 'readiness to drop' });
  const answeredWhileDown = load.answered;
  await waitFor(() => load.answered >= answeredWhileDown + 8, { timeoutMs: 30_000, message: 'requests answered while Kafka is down' });

  await control.start();
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 120_000, intervalMs: 250, message: 'readiness to return' });
  const acceptedAfterRestart = load.accepted;
  await waitFor(() => load.accepted >= acceptedAfterRestart + 20, { timeoutMs: 60_000, message: 'new 202s after the restart' });
  const result = await load.stop();

  const statuses = Object.fromEntries(result.statuses);
  t.diagnostic(`requests ${result.requests}, statuses ${JSON.stringify(statuses)}, accepted at kill ${acceptedAtKill}`);
  assert.ok((result.statuses.get('503') ?? 0) > 0, 'some requests were refused while Kafka was down');
  assert.equal([...result.statuses.keys()].filter((s) => !['202', '503'].includes(s)).length, 0, `unexpected answers: ${JSON.stringify(statuses)}`);

  const onTopic = new Set((await kcatConsume({ brokers: broker.brokers, topic, timeoutMs: 120_000 })).map((r) => r.headers.ce_id?.toString()));
  const missing = [...result.acknowledged].filter((id) => !onTopic.has(id));
  t.diagnostic(`acknowledged ${result.acknowledged.size}, on the topic ${onTopic.size}, refused ${result.unacknowledged.size}`);
  assert.deepEqual(missing, [], `${missing.length} acknowledged events are missing from the topic`);
  assert.ok(result.acknowledged.size > 0);
});

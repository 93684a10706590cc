/**
 * Produce requests sized per partition against a real broker. Kafka applies a topic's max.message.bytes to each
 * partition's record batch, not to the request: the gateway's batch.maxBytes counts bytes per partition (by the
 * bus's partitioner), so a request may carry that much for every partition, and a batch whose keys all land on
 * one partition is split instead of refused. A partition batch over the limit (gateway misconfigured above the
 * topic's limit) is refused by the broker (MESSAGE_TOO_LARGE) and the gateway answers a failure for the whole
 * request: never a 202 for an event that is not on the topic.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { partitionForKey, type AppendedRecord, type BusRecord, type EventLog } from '@iocbus/bus';
import { startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import { recordBytes } from '../../services/gateway/src/batcher.js';
import { sampleEvent, testKeys, type TestKeys } from '../../services/gateway/src/test-support.js';
import { kcatEvents, startGatewayOnKafka } from './support.js';

const PARTITIONS = 3;
const MAX_MESSAGE_BYTES = 100_000;

let broker: KafkaBroker;
let keys: TestKeys;

before(async () => {
  broker = await startKafka();
  keys = await testKeys();
  return async () => broker.stop();
});

/** Sample events whose key (the subject) lands on `partition`. */
function eventsOn(partition: number, count: number): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  while (events.length < count) {
    const event = sampleEvent();
    if (partitionForKey(event.subject as string, PARTITIONS) === partition) events.push(event);
  }
  return events;
}

/** Keeps the records of every produce request the gateway makes. */
function watch(requests: (readonly BusRecord[])[]): (log: EventLog) => EventLog {
  return (log) => ({
    append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]> {
      requests.push(records);
      return log.append(topic, records);
    },
    knownPartitionCount: (topic: string) => log.knownPartitionCount?.(topic),
    close: () => log.close(),
  });
}

async function post(url: string, events: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/events:batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
  });
}

async function start(t: Parameters<typeof startGatewayOnKafka>[0], maxBytes: number, requests: (readonly BusRecord[])[]) {
  const topic = uniqueName('gw-produce-size');
  const gw = await startGatewayOnKafka(
    t,
    broker.brokers,
    topic,
    keys,
    // A long linger: the whole HTTP batch is queued before the first request leaves.
    { batch: { maxBytes, maxRequestBytes: 4 * MAX_MESSAGE_BYTES, lingerMs: 50 }, limits: { maxBatchEvents: 1000 } },
    { partitions: PARTITIONS, topicConfig: { 'max.message.bytes': String(MAX_MESSAGE_BYTES) }, wrapLog: watch(requests) },
  );
  await waitFor(async () => (await fetch(`${gw.url}/readyz`)).status === 200, { message: '/readyz to report Kafka reachable' });
  // One event first, so that the event log knows the topic's partition count (before its first append it does not,
  // and the batcher then holds the whole request to maxBytes).
  assert.equal((await post(gw.url, [sampleEvent()])).status, 202);
  assert.equal(gw.bus.log.knownPartitionCount?.(topic), PARTITIONS);
  requests.length = 0;
  return { ...gw, topic };
}

test('a batch whose keys all land on one partition is split at batch.maxBytes and lands whole; spread keys share requests', async (t) => {
  const requests: (readonly BusRecord[])[] = [];
  const maxBytes = 80_000;
  const { url, topic } = await start(t, maxBytes, requests);

  const skewed = eventsOn(1, 600); // ~200 kB, all on partition 1
  const res = await post(url, skewed);
  const text = await res.text();
  assert.equal(res.status, 202, text);
  assert.equal((JSON.parse(text) as { accepted: number }).accepted, 600);
  const total = requests.flat().reduce((sum, r) => sum + recordBytes(r), 0);
  assert.ok(total > 2 * maxBytes, `${total} bytes`);
  assert.ok(requests.length >= Math.ceil(total / maxBytes), `${requests.length} produce requests for ${total} bytes`);
  for (const request of requests) {
    const bytes = request.reduce((sum, r) => sum + recordBytes(r), 0);
    assert.ok(bytes <= maxBytes, `a request of ${bytes} bytes on one partition`);
  }

  // The same amount spread over the three partitions: more than maxBytes per request, under it per partition.
  requests.length = 0;
  const spread = [0, 1, 2].flatMap((p) => eventsOn(p, 200));
  const res2 = await post(url, spread);
  assert.equal(res2.status, 202, await res2.text());
  const largest = Math.max(...requests.map((r) => r.reduce((sum, rec) => sum + recordBytes(rec), 0)));
  assert.ok(largest > maxBytes, `largest request ${largest} bytes`);
  assert.ok(requests.length < 4, `${requests.length} produce requests`);

  const { events } = await kcatEvents(broker.brokers, topic);
  const onTopic = new Set(events.map((e) => e.id));
  for (const e of [...skewed, ...spread]) assert.ok(onTopic.has(e.id as string), `event ${e.id as string} missing`);
  assert.equal(events.length, 1 + 600 + 600);
});

test('a partition batch over the topic\'s max.message.bytes is refused by Kafka and answered as a failure, never 202', async (t) => {
  const requests: (readonly BusRecord[])[] = [];
  // Misconfigured: the gateway allows more per partition than the topic takes.
  const { url, topic } = await start(t, 4 * MAX_MESSAGE_BYTES, requests);
  const over = eventsOn(0, 400); // ~135 kB on partition 0
  const fine = eventsOn(2, 20);
  const res = await post(url, [...over, ...fine]);
  assert.equal(res.status, 500);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'IOC_GATEWAY_KAFKA_REJECTED', body.error.message);
  assert.equal(requests.length, 1);

  // Kafka refused partition 0's batch whole; other partitions of the same request may have been written (the
  // client was told to retry, and consumers dedupe by (source, id)).
  const { records, events } = await kcatEvents(broker.brokers, topic);
  const overIds = new Set(over.map((e) => e.id));
  assert.ok(!events.some((e) => overIds.has(e.id)), 'none of the refused batch is on the topic');
  assert.ok(records.every((r, i) => r.partition !== 0 || !overIds.has(events[i]!.id)));
});

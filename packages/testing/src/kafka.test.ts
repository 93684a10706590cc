import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { KAFKA_VERSION, startKafka, type KafkaBroker } from './kafka.js';
import { askMetadata } from './kafka-ready.js';
import { uniqueName } from './names.js';
import { waitFor } from './wait.js';

/**
 * Launches its own broker from the jar cache even when KAFKA_BROKERS is set, so the launch path is exercised on
 * every run; the kafkajs calls below are the compatibility proof for the Kafka version the harness pins.
 */
describe('startKafka from Maven jars', () => {
  let broker: KafkaBroker;
  let kafka: Kafka;
  const logged: string[] = [];

  before(async () => {
    broker = await startKafka({ sources: ['jars'], log: (line) => logged.push(line) });
    kafka = new Kafka({ clientId: 'iocbus-testing-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.stop();
  });

  test('reports the pinned Apache Kafka version, the jar source and a loopback address', () => {
    assert.equal(broker.source, 'jars');
    assert.equal(broker.version, process.env['IOCBUS_KAFKA_VERSION'] ?? KAFKA_VERSION);
    assert.match(broker.version, /^4\.\d+\.\d+$/);
    assert.equal(broker.brokers.length, 1);
    assert.match(broker.brokers[0] ?? '', /^127\.0\.0\.1:\d+$/);
    assert.ok(logged.includes(`kafka broker ${broker.version} (jars) at ${broker.brokers[0]}`), logged.join('\n'));
  });

  test('kafkajs admin: createTopics and fetchTopicMetadata', async (t) => {
    const admin = kafka.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const topic = uniqueName('testing-admin');
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata.topics[0]?.name, topic);
    assert.deepEqual(metadata.topics[0]?.partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
  });

  test('auto.create.topics.enable is off: producing to an unknown topic fails', async (t) => {
    const producer = kafka.producer({ retry: { retries: 1, initialRetryTime: 50 } });
    await producer.connect();
    t.after(() => producer.disconnect());
    await assert.rejects(producer.send({ topic: uniqueName('testing-missing'), messages: [{ value: 'x' }] }));
  });

  test('kafkajs idempotent produce (acks -1), group join, fetch, commit and admin fetchOffsets', async (t) => {
    const topic = uniqueName('testing-roundtrip');
    const groupId = uniqueName('testing-group');
    const admin = kafka.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

    const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.after(() => producer.disconnect());
    const sent = Array.from({ length: 20 }, (_, i) => ({ key: `dossier-${i % 5}`, value: `event-${i}`, headers: { seq: String(i) } }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    assert.ok(acks.length > 0);
    assert.ok(acks.every((r) => r.errorCode === 0));

    const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    t.after(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ key: string; value: string; seq: string; partition: number; offset: string }> = [];
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          seq: message.headers?.['seq']?.toString() ?? '',
          partition,
          offset: message.offset,
        });
      },
    });
    await waitFor(() => received.length === sent.length, { timeoutMs: 30_000, message: `${sent.length} messages fetched by the group` });
    assert.equal(joined, true);
    assert.deepEqual(received.map((r) => r.value).sort(), sent.map((m) => m.value).sort());
    assert.ok(received.every((r) => r.seq === r.value.slice('event-'.length)), 'headers survive the round trip');
    for (const key of new Set(received.map((r) => r.key))) {
      assert.equal(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size, 1, `key ${key} on one partition`);
    }

    const next = new Map<number, number>();
    for (const r of received) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, Number(r.offset) + 1));
    await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })));
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]));
    for (const [partition, offset] of next) assert.equal(byPartition.get(partition), offset);
    const total = [...next.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, sent.length, 'committed offsets account for every record');
  });

  test('kill() crashes the broker and start() brings it back on the same address with its data', async () => {
    const topic = uniqueName('testing-restart');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.disconnect();

    const crashed = broker.pid;
    assert.ok(crashed !== undefined && crashed > 0);
    await broker.kill?.();
    assert.equal(processAlive(crashed), false);
    assert.equal(broker.pid, -1);
    await assert.rejects(askMetadata(broker.brokers));

    await broker.start?.();
    assert.ok(broker.pid !== undefined && broker.pid > 0 && broker.pid !== crashed);
    const again = kafka.admin();
    await again.connect();
    try {
      const offsets = await waitFor(() => again.fetchTopicOffsets(topic), { timeoutMs: 30_000, message: 'topic offsets after restart' });
      assert.equal(offsets[0]?.high, '3');
    } finally {
      await again.disconnect();
    }
  });

  test('stop() leaves no broker JVM and no temporary folder, and can be called twice', async () => {
    const { pid, workDir } = broker;
    assert.ok(pid !== undefined && workDir !== undefined);
    assert.equal(processAlive(pid), true);
    assert.equal(existsSync(workDir), true);
    await broker.stop();
    await broker.stop();
    assert.equal(processAlive(pid), false);
    assert.equal(existsSync(workDir), false);
  });
});

describe('startKafka source selection', () => {
  test('uses KAFKA_BROKERS when set, and stop() leaves that broker alone', async () => {
    const broker = await startKafka({ env: { KAFKA_BROKERS: ' a:9092, b:9093 ', IOCBUS_KAFKA_VERSION: '4.4.0' } });
    assert.deepEqual(broker.brokers, ['a:9092', 'b:9093']);
    assert.equal(broker.source, 'env');
    assert.equal(broker.version, '4.4.0');
    await broker.stop();
  });

  test('fails fast with the reasons when no source can provide a broker', async () => {
    const started = Date.now();
    await assert.rejects(startKafka({ sources: ['env', 'testcontainers'], env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'IOC_TESTING_KAFKA_UNAVAILABLE');
      assert.match(error.message, /KAFKA_BROKERS is not set/);
      assert.match(error.message, /no Docker engine/);
      return true;
    });
    assert.ok(Date.now() - started < 1_000, 'no Docker engine must be detected in well under a second');
  });
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

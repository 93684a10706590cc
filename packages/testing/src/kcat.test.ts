import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startKafka, type KafkaBroker } from './kafka.js';
import { kcatConsume, kcatCount, kcatProduceFile, writeKcatRecordsFile } from './kcat.js';
import { uniqueName } from './names.js';

describe('kcat wrappers against a real broker', () => {
  let broker: KafkaBroker;
  let kafka: Kafka;

  before(async () => {
    broker = await startKafka();
    kafka = new Kafka({ clientId: 'iocbus-testing-kcat', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.stop();
  });

  async function createTopic(partitions: number): Promise<string> {
    const topic = uniqueName('testing-kcat');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    return topic;
  }

  test('kcatConsume reads what kafkajs wrote: binary keys and values, headers, tombstones, partitions, offsets', async (t) => {
    const topic = await createTopic(3);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    t.after(() => producer.disconnect());
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: Buffer.from([0xff, 0x00, 0x22, 0x5c, 0x0a]), value: everyByte, headers: { ce_type: 'gov.dossier.received', ce_id: 'a,b=c', raw: Buffer.from([0xc3, 0x28]) }, partition: 1 },
        { key: 'dossier-1', value: null, partition: 1 },
        { key: null, value: 'no key', partition: 2 },
      ],
    });

    const records = await kcatConsume({ brokers: broker.brokers, topic });
    assert.equal(records.length, 3);
    const [first, tombstone] = records.filter((r) => r.partition === 1);
    assert.ok(first && tombstone);
    assert.equal(first.topic, topic);
    assert.equal(first.offset, 0);
    assert.deepEqual(first.key, Buffer.from([0xff, 0x00, 0x22, 0x5c, 0x0a]));
    assert.deepEqual(first.value, everyByte);
    assert.equal(first.headers['ce_type']?.toString(), 'gov.dossier.received');
    assert.equal(first.headers['ce_id']?.toString(), 'a,b=c');
    assert.deepEqual(first.headers['raw'], Buffer.from([0xc3, 0x28]));
    assert.ok(first.timestamp > Date.now() - 600_000);
    assert.equal(tombstone.offset, 1);
    assert.equal(tombstone.key?.toString(), 'dossier-1');
    assert.equal(tombstone.value, null);
    const keyless = records.find((r) => r.partition === 2);
    assert.equal(keyless?.key, null);
    assert.equal(keyless?.value?.toString(), 'no key');

    assert.deepEqual((await kcatConsume({ brokers: broker.brokers, topic, partition: 2 })).map((r) => r.value?.toString()), ['no key']);
  });

  test('kcatProduceFile sends every keyed record of a file; kcatCount and kcatConsume see them all, one partition per key', async (t) => {
    const topic = await createTopic(4);
    const dir = await mkdtemp(join(tmpdir(), 'iocbus-kcat-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'records.txt');
    const written = await writeKcatRecordsFile(
      file,
      Array.from({ length: 500 }, (_, i) => ({ key: `dossier-${i % 50}`, value: `event-${i}` })),
    );
    assert.equal(written, 500);

    const { elapsedMs } = await kcatProduceFile({ brokers: broker.brokers, topic, file, properties: { 'linger.ms': '5', acks: 'all' } });
    assert.ok(elapsedMs > 0);
    assert.equal(await kcatCount({ brokers: broker.brokers, topic }), 500);

    const records = await kcatConsume({ brokers: broker.brokers, topic });
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const r of records) {
      const key = r.key?.toString() ?? '';
      partitionsOfKey.set(key, (partitionsOfKey.get(key) ?? new Set()).add(r.partition));
    }
    assert.equal(partitionsOfKey.size, 50);
    assert.ok([...partitionsOfKey.values()].every((p) => p.size === 1), 'one key, one partition');
    assert.deepEqual(records.map((r) => r.value?.toString()).sort(), Array.from({ length: 500 }, (_, i) => `event-${i}`).sort());
  });

  test('writeKcatRecordsFile refuses a record containing a delimiter', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'iocbus-kcat-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await assert.rejects(writeKcatRecordsFile(join(dir, 'bad.txt'), [{ key: 'k', value: 'line\nbreak' }]), /contains a delimiter/);
  });

  test('a missing topic is a clear kcat error', async () => {
    await assert.rejects(kcatConsume({ brokers: broker.brokers, topic: uniqueName('testing-absent'), timeoutMs: 20_000 }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'IOC_TESTING_KCAT_FAILED');
      return true;
    });
  });
});

test('a missing kcat binary is reported as such', async () => {
  const path = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    await assert.rejects(kcatCount({ brokers: ['127.0.0.1:1'], topic: 'x' }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'IOC_TESTING_KCAT_MISSING');
      assert.match(error.message, /setup-test-deps\.sh/);
      return true;
    });
  } finally {
    process.env['PATH'] = path;
  }
});

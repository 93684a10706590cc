import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseCloudEvent, toKafkaRecord } from '@iocbus/events';
import { EXAMPLE_EVENTS } from '@iocbus/events/arbitraries';
import { kcatConsume, kcatProduceFile, startKafka, uniqueName, writeKcatRecordsFile, type KafkaBroker } from '@iocbus/testing';
import { BusError, BusErrorCode } from '../errors.js';
import { partitionForKey } from '../murmur2.js';
import type { BusRecord } from '../ports.js';
import { createKafkaBus, type KafkaBus } from './bus.js';
import { testBusOptions } from './test-support.js';

let broker: KafkaBroker;
let bus: KafkaBus;
before(async () => {
  broker = await startKafka();
  bus = createKafkaBus(testBusOptions(broker.brokers));
});
after(async () => {
  await bus?.close();
  await broker?.stop();
});

async function topicWith(partitions: number, config?: Record<string, string>): Promise<string> {
  const name = uniqueName('bus-log');
  await bus.admin.ensureTopics([{ name, partitions, ...(config ? { config } : {}) }]);
  return name;
}

describe('Kafka event log', () => {
  test('kcat reads back what append wrote: count, keys, partitions, offsets, values and ce_* headers', async () => {
    const topic = await topicWith(6);
    const examples = Object.values(EXAMPLE_EVENTS);
    // Every example type, spread over 60 dossiers, with non-ASCII ids to check the headers' UTF-8.
    const records: BusRecord[] = Array.from({ length: 400 }, (_, i) => {
      const example = examples[i % examples.length]!;
      const dossierCode = `000.00.17.H21-250701-${String(i % 60).padStart(4, '0')}`;
      const parsed = parseCloudEvent({
        ...example,
        id: `hồ-sơ-${i}`,
        subject: dossierCode,
        data: { ...(example.data as Record<string, unknown>), dossierCode },
      });
      assert.ok(parsed.ok, `example ${i} is valid`);
      return toKafkaRecord(parsed.event);
    });
    const appended: Awaited<ReturnType<typeof bus.log.append>> = [];
    for (let i = 0; i < records.length; i += 100) appended.push(...(await bus.log.append(topic, records.slice(i, i + 100))));

    const read = await kcatConsume({ brokers: broker.brokers, topic });
    assert.equal(read.length, records.length, 'kcat counts every record');
    const byPlace = new Map(read.map((r) => [`${r.partition}/${r.offset}`, r]));
    records.forEach((record, i) => {
      const where = appended[i]!;
      const got = byPlace.get(`${where.partition}/${where.offset}`);
      assert.ok(got, `kcat has record ${i} at ${where.partition}/${where.offset}`);
      assert.equal(got.key?.toString('utf8'), record.key);
      assert.ok(got.value?.equals(record.value), `value of record ${i}`);
      assert.equal(where.partition, partitionForKey(record.key, 6));
      const ceHeaders = Object.fromEntries(
        Object.entries(got.headers)
          .filter(([name]) => name.startsWith('ce_'))
          .map(([name, value]) => [name, value.toString('utf8')]),
      );
      const expected = Object.fromEntries(Object.entries(record.headers).filter(([name]) => name.startsWith('ce_')));
      assert.deepEqual(ceHeaders, expected, `ce_* headers of record ${i}`);
      assert.equal(ceHeaders['ce_subject'], record.key);
    });
  });

  test("librdkafka's murmur2 partitioner and ours put every key on the same partition", async (t) => {
    const topic = await topicWith(7);
    const dir = await mkdtemp(join(tmpdir(), 'bus-kcat-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const keys = fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((k) => !/[\t\n]/.test(k)), {
      numRuns: 300,
      seed: 7,
    });
    const file = join(dir, 'records.txt');
    await writeKcatRecordsFile(file, keys.map((key, i) => ({ key, value: `v${i}` })));
    await kcatProduceFile({ brokers: broker.brokers, topic, file, properties: { partitioner: 'murmur2_random' } });
    const read = await bus.source.readToEnd(topic);
    assert.equal(read.length, keys.length);
    for (const record of read) assert.equal(record.partition, partitionForKey(record.key, 7), `key ${JSON.stringify(record.key)}`);
  });

  test('concurrent appends each get the offsets their records really have', async () => {
    const topic = await topicWith(3);
    const calls = Array.from({ length: 12 }, (_, c) =>
      Array.from({ length: 40 }, (_, i) => ({ key: `k${(c * 7 + i) % 11}`, value: Buffer.from(`${c}:${i}`), headers: { ce_id: `${c}:${i}` } })),
    );
    const results = await Promise.all(calls.map((records) => bus.log.append(topic, records)));
    const read = await bus.source.readToEnd(topic);
    const idAt = new Map(read.map((r) => [`${r.partition}/${r.offset}`, r.headers.ce_id]));
    assert.equal(idAt.size, 12 * 40, 'no two records share an offset');
    calls.forEach((records, c) =>
      records.forEach((record, i) => {
        const where = results[c]![i]!;
        assert.equal(idAt.get(`${where.partition}/${where.offset}`), record.headers.ce_id);
      }),
    );
  });

  test('a record over the topic max.message.bytes is refused, not retried', async () => {
    const topic = await topicWith(1, { 'max.message.bytes': '2000' });
    await assert.rejects(
      bus.log.append(topic, [{ key: 'k', value: Buffer.alloc(5000, 1), headers: {} }]),
      (err: unknown) => err instanceof BusError && err.code === BusErrorCode.RecordTooLarge && !err.retriable,
    );
    assert.equal((await bus.source.readToEnd(topic)).length, 0);
  });

  test('an unreachable broker fails append with retriable IOC_BUS_UNAVAILABLE', async () => {
    const dead = createKafkaBus(testBusOptions(['127.0.0.1:1'], { retry: { retries: 1, initialRetryTimeMs: 50 }, connectionTimeoutMs: 500 }));
    try {
      await assert.rejects(
        dead.log.append('anything', [{ key: 'k', value: Buffer.from('v'), headers: {} }]),
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.Unavailable && err.retriable,
      );
      await assert.rejects(
        dead.admin.ensureTopics([{ name: 'anything', partitions: 1 }]),
        (err: unknown) => err instanceof BusError && err.retriable,
      );
    } finally {
      await dead.close();
    }
  });
});

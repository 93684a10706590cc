/**
 * The partials topic as an independent client (kcat) reads it from a real broker: compacted topics created
 * with cleanup.policy=compact, every key `<input partition>/<partialKey>` or `<p>/~progress`, every value
 * decodable, and a partial whose window passed retention written as a Kafka tombstone (null value).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafkaBus } from '@iocbus/bus';
import kafkajs from 'kafkajs';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { decodePartialRecord, parsePartialRecordKey } from '@iocbus/engine';
import { toKafkaRecord } from '@iocbus/events';
import { kcatConsume, startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { testAggregator, testConfig } from '../../services/aggregator/src/test-support.js';
import { vnTime, workload } from '../../services/aggregator/src/workload.js';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
const catalog = await loadSampleCatalog();

test('kcat reads the partials topic: compacted, keys and values in the record format, evicted windows as tombstones', { timeout: 120_000 }, async (t) => {
  const kafka = await startKafka();
  t.after(() => kafka.stop());
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'partials-topic-test', clientLogLevel: 'nothing', consumer: { maxWaitTimeMs: 50 } });
  t.after(() => bus.close());
  const config = testConfig(uniqueName('agg-topic'), kafka.brokers, { engine: { retention: { minuteMs: 60_000 } } });
  const start = Date.now();
  let at = start;
  const aggregator = testAggregator(t, { config, bus, catalog, clock: () => at });
  await aggregator.start();

  const events = workload(50, { catalog, nowMs: start, seed: 12 }).map((e) =>
    e.type.endsWith('.received') ? ({ ...e, data: { ...e.data, occurredAt: vnTime(start - 60_000), receivedAt: vnTime(start - 60_000) } } as typeof e) : e,
  );
  await bus.log.append(config.topics.events, events.map((e) => toKafkaRecord(e)));
  await waitFor(async () => aggregator.status().partitions.every((p) => p.lag === '0') && (await kcatConsume({ brokers: kafka.brokers, topic: config.topics.partials })).some((r) => r.key?.includes('/minute:')), {
    timeoutMs: 30_000,
    message: 'minute partials on the topic',
  });
  at = start + 10 * 60_000;
  const records = await waitFor(async () => {
    const rs = await kcatConsume({ brokers: kafka.brokers, topic: config.topics.partials });
    return rs.some((r) => r.value === null) ? rs : undefined;
  }, { timeoutMs: 30_000, message: 'tombstones for the evicted minute windows' });

  const progressPartitions = new Set<number>();
  for (const r of records) {
    assert.ok(r.key !== null);
    const key = r.key.toString('utf8');
    const k = parsePartialRecordKey(key);
    assert.ok(k.inputPartition >= 0 && k.inputPartition < config.topics.eventsPartitions, key);
    if (r.value === null) {
      assert.equal(k.kind, 'partial', key);
      assert.match(key, /^\d+\/minute:/, 'only minute windows passed retention');
      continue;
    }
    const rec = decodePartialRecord(key, r.value);
    if (rec.kind === 'progress') progressPartitions.add(rec.inputPartition);
  }
  assert.equal(progressPartitions.size, config.topics.eventsPartitions);

  // Both compacted topics were created compacted (asked of the broker with kafkajs's own admin client).
  const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [config.topics.partials, config.topics.checkpoints].map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  for (const r of resources) {
    assert.equal(r.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'compact', r.resourceName);
  }
  const checkpointMax = resources.find((r) => r.resourceName === config.topics.checkpoints)?.configEntries.find((e) => e.configName === 'max.message.bytes');
  assert.equal(checkpointMax?.configValue, String(config.topics.checkpointMaxBytes));
});

/**
 * Poison records on a real broker, the aggregator as a child process: records that cannot be decoded land in
 * the dead-letter topic byte for byte with the error in their headers (read back with kcat, an independent
 * client), consumption goes on, and every other event's numbers are right.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafkaBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { toKafkaRecord } from '@iocbus/events';
import { kcatConsume, startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { DLQ_HEADER } from '../../services/aggregator/src/dead-letter.js';
import { canonicalValues, eventRecords, readPartials, referencePartials } from '../../services/aggregator/src/test-support.js';
import { workload } from '../../services/aggregator/src/workload.js';
import { killAll, startAggregator, topicsFor } from './support.js';

const catalog = await loadSampleCatalog();

test('poison records go to the dead-letter topic with the error in their headers; all other numbers are right', { timeout: 180_000 }, async (t) => {
  const kafka = await startKafka();
  t.after(() => kafka.stop());
  t.after(killAll);
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'poison-test', clientLogLevel: 'nothing' });
  t.after(() => bus.close());
  const prefix = uniqueName('agg-poison');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: 4 }]);

  const now = Date.now();
  const events = workload(300, { catalog, nowMs: now, seed: 5, prefix: 'X' });
  const good = eventRecords(events);
  const base = toKafkaRecord(events[20]!);
  const poison = [
    // Value that is not the protobuf of its type.
    { key: base.key, value: Buffer.from([0xff, 0xff, 0xff, 0x01]), headers: { ...base.headers, ce_id: 'poison-bytes', 'x-trace-id': 't-1' } },
    // An unknown event type.
    { key: base.key, value: base.value, headers: { ...base.headers, ce_id: 'poison-type', ce_type: 'vn.gov.tthc.dossier.teleported' } },
    // Subject and key disagree, and no content type.
    { key: 'another-dossier', value: base.value, headers: Object.fromEntries(Object.entries({ ...base.headers, ce_id: 'poison-key' }).filter(([k]) => k !== 'content-type')) },
  ];
  await bus.log.append(topics.events, [...good.slice(0, 200), poison[0]!, ...good.slice(200, 400), poison[1]!, poison[2]!, ...good.slice(400)]);

  const { proc } = await startAggregator(kafka.brokers, prefix);
  const expected = canonicalValues(referencePartials(events, catalog, now, 2 * 86_400_000), now);
  await waitFor(
    async () => {
      const { partials } = await readPartials(bus.source, topics.partials);
      assert.deepEqual(canonicalValues(partials, now), expected);
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 300, message: 'every other event counted' },
  );

  const dlq = await waitFor(async () => {
    const records = await kcatConsume({ brokers: kafka.brokers, topic: topics.deadLetters });
    return records.length >= 3 ? records : undefined;
  }, { timeoutMs: 20_000, message: 'three dead letters' });
  assert.equal(dlq.length, 3);
  const byId = new Map(dlq.map((r) => [r.headers.ce_id?.toString('utf8'), r]));
  const sourceRecords = (await bus.source.readToEnd(topics.events)).filter((r) => r.headers.ce_id?.startsWith('poison-'));
  assert.equal(sourceRecords.length, 3);
  for (const src of sourceRecords) {
    const d = byId.get(src.headers.ce_id);
    assert.ok(d, `dead letter for ${src.headers.ce_id}`);
    const h = (name: string) => d.headers[name]?.toString('utf8');
    // The original record, byte for byte, with its own headers kept.
    assert.deepEqual(d.key, Buffer.from(src.key));
    assert.deepEqual(d.value, src.value);
    for (const [name, value] of Object.entries(src.headers)) assert.equal(h(name), value, `header ${name} kept`);
    assert.equal(h(DLQ_HEADER.errorCode), 'IOC_EVENTS_DECODE');
    assert.match(h(DLQ_HEADER.errorMessage) ?? '', /cannot decode dossier event/);
    assert.equal(h(DLQ_HEADER.sourceTopic), topics.events);
    assert.equal(h(DLQ_HEADER.sourcePartition), String(src.partition));
    assert.equal(h(DLQ_HEADER.sourceOffset), src.offset);
    assert.equal(h(DLQ_HEADER.consumerGroup), `${prefix}-group`);
    const problems = JSON.parse(h(DLQ_HEADER.problems) ?? '[]') as { path: string; message: string }[];
    assert.ok(problems.length > 0);
    if (src.headers.ce_id === 'poison-bytes') assert.ok(problems.some((p) => p.path === '$.value'), JSON.stringify(problems));
    if (src.headers.ce_id === 'poison-type') assert.ok(problems.some((p) => p.path === '$.headers.ce_type'), JSON.stringify(problems));
    if (src.headers.ce_id === 'poison-key') {
      assert.ok(problems.some((p) => p.path === '$.key'), JSON.stringify(problems));
      assert.ok(problems.some((p) => p.path === "$.headers['content-type']"), JSON.stringify(problems));
    }
  }
  // The dead letters are counted on /metrics.
  const port = proc.logs.find((l) => l.msg === 'http listening')?.port as number;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /iocbus_aggregator_dead_letters_total\{code="IOC_EVENTS_DECODE"\} 3/);
  assert.match(metrics, /iocbus_aggregator_consumer_lag_records\{partition="0"\} 0/);
  assert.equal(await proc.kill('SIGTERM'), 0);
});

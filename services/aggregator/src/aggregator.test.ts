/**
 * The aggregator over the in-process bus (the embedded mode's transport): results equal the one-engine
 * reference, a restart resumes from checkpoints with the same numbers, duplicates and poison records do
 * not disturb the counts, and the group offset never passes a written checkpoint.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createInProcessBus, InProcessBroker, type InProcessBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { decodePartialRecord } from '@iocbus/engine';
import { toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { waitFor } from '@iocbus/testing';
import type { Aggregator, AggregatorHooks } from './aggregator.js';
import { decodeCheckpoint } from './checkpoint.js';
import type { AggregatorConfig } from './config.js';
import { DLQ_HEADER } from './dead-letter.js';
import { canonicalValues, currentValue, eventRecords, readPartials, referencePartials, testAggregator, testConfig } from './test-support.js';
import { vnTime, workload } from './workload.js';

const catalog = await loadSampleCatalog();
const NOW = Date.now();
const clock = () => NOW;

function start(t: TestContext, bus: InProcessBus, config: AggregatorConfig, hooks: AggregatorHooks = {}): Aggregator {
  return testAggregator(t, { config, bus, catalog, clock, hooks });
}

async function settled(bus: InProcessBus, config: AggregatorConfig, expected: string[]): Promise<void> {
  await waitFor(async () => {
    const { partials } = await readPartials(bus.source, config.topics.partials);
    assert.deepEqual(canonicalValues(partials, NOW), expected);
    return true;
  }, { timeoutMs: 30_000, message: 'partials to equal the reference' });
}

test('partials published from all partitions merge into the one-engine reference', async (t) => {
  const bus = createInProcessBus();
  const config = testConfig('agg-a');
  const events = workload(400, { catalog, nowMs: NOW, seed: 7 });
  const aggregator = start(t, bus, config);
  await aggregator.start();
  await bus.log.append(config.topics.events, eventRecords(events));
  const expected = canonicalValues(referencePartials(events, catalog, NOW, config.engine.allowedLatenessMs), NOW);
  assert.ok(expected.length > 100);
  await settled(bus, config, expected);

  const { progress } = await readPartials(bus.source, config.topics.partials);
  const ends = await bus.source.endOffsets(config.topics.events);
  await waitFor(async () => {
    const p = (await readPartials(bus.source, config.topics.partials)).progress;
    return ends.every((e) => p.get(e.partition)?.offset === e.high);
  }, { message: 'progress to reach the end of every input partition' });
  assert.equal(progress.size, config.topics.eventsPartitions);
  const p0 = [...progress.values()][0]!;
  assert.equal(p0.inputPartitions, config.topics.eventsPartitions);
  assert.ok(p0.sources.length > 0 && p0.watermarkMs !== null && p0.watermarkMs < NOW);
  const status = aggregator.status();
  assert.equal(status.ready, true);
  assert.equal(status.partitions.length, 4);
  assert.ok(status.appliedTotal < events.length, 'duplicates in the workload are not applied');
});

test('a restarted aggregator resumes from its checkpoints and republishes the same values', async (t) => {
  const broker = new InProcessBroker();
  const config = testConfig('agg-b');
  const events = workload(300, { catalog, nowMs: NOW, seed: 11 });
  const expected = canonicalValues(referencePartials(events, catalog, NOW, config.engine.allowedLatenessMs), NOW);
  const busA = createInProcessBus({ broker, maxBatchRecords: 50 });
  const first = start(t, busA, config);
  await first.start();
  await busA.log.append(config.topics.events, eventRecords(events.slice(0, 500)));
  await waitFor(() => first.status().partitions.every((p) => p.checkpointOffset !== null && p.checkpointOffset === p.position), {
    message: 'checkpoints to cover the first half',
  });
  await first.stop();

  // Committed offsets never pass the checkpoints (here they are equal after a clean stop).
  const checkpoints = await busA.source.readToEnd(config.topics.checkpoints);
  const latest = new Map(checkpoints.map((r) => [r.key, decodeCheckpoint(r.value)]));
  assert.equal(latest.size, 4);

  const busB = createInProcessBus({ broker, maxBatchRecords: 50 });
  const second = start(t, busB, config);
  await second.start();
  await busB.log.append(config.topics.events, eventRecords(events.slice(500)));
  await settled(busB, config, expected);
  for (const p of second.status().partitions) {
    assert.ok(BigInt(p.position) >= BigInt(latest.get(String(p.partition))!.offset));
  }
});

test('a poison record goes to the dead-letter topic with its error; every other event counts', async (t) => {
  const bus = createInProcessBus();
  const config = testConfig('agg-c');
  const events = workload(100, { catalog, nowMs: NOW, seed: 3, duplicateShare: 0 });
  const aggregator = start(t, bus, config);
  await aggregator.start();
  const good = eventRecords(events);
  const victim = toKafkaRecord(events[10]!);
  const poison = { key: victim.key, value: Buffer.from([0xff, 0xff, 0xff]), headers: { ...victim.headers, ce_id: 'poison-1', 'x-trace': 'abc' } };
  await bus.log.append(config.topics.events, [...good.slice(0, 50), poison, ...good.slice(50)]);
  const expected = canonicalValues(referencePartials(events, catalog, NOW, config.engine.allowedLatenessMs), NOW);
  await settled(bus, config, expected);
  const dlq = await bus.source.readToEnd(config.topics.deadLetters);
  assert.equal(dlq.length, 1);
  const d = dlq[0]!;
  assert.equal(d.key, poison.key);
  assert.deepEqual(d.value, poison.value);
  assert.equal(d.headers['x-trace'], 'abc');
  assert.equal(d.headers.ce_id, 'poison-1');
  assert.equal(d.headers[DLQ_HEADER.errorCode], 'IOC_EVENTS_DECODE');
  assert.equal(d.headers[DLQ_HEADER.sourceTopic], config.topics.events);
  const problems = JSON.parse(d.headers[DLQ_HEADER.problems]!) as { path: string }[];
  assert.ok(problems.some((p) => p.path === '$.value'), JSON.stringify(problems));
  const [origin] = (await bus.source.readToEnd(config.topics.events)).filter((r) => r.headers.ce_id === 'poison-1');
  assert.equal(d.headers[DLQ_HEADER.sourcePartition], String(origin!.partition));
  assert.equal(d.headers[DLQ_HEADER.sourceOffset], origin!.offset);
});

test('the group offset is committed only once a checkpoint covering it is written', async (t) => {
  const bus = createInProcessBus({ maxBatchRecords: 20 });
  const config = testConfig('agg-d', undefined, { checkpoint: { intervalMs: 100 } });
  const seen: { partition: number; checkpoint: string }[] = [];
  let violations = 0;
  const aggregator = start(t, bus, config, {
    at: async (point, info) => {
      if (point !== 'mid-checkpoint') return;
      // Between the checkpoint write and the commit: the committed offset must still be at most the previous checkpoint.
      const committed = bus.broker.group(config.kafka.groupId).committed.get(`${config.topics.events}\u0000${info.partition}`);
      const previous = seen.filter((s) => s.partition === info.partition).at(-1)?.checkpoint ?? '0';
      if (committed !== undefined && BigInt(committed) > BigInt(previous)) violations++;
      seen.push({ partition: info.partition, checkpoint: info.offset });
    },
  });
  await aggregator.start();
  const events = workload(200, { catalog, nowMs: NOW, seed: 5 });
  await bus.log.append(config.topics.events, eventRecords(events));
  await waitFor(() => aggregator.status().partitions.every((p) => p.checkpointOffset === p.position && p.lag === '0') && seen.length >= 4, {
    message: 'checkpoints to catch up',
  });
  assert.equal(violations, 0);
  // Every partials key of the topic decodes, and names a real input partition.
  for (const r of await bus.source.readToEnd(config.topics.partials)) {
    const rec = decodePartialRecord(r.key, r.value);
    assert.ok(rec.inputPartition >= 0 && rec.inputPartition < 4);
  }
});

test('a window that passes retention is published as removed, and a reader drops it', async (t) => {
  const bus = createInProcessBus();
  const config = testConfig('agg-e', undefined, { engine: { retention: { minuteMs: 60_000 } } });
  let at = NOW;
  const aggregator = testAggregator(t, { config, bus, catalog, clock: () => at });
  await aggregator.start();
  const [received] = workload(40, { catalog, nowMs: NOW, seed: 8 }).filter((e) => e.type.endsWith('.received'));
  // Received a minute ago: it lands in a rolling_1h minute bucket as well as the calendar windows.
  const event = { ...received!, data: { ...received!.data, occurredAt: vnTime(NOW - 60_000), receivedAt: vnTime(NOW - 60_000) } } as typeof received & {};
  await bus.log.append(config.topics.events, [toKafkaRecord(event)]);
  const minuteKeys = await waitFor(async () => {
    const { partials } = await readPartials(bus.source, config.topics.partials);
    const minutes = partials.filter((p) => p.window.kind === 'minute');
    return minutes.length > 0 ? minutes.map((p) => `${p.window.kind}:${p.window.label}`) : undefined;
  }, { message: 'minute partials published' });
  at = NOW + 10 * 60_000; // past the window's end plus its one-minute retention
  await waitFor(async () => {
    const { partials } = await readPartials(bus.source, config.topics.partials);
    return partials.every((p) => p.window.kind !== 'minute') && partials.some((p) => p.window.kind === 'day');
  }, { message: 'minute partials removed, day partials kept' });
  const removals = (await bus.source.readToEnd(config.topics.partials)).filter((r) => r.value.length === 0);
  assert.ok(removals.length > 0);
  assert.ok(removals.every((r) => minuteKeys.some((k) => r.key.includes(`/${k}|`))), removals.map((r) => r.key).join(', '));
});

test('a partition replaying its backlog publishes nothing until it reached the end of its log as of assignment', async (t) => {
  const bus = createInProcessBus({ maxBatchRecords: 20 });
  const config = testConfig('agg-f');
  const events = workload(150, { catalog, nowMs: NOW, seed: 21 });
  await bus.admin.ensureTopics([{ name: config.topics.events, partitions: 4 }]);
  await bus.log.append(config.topics.events, eventRecords(events));
  // Slow batches: the replay spans many publication rounds.
  const aggregator = start(t, bus, config, { at: (point) => (point === 'mid-batch' ? new Promise((r) => setTimeout(r, 15)) : undefined) });
  await aggregator.start();
  const expected = canonicalValues(referencePartials(events, catalog, NOW, config.engine.allowedLatenessMs), NOW);
  await settled(bus, config, expected);
  // Every partial record carries its key's final value: nothing half-replayed was ever published.
  const records = await bus.source.readToEnd(config.topics.partials);
  const last = new Map(records.map((r) => [r.key, r.value]));
  const partialRecords = records.filter((r) => !r.key.endsWith('/~progress'));
  assert.ok(partialRecords.length > 100);
  for (const r of partialRecords) assert.deepEqual(r.value, last.get(r.key), `${r.key} was published before the replay finished`);
});

test('a batch after a quiet spell is published at once; one soon after waits out publish.intervalMs', async (t) => {
  const bus = createInProcessBus();
  const config = testConfig('agg-g', undefined, { publish: { intervalMs: 5000, idleIntervalMs: 60_000, heartbeatMs: 60_000 } });
  const aggregator = start(t, bus, config);
  await aggregator.start();
  await waitFor(() => aggregator.status().ready && aggregator.status().partitions.length === 4, { message: 'partitions assigned' });
  const today = (e: DossierEvent): DossierEvent => ({ ...e, data: { ...e.data, occurredAt: vnTime(NOW - 60_000), receivedAt: vnTime(NOW - 60_000) } }) as DossierEvent;
  const [a, b] = workload(40, { catalog, nowMs: NOW, seed: 9 })
    .filter((e) => e.type.endsWith('.received'))
    .map(today);
  const receivedToday = async () => currentValue((await readPartials(bus.source, config.topics.partials)).partials, NOW, 'received', 'day') ?? 0;

  const appendedA = Date.now();
  await bus.log.append(config.topics.events, eventRecords([a!]));
  await waitFor(async () => (await receivedToday()) === 1, { timeoutMs: 30_000, intervalMs: 10, message: 'the first event published' });
  // A timer-driven publisher would wait for its next 5 s tick; this one publishes the batch as it is applied.
  assert.ok(Date.now() - appendedA < 2500, `first batch published after ${Date.now() - appendedA} ms`);

  const appendedB = Date.now();
  await bus.log.append(config.topics.events, eventRecords([b!]));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await receivedToday(), 1, 'a second publication within publish.intervalMs of the first');
  await waitFor(async () => (await receivedToday()) === 2, { timeoutMs: 30_000, intervalMs: 20, message: 'the second event published' });
  assert.ok(Date.now() - appendedB >= 3000, `second batch published ${Date.now() - appendedB} ms after it was appended`);
});

test('checkpoints are staggered: one partition per turn, a turn every checkpoint.intervalMs / partitions, each partition in rotation', async (t) => {
  const bus = createInProcessBus({ maxBatchRecords: 50 });
  const intervalMs = 800;
  const config = testConfig('agg-h', undefined, { checkpoint: { intervalMs } });
  const written: { partition: number; at: number }[] = [];
  let recording = true;
  const aggregator = start(t, bus, config, {
    at: (point, info) => {
      if (point === 'mid-checkpoint' && recording) written.push({ partition: info.partition, at: performance.now() });
    },
  });
  await aggregator.start();
  // Events keep arriving on every partition, so each turn has something to write.
  const records = eventRecords(workload(1500, { catalog, nowMs: NOW, seed: 12 }));
  const chunk = Math.ceil(records.length / 60);
  for (let i = 0; i < records.length; i += chunk) {
    await bus.log.append(config.topics.events, records.slice(i, i + chunk));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  recording = false;
  const partitions = config.topics.eventsPartitions;
  assert.ok(written.length >= partitions * 2, `checkpoints written: ${written.length}`);
  // Back to back (the old rounds) the gaps between checkpoints were a few ms; in turns they are about
  // intervalMs / partitions (200 ms), less only when a turn ran late and the next caught up.
  const gaps = written.slice(1).map((w, i) => w.at - written[i]!.at).sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1]!;
  assert.ok(median >= intervalMs / partitions / 2, `median gap ${median.toFixed(0)} ms: ${gaps.map((g) => g.toFixed(0)).join(',')}`);
  // In rotation: within any `partitions` consecutive turns, no partition is written twice.
  for (let i = 0; i + partitions <= written.length; i++) {
    const window = written.slice(i, i + partitions).map((w) => w.partition);
    assert.equal(new Set(window).size, partitions, `turns ${i}..${i + partitions - 1}: ${window.join(',')}`);
  }
});

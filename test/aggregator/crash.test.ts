/**
 * Exactly-once results across kill -9 (real broker, the aggregator as a real child process): the process is
 * stopped dead at a chosen point — mid-batch, between a checkpoint's write and its commit, right after a
 * checkpoint and its commit — killed with SIGKILL and restarted, over and over; the final indicators equal
 * the crash-free ones. Then two instances in one group, one killed: the survivor takes its partitions and the
 * totals stay exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafkaBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { canonicalValues, eventRecords, readPartials, referencePartials } from '../../services/aggregator/src/test-support.js';
import { workload } from '../../services/aggregator/src/workload.js';
import { killAll, readyz, startAggregator, topicsFor } from './support.js';

const catalog = await loadSampleCatalog();
const LATENESS = 2 * 86_400_000;

test('kill -9 mid-batch, mid-checkpoint and right after a checkpoint: final indicators equal a crash-free run', { timeout: 300_000 }, async (t) => {
  const kafka = await startKafka();
  t.after(() => kafka.stop());
  t.after(killAll);
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'crash-test', clientLogLevel: 'nothing' });
  t.after(() => bus.close());
  const prefix = uniqueName('agg-crash');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: 4 }]);

  const now = Date.now();
  const events = workload(1500, { catalog, nowMs: now, seed: 42, prefix: 'K' });
  const records = eventRecords(events);
  const quarter = Math.ceil(records.length / 4);
  const expected = canonicalValues(referencePartials(events, catalog, now, LATENESS), now);

  const kills: string[] = [];
  const points = ['mid-batch', 'mid-checkpoint', 'after-checkpoint'] as const;
  for (const [round, point] of points.entries()) {
    // More input arrives before each crash, so every restart has both replay and fresh work.
    await bus.log.append(topics.events, records.slice(round * quarter, (round + 1) * quarter));
    const { proc } = await startAggregator(kafka.brokers, prefix, {
      // Publish during replay too (no hold), so partials written before a kill and rewritten after it must converge.
      IOCBUS_AGGREGATOR__PUBLISH__REPLAY_HOLD_MAX_MS: '0',
      IOCBUS_AGGREGATOR__FAULTS__PAUSE_AT: point,
      IOCBUS_AGGREGATOR__FAULTS__AFTER_EVENTS: String(Math.floor(quarter / 3)),
    });
    const marker = await proc.waitForStderr(new RegExp(`IOCBUS_FAULT_POINT ${point} (\\{.*\\})`), `fault point ${point}`, 90_000);
    assert.equal(await proc.kill('SIGKILL'), 'SIGKILL');
    kills.push(`${point} ${marker[1]}`);
  }
  assert.equal(kills.length, 3);
  t.diagnostic(`killed at: ${kills.join(" ; ")}`);

  // After the crashes something was published (the kills did not land before any work) …
  const before = await readPartials(bus.source, topics.partials);
  assert.ok(before.partials.length > 0, 'partials published before the kills');
  const checkpointsBefore = await bus.source.readToEnd(topics.checkpoints);
  assert.ok(checkpointsBefore.length > 0, 'checkpoints written before the kills');

  // … and the last restart, crash-free, converges on the reference.
  await bus.log.append(topics.events, records.slice(3 * quarter));
  const { proc, port } = await startAggregator(kafka.brokers, prefix);
  await waitFor(
    async () => {
      const { partials } = await readPartials(bus.source, topics.partials);
      assert.deepEqual(canonicalValues(partials, now), expected);
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 500, message: `final indicators to equal the crash-free reference after kills at ${kills.join('; ')}` },
  );
  const ends = await bus.source.endOffsets(topics.events);
  const ready = await readyz(port);
  assert.equal(ready.code, 200);
  assert.deepEqual(
    ready.body.partitions.map((p) => p.position),
    ends.map((e) => e.high),
  );
  // A clean stop checkpoints everything and commits exactly the checkpoints' offsets.
  assert.equal(await proc.kill('SIGTERM'), 0);
  const committed = await bus.source.readToEnd(topics.checkpoints);
  const latest = new Map(committed.map((r) => [r.key, r]));
  assert.equal(latest.size, 4);
});

test('two instances in one group, one killed: the survivor takes its partitions and the totals stay exact', { timeout: 300_000 }, async (t) => {
  const kafka = await startKafka();
  t.after(() => kafka.stop());
  t.after(killAll);
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'crash-test-2', clientLogLevel: 'nothing' });
  t.after(() => bus.close());
  const prefix = uniqueName('agg-pair');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: 4 }]);

  const now = Date.now();
  const events = workload(1200, { catalog, nowMs: now, seed: 99, prefix: 'P' });
  const records = eventRecords(events);
  const half = Math.ceil(records.length / 2);
  const expected = canonicalValues(referencePartials(events, catalog, now, LATENESS), now);

  const a = await startAggregator(kafka.brokers, prefix);
  const b = await startAggregator(kafka.brokers, prefix);
  await bus.log.append(topics.events, records.slice(0, half));
  // Both members own partitions and are working.
  const owned = await waitFor(
    async () => {
      const [ra, rb] = await Promise.all([readyz(a.port), readyz(b.port)]);
      if (ra.body.partitions.length === 0 || rb.body.partitions.length === 0) return undefined;
      if (ra.body.partitions.length + rb.body.partitions.length !== 4) return undefined;
      return { a: ra.body.partitions.map((p) => p.partition), b: rb.body.partitions.map((p) => p.partition) };
    },
    { timeoutMs: 60_000, intervalMs: 200, message: 'both instances to own partitions' },
  );

  assert.equal(await a.proc.kill('SIGKILL'), 'SIGKILL');
  await bus.log.append(topics.events, records.slice(half));
  await waitFor(
    async () => {
      const r = await readyz(b.port);
      return r.body.partitions.length === 4;
    },
    { timeoutMs: 60_000, intervalMs: 200, message: `the survivor to take partitions ${owned.a.join(',')}` },
  );
  await waitFor(
    async () => {
      const { partials } = await readPartials(bus.source, topics.partials);
      assert.deepEqual(canonicalValues(partials, now), expected);
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 500, message: 'totals to equal the reference after the takeover' },
  );
  assert.equal(await b.proc.kill('SIGTERM'), 0);
});

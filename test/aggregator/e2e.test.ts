/**
 * End to end on a real broker, gateway, aggregator and view as real child processes: events posted over HTTP
 * at a steady rate appear in a gRPC Subscribe stream of the view (and in the partials topic) within one
 * second, and the indicators have the values SPEC §2 defines — hand-counted for the simple ones, and equal to
 * the one-engine reference for all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createKafkaBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { decodePartialRecord, evaluate, mergePartials, type IndicatorPartial } from '@iocbus/engine';
import { toCloudEventJson, type DossierEvent } from '@iocbus/events';
import { startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { canonicalValues, referencePartials } from '../../services/aggregator/src/test-support.js';
import { vnTime } from '../../services/aggregator/src/workload.js';
import { grpcClient, recordStream, type RecordedStream } from '../../services/view/src/test-support.js';
import { killAll, startAggregator, startGateway, startViewProcess, topicsFor } from './support.js';

const catalog = await loadSampleCatalog();
const DAY = 86_400_000;
const CHANNELS = ['online', 'direct', 'online', 'postal'] as const;
/**
 * 100 ms rounds; the first WARMUP ones (connections, JIT, first fetches) are not held to the latency goal, and
 * the goal is held at the 95th percentile: on a shared 2-core machine a process can be starved for a second.
 */
const ROUNDS = 130;
const WARMUP = 30;

function event(type: string, code: string, unit: string, id: string, atMs: number, extra: Record<string, unknown>): DossierEvent {
  const occurredAt = vnTime(atMs);
  return {
    specversion: '1.0',
    id,
    source: `/agencies/${unit}/igate`,
    type: `vn.gov.tthc.dossier.${type}`,
    time: occurredAt,
    subject: code,
    data: { dossierCode: code, procedureCode: '1.001193', unitCode: unit, occurredAt, ...extra },
  } as unknown as DossierEvent;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

test('events posted to the gateway appear in the Subscribe stream of the view and in the partials within one second, with the values SPEC §2 defines', { timeout: 240_000 }, async (t) => {
  const kafka = await startKafka();
  t.after(() => kafka.stop());
  t.after(killAll);
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'e2e-test', clientLogLevel: 'nothing' });
  t.after(() => bus.close());
  const prefix = uniqueName('agg-e2e');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: 4 }]);

  const [{ url, key }, aggregator, view] = await Promise.all([
    startGateway(kafka.brokers, topics.events),
    startAggregator(kafka.brokers, prefix),
    startViewProcess(kafka.brokers, topics.partials),
  ]);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${aggregator.port}/readyz`)).status === 200, { timeoutMs: 60_000, message: 'aggregator ready' });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${view.httpPort}/readyz`)).status === 200, { timeoutMs: 60_000, message: 'view ready' });

  // A wall screen's subscription: province values of the current windows, through gRPC Subscribe.
  const client = grpcClient(view.grpcPort);
  t.after(() => client.close());
  const stream: RecordedStream = recordStream(client, {
    filter: { indicatorIds: ['received', 'resolved', 'resolved_early', 'on_time_rate', 'online_share', 'in_process', 'in_process_overdue'], scopes: [{ kind: 'SCOPE_KIND_PROVINCE' }], currentOnly: true },
  });
  t.after(() => stream.call.cancel());
  const streamValue = (indicator: string, window: string) =>
    [...stream.state.values()].find((v) => v.indicatorId === indicator && v.window.kind.toLowerCase().endsWith(window));
  const streamSeen: { count: number; atMs: number }[] = [];
  stream.call.on('data', () => {
    const count = streamValue('received', 'day')?.value ?? 0;
    if (count !== (streamSeen.at(-1)?.count ?? 0)) streamSeen.push({ count, atMs: Date.now() });
  });
  await waitFor(() => stream.messages.some((m) => m.kind === 'snapshot'), { message: 'the subscription snapshot' });

  // Follow the partials topic as a view would, tracking when today's province `received` count moves.
  const today = vnTime(Date.now()).slice(0, 10);
  const latest = new Map<string, IndicatorPartial>();
  let receivedToday = 0;
  const seen: { count: number; atMs: number }[] = [];
  const tail = await bus.source.tail({
    topic: topics.partials,
    from: 'earliest',
    onBatch: async (batch) => {
      for (const r of batch.records) {
        const rec = decodePartialRecord(r.key, r.value);
        if (rec.kind === 'partial') latest.set(r.key, rec.partial);
        else if (rec.kind === 'removed') latest.delete(r.key);
      }
      const mine = [...latest.values()].filter((p) => p.window.kind === 'day' && p.window.label === today && p.scope.kind === 'province');
      const merged = mergePartials(mine)[0];
      const count = merged?.measures[0] ?? 0; // MEASURES[0] is `received`
      if (count !== receivedToday) {
        receivedToday = count;
        seen.push({ count, atMs: Date.now() });
      }
    },
  });
  t.after(() => tail.stop());

  // Steady load: every 100 ms, 20 new dossiers received now and 5 earlier ones resolved now (200–250 events/s).
  const posted: DossierEvent[] = [];
  const acks: { count: number; atMs: number }[] = [];
  const open: { code: string; unit: string }[] = [];
  let received = 0;
  let resolved = 0;
  let online = 0;
  const units = catalog.units.slice(0, 8).map((u) => u.code);
  const startedAt = Date.now();
  for (let round = 0; round < ROUNDS; round++) {
    const tick = startedAt + round * 100;
    await delay(Math.max(0, tick - Date.now()));
    const now = Date.now();
    const batch: DossierEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const n = round * 20 + i;
      const unit = units[n % units.length]!;
      const code = `${prefix}-${n}`;
      const channel = CHANNELS[n % CHANNELS.length]!;
      if (channel === 'online') online++;
      batch.push(
        event('received', code, unit, `r-${n}`, now, {
          receivedAt: vnTime(now),
          dueAt: vnTime(now + 3 * DAY),
          channel,
          applicantType: 'citizen',
          components: [{ code: 'TP1', digitized: true }],
        }),
      );
      open.push({ code, unit });
    }
    for (let i = 0; i < 5 && open.length > 40; i++) {
      const d = open.shift()!;
      batch.push(event('resolved', d.code, d.unit, `z-${d.code}`, now, { resolvedAt: vnTime(now) }));
      resolved++;
    }
    const res = await fetch(`${url}/v1/events:batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(batch.map(toCloudEventJson)),
    });
    const body = (await res.json()) as { results: { status: string }[] };
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.ok(body.results.every((r) => r.status === 'accepted'), JSON.stringify(body.results.filter((r) => r.status !== 'accepted')));
    received += 20;
    posted.push(...batch);
    acks.push({ count: received, atMs: Date.now() });
  }

  await waitFor(() => receivedToday === received, { timeoutMs: 10_000, message: `received today to reach ${received}` });
  // Latency of each acknowledged batch: from the gateway's 202 to the first partials state counting it.
  const inOrder = acks.map((a) => (seen.find((s) => s.count >= a.count)?.atMs ?? Infinity) - a.atMs);
  t.diagnostic(`warm-up latencies (ms, in order): ${inOrder.slice(0, WARMUP).join(', ')}`);
  const latencies = inOrder.slice(WARMUP).sort((x, y) => x - y);
  t.diagnostic(`steady gateway 202 → partials: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies.at(-1)} ms over ${latencies.length} batches`);
  assert.ok(percentile(latencies, 95) <= 1000, `batches at steady load visible within 1 s (p95 ${percentile(latencies, 95)} ms, max ${latencies.at(-1)} ms)`);
  // The same through the view's Subscribe stream.
  await waitFor(() => streamValue('received', 'day')?.value === received, { timeoutMs: 10_000, message: `the Subscribe stream to show ${received} received today` });
  const viaStream = acks.slice(WARMUP).map((a) => (streamSeen.find((s) => s.count >= a.count)?.atMs ?? Infinity) - a.atMs).sort((x, y) => x - y);
  t.diagnostic(`steady gateway 202 → Subscribe stream: p50 ${percentile(viaStream, 50)} ms, p95 ${percentile(viaStream, 95)} ms, max ${viaStream.at(-1)} ms`);
  assert.ok(percentile(viaStream, 95) <= 1000, `batches at steady load in the Subscribe stream within 1 s (p95 ${percentile(viaStream, 95)} ms, max ${viaStream.at(-1)} ms)`);
  assert.equal(streamValue('resolved', 'day')?.value ?? 0, resolved);
  assert.equal(streamValue('resolved_early', 'day')?.value ?? 0, resolved);
  assert.equal(streamValue('on_time_rate', 'day')?.value, 1);
  assert.equal(streamValue('online_share', 'day')?.numerator, online);
  assert.equal(streamValue('in_process', 'now')?.value, received - resolved);
  assert.equal(streamValue('in_process_overdue', 'now')?.value ?? 0, 0);

  // SPEC §2 values, counted by hand.
  const nowMs = Date.now();
  const values = evaluate(mergePartials([...latest.values()]), { nowMs });
  const v = (indicator: string, kind: string) => values.find((x) => x.indicator === indicator && x.window.kind === kind && x.window.current && x.scope.kind === 'province');
  assert.equal(v('received', 'day')?.value, received);
  assert.equal(v('resolved', 'day')?.value, resolved);
  assert.equal(v('resolved_early', 'day')?.value, resolved); // due in three days, resolved today
  assert.equal(v('on_time_rate', 'day')?.value, 1);
  assert.equal(v('online_share', 'day')?.numerator, online);
  assert.equal(v('online_share', 'day')?.denominator, received);
  assert.equal(v('digitized_at_intake_rate', 'day')?.value, 1);
  assert.equal(v('in_process', 'now')?.value, received - resolved);
  assert.equal(v('in_process_overdue', 'now')?.value, 0);
  // Unit scopes carry the catalog's unit group.
  const unitValue = values.find((x) => x.indicator === 'received' && x.window.kind === 'day' && x.window.current && x.scope.kind === 'unit' && x.scope.code === units[0]);
  assert.equal(unitValue?.scope.group, catalog.unit(units[0]!)?.group);
  // And every value equals the one-engine reference over the same events.
  assert.deepEqual(canonicalValues([...latest.values()], nowMs), canonicalValues(referencePartials(posted, catalog, nowMs, 2 * DAY), nowMs));
});

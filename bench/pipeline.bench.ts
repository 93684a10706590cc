/**
 * `npm run bench:pipeline` — the streaming pipeline on a real broker, in three bounded phases:
 *
 *  1. catch-up: the aggregator (createAggregator over the Kafka bus, in this process) replays a pre-filled
 *     events topic; events/s from its first applied record to the end of every partition, against kcat
 *     (librdkafka) consuming the same topic in the same run — the ceiling — and per-stage costs measured on
 *     the same records (kafkajs fetch through the bus, decode, engine apply) to show where the time goes;
 *  2. end to end: gateway and aggregator as their own processes, this process posting HTTP batches at a steady
 *     rate (default 10,000 events/s) and following the partials topic as a view does; per batch, the time from
 *     the POST to the first partials state counting all of it, split into gateway (until 202, Kafka acks=all),
 *     aggregator (202 → the partial record's append time) and the partials-topic read;
 *  3. fan-out: the view (createView, in this process) over a partials topic, 1,000 SSE subscribers in a child
 *     process; per update, the time from appending a partial record to each subscriber receiving the delta.
 *
 * Environment: KAFKA_BROKERS (else a broker is started), BENCH_CATCHUP_EVENTS (default 300000),
 * BENCH_E2E_RATE (events/s, default 10000), BENCH_E2E_SECONDS (measured, default 15), BENCH_E2E_WARMUP_SECONDS
 * (default 3), BENCH_FANOUT_SUBSCRIBERS (default 1000), BENCH_FANOUT_ROUNDS (default 20), BENCH_PHASES (default
 * catchup,e2e,fanout; a phase left out is reported as null).
 * Load goes only to 127.0.0.1. Ends with one JSON line:
 * {"bench":"pipeline","catchup_events_per_s":…,"ceiling_events_per_s":…,"ratio":…,"e2e_p50_ms":…,"e2e_p99_ms":…,"fanout_p99_ms":…}
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type KafkaBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { createPartitionEngine, decodePartialRecord, encodePartialRecordValue, makePartial, partialRecordKey, windowRef, MEASURE_COUNT, measureIndex } from '@iocbus/engine';
import { toCloudEventJson, toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import { kcatCount, startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { createAggregator } from '../services/aggregator/src/aggregator.js';
import { parseConfig } from '../services/aggregator/src/config.js';
import { fastDecode } from '../services/aggregator/src/decode.js';
import { dossierEvents, vnTime } from '../services/aggregator/src/workload.js';
import { killAll, readyz, startAggregator, startGateway, topicsFor } from '../test/aggregator/support.js';

const CATCHUP_EVENTS = Number(process.env.BENCH_CATCHUP_EVENTS ?? 300_000);
const E2E_RATE = Number(process.env.BENCH_E2E_RATE ?? 10_000);
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 15);
const E2E_WARMUP_SECONDS = Number(process.env.BENCH_E2E_WARMUP_SECONDS ?? 3);
const FANOUT_SUBSCRIBERS = Number(process.env.BENCH_FANOUT_SUBSCRIBERS ?? 1000);
const FANOUT_ROUNDS = Number(process.env.BENCH_FANOUT_ROUNDS ?? 20);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'catchup,e2e,fanout').split(','));
const PARTITIONS = 6;
const DAY = 86_400_000;

const now = (): number => performance.timeOrigin + performance.now();
const round = (x: number, digits = 0): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const catalog = await loadSampleCatalog();

// ---- 1. catch-up -------------------------------------------------------------------------------------------

interface CatchUp {
  events: number;
  eventsPerS: number;
  eventsPerSWithJoin: number;
  ceilingPerS: number;
  produceEventsPerS: number;
  cpuUsPerEvent: number;
  stages: { fetchPerS: number; decodePerS: number; applyPerS: number };
}

async function catchUp(brokers: string[], bus: KafkaBus): Promise<CatchUp> {
  const prefix = uniqueName('bench-catchup');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: PARTITIONS }]);
  const nowMs = Date.now();
  const sample: DossierEvent[] = [];
  let produced = 0;
  const started = now();
  let chunk = [];
  for (const e of dossierEvents(Number.MAX_SAFE_INTEGER, { catalog, nowMs, seed: 2024, prefix: 'C' })) {
    chunk.push(toKafkaRecord(e));
    if (sample.length < 100_000) sample.push(e);
    if (chunk.length === 10_000 || produced + chunk.length === CATCHUP_EVENTS) {
      await bus.log.append(topics.events, chunk);
      produced += chunk.length;
      chunk = [];
      if (produced >= CATCHUP_EVENTS) break;
    }
  }
  const produceEventsPerS = produced / ((now() - started) / 1000);
  log(`catch-up: ${produced} events produced at ${round(produceEventsPerS)} events/s (kafkajs, acks=all)`);

  // The ceiling: kcat reading the same topic, best of two runs (the first also warms the page cache).
  const kcatRates: number[] = [];
  for (let i = 0; i < 2; i++) {
    const t0 = now();
    const n = await kcatCount({ brokers, topic: topics.events, timeoutMs: 120_000 });
    if (n !== produced) throw new Error(`kcat counted ${n} records, expected ${produced}`);
    kcatRates.push(n / ((now() - t0) / 1000));
  }
  const ceilingPerS = Math.max(...kcatRates);
  log(`catch-up: kcat consumes ${kcatRates.map((r) => round(r)).join(' / ')} events/s`);

  // The aggregator, as `iocbus aggregator` runs it, over a bus of its own.
  const config = parseConfig({
    kafka: { brokers, groupId: `${prefix}-group`, maxWaitTimeMs: 100 },
    topics: { ...topics, eventsPartitions: PARTITIONS },
    log: { level: 'silent' },
  });
  const aggBus = createKafkaBus({
    brokers,
    clientId: 'bench-aggregator',
    clientLogLevel: 'nothing',
    consumer: { maxWaitTimeMs: config.kafka.maxWaitTimeMs, maxBytesPerPartition: config.kafka.maxBytesPerPartition, maxBytes: Math.max(6 * config.kafka.maxBytesPerPartition, 10 << 20) },
  });
  const aggregator = createAggregator({
    config,
    log: aggBus.log,
    source: aggBus.source,
    admin: aggBus.admin,
    catalog,
    logger: createLogger({ service: 'aggregator', level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
  });
  const ends = await bus.source.endOffsets(topics.events);
  const t0 = now();
  await aggregator.start();
  let tFirst = Number.NaN;
  let cpuFirst = 0;
  await waitFor(
    () => {
      const s = aggregator.status();
      if (Number.isNaN(tFirst) && s.appliedTotal > 0) {
        tFirst = now();
        cpuFirst = cpuMs();
      }
      return s.partitions.length === PARTITIONS && ends.every((e) => s.partitions.find((p) => p.partition === e.partition)?.position === e.high);
    },
    { timeoutMs: 600_000, intervalMs: 10, message: 'the aggregator to catch up' },
  );
  const tEnd = now();
  const cpuUsPerEvent = ((cpuMs() - cpuFirst) * 1000) / produced;
  await aggregator.stop();
  await aggBus.close();
  const eventsPerS = produced / ((tEnd - tFirst) / 1000);
  const eventsPerSWithJoin = produced / ((tEnd - t0) / 1000);
  log(`catch-up: aggregator ${round(eventsPerS)} events/s from its first event (${round(eventsPerSWithJoin)} including group join), ${round(cpuUsPerEvent, 1)} µs CPU per event`);

  // Where the time goes, on the same records: the bus's fetch alone, the decoder, the engine.
  // CPU µs per event as well as wall rates: on a shared machine the wall clock says more about the neighbours.
  const fetchBus = createKafkaBus({ brokers, clientId: 'bench-fetch', clientLogLevel: 'nothing', consumer: { maxWaitTimeMs: 100 } });
  let fetched = 0;
  const tf = now();
  const cf = cpuMs();
  const records: Parameters<typeof fastDecode>[0][] = [];
  await fetchBus.source.scanToEnd(topics.events, (rs) => {
    fetched += rs.length;
    if (records.length < 100_000) for (const r of rs) if (records.length < 100_000) records.push(r);
  });
  const fetchPerS = fetched / ((now() - tf) / 1000);
  const fetchCpuUs = ((cpuMs() - cf) * 1000) / fetched;
  await fetchBus.close();
  const td = now();
  const cd = cpuMs();
  const decoded = records.map((r) => fastDecode(r));
  const decodePerS = records.length / ((now() - td) / 1000);
  const decodeCpuUs = ((cpuMs() - cd) * 1000) / records.length;
  if (decoded.some((d) => d === undefined)) throw new Error('a bench record missed the fast decoder');
  const engine = createPartitionEngine({ catalog, allowedLatenessMs: 2 * DAY, clock: () => nowMs, initialCapacity: 4096 });
  const ta = now();
  const ca = cpuMs();
  for (const e of sample) engine.apply(e);
  const applyPerS = sample.length / ((now() - ta) / 1000);
  const applyCpuUs = ((cpuMs() - ca) * 1000) / sample.length;
  log(
    `catch-up stages (wall events/s; CPU µs per event): bus fetch ${round(fetchPerS)}/s, ${round(fetchCpuUs, 1)} µs; decode ${round(decodePerS)}/s, ${round(decodeCpuUs, 1)} µs; engine apply ${round(applyPerS)}/s, ${round(applyCpuUs, 1)} µs (the aggregator as a whole: ${round(cpuUsPerEvent, 1)} µs)`,
  );
  return { events: produced, eventsPerS, eventsPerSWithJoin, ceilingPerS, produceEventsPerS, cpuUsPerEvent, stages: { fetchPerS, decodePerS, applyPerS } };
}

// ---- 2. end to end ----------------------------------------------------------------------------------------

interface EndToEnd {
  rate: number;
  achievedRate: number;
  batches: number;
  p50: number;
  p99: number;
  max: number;
  gatewayP50: number;
  gatewayP99: number;
  aggregatorP50: number;
  aggregatorP99: number;
  readP50: number;
  readP99: number;
  lost: number;
}

interface BatchTrack {
  expected: number;
  sentAt: number;
  ackAt: number;
  doneAt: number;
  recordTs: number;
  counts: Map<number, number>;
  measured: boolean;
}

async function endToEnd(brokers: string[], bus: KafkaBus): Promise<EndToEnd> {
  const prefix = uniqueName('bench-e2e');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: PARTITIONS }]);
  const [gateway, aggregator] = await Promise.all([
    startGateway(brokers, topics.events),
    startAggregator(brokers, prefix, {
      IOCBUS_AGGREGATOR__TOPICS__EVENTS_PARTITIONS: String(PARTITIONS),
      IOCBUS_AGGREGATOR__PUBLISH__INTERVAL_MS: '100',
      IOCBUS_AGGREGATOR__CHECKPOINT__INTERVAL_MS: '10000',
    }),
  ]);
  await waitFor(async () => (await readyz(aggregator.port)).code === 200, { timeoutMs: 60_000, message: 'aggregator ready' });

  // Each batch's received dossiers carry their own procedure code, so its partial says when all of it arrived.
  const batches = new Map<string, BatchTrack>();
  const receivedIdx = measureIndex('received');
  const today = vnTime(Date.now()).slice(0, 10);
  const tail = await bus.source.tail({
    topic: topics.partials,
    from: 'earliest',
    onBatch: async (batch) => {
      const at = now();
      for (const r of batch.records) {
        const bar = r.key.indexOf('|procedure:');
        if (bar < 0 || !r.key.includes(`/day:${today}|`) || r.value.length === 0) continue;
        const track = batches.get(r.key.slice(bar + 11));
        if (track === undefined || track.doneAt > 0) continue;
        const rec = decodePartialRecord(r.key, r.value);
        if (rec.kind !== 'partial') continue;
        track.counts.set(rec.inputPartition, rec.partial.measures[receivedIdx] ?? 0);
        let sum = 0;
        for (const c of track.counts.values()) sum += c;
        if (sum >= track.expected) {
          track.doneAt = at;
          track.recordTs = r.timestamp;
        }
      }
    },
  });

  const perBatch = Math.max(1, Math.round(E2E_RATE / 20)); // a batch every 50 ms
  const totalBatches = Math.round((E2E_WARMUP_SECONDS + E2E_SECONDS) * 20);
  const warmupBatches = Math.round(E2E_WARMUP_SECONDS * 20);
  const units = catalog.units.map((u) => u.code);
  const recent: { code: string; unit: string; proc: string }[] = [];
  const inFlight = new Set<Promise<void>>();
  let lost = 0;
  let sentEvents = 0;
  const started = now();
  for (let b = 0; b < totalBatches; b++) {
    const due = started + b * 50;
    const wait = due - now();
    if (wait > 0) await delay(wait);
    while (inFlight.size >= 32) await Promise.race(inFlight);
    const tag = `9.${String(b).padStart(6, '0')}`;
    const at = Date.now();
    const events: DossierEvent[] = [];
    const resolvedShare = Math.floor(perBatch / 5);
    for (let i = 0; i < perBatch - resolvedShare; i++) {
      const unit = units[(b * 31 + i) % units.length]!;
      const code = `${prefix}-${b}-${i}`;
      events.push({
        specversion: '1.0',
        id: `r-${b}-${i}`,
        source: `/agencies/${unit}/igate`,
        type: 'vn.gov.tthc.dossier.received',
        time: vnTime(at),
        subject: code,
        data: { dossierCode: code, procedureCode: tag, sectorCode: 'G09-TP01', unitCode: unit, occurredAt: vnTime(at), receivedAt: vnTime(at), dueAt: vnTime(at + 3 * DAY), channel: i % 3 === 0 ? 'direct' : 'online', applicantType: 'citizen' },
      } as unknown as DossierEvent);
      if (recent.length < 50_000) recent.push({ code, unit, proc: tag });
    }
    for (let i = 0; i < resolvedShare && recent.length > 5 * perBatch; i++) {
      const d = recent.shift()!;
      events.push({
        specversion: '1.0',
        id: `z-${d.code}`,
        source: `/agencies/${d.unit}/igate`,
        type: 'vn.gov.tthc.dossier.resolved',
        time: vnTime(at),
        subject: d.code,
        data: { dossierCode: d.code, procedureCode: d.proc, sectorCode: 'G09-TP01', unitCode: d.unit, occurredAt: vnTime(at), resolvedAt: vnTime(at) },
      } as unknown as DossierEvent);
    }
    const track: BatchTrack = { expected: perBatch - resolvedShare, sentAt: now(), ackAt: 0, doneAt: 0, recordTs: 0, counts: new Map(), measured: b >= warmupBatches };
    batches.set(tag, track);
    sentEvents += events.length;
    const body = JSON.stringify(events.map(toCloudEventJson));
    const p = fetch(`${gateway.url}/v1/events:batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/cloudevents-batch+json' },
      body,
      signal: AbortSignal.timeout(30_000),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (res.status === 202) track.ackAt = now();
        else lost++;
      })
      .catch(() => void lost++)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const achievedRate = sentEvents / ((now() - started) / 1000);
  const measured = [...batches.values()].filter((t) => t.measured && t.ackAt > 0);
  await waitFor(() => measured.every((t) => t.doneAt > 0), { timeoutMs: 30_000, message: 'every batch visible in the partials' }).catch((err: unknown) =>
    log(`e2e: ${measured.filter((t) => t.doneAt === 0).length} batches never became visible (${String(err)})`),
  );
  await tail.stop();
  await Promise.all([gateway.proc.kill('SIGTERM'), aggregator.proc.kill('SIGTERM')]);
  const done = measured.filter((t) => t.doneAt > 0);
  const total = done.map((t) => t.doneAt - t.sentAt);
  const gw = done.map((t) => t.ackAt - t.sentAt);
  const agg = done.map((t) => t.recordTs - t.ackAt);
  const read = done.map((t) => t.doneAt - t.recordTs);
  const out: EndToEnd = {
    rate: E2E_RATE,
    achievedRate,
    batches: done.length,
    p50: percentile(total, 50),
    p99: percentile(total, 99),
    max: Math.max(...total),
    gatewayP50: percentile(gw, 50),
    gatewayP99: percentile(gw, 99),
    aggregatorP50: percentile(agg, 50),
    aggregatorP99: percentile(agg, 99),
    readP50: percentile(read, 50),
    readP99: percentile(read, 99),
    lost: lost + (measured.length - done.length),
  };
  log(
    `e2e: ${round(achievedRate)} events/s sent, ${done.length} batches of ${perBatch} measured; POST → visible p50 ${round(out.p50, 1)} ms, p99 ${round(out.p99, 1)} ms, max ${round(out.max, 1)} ms`,
  );
  log(
    `e2e split (p50 / p99 ms): gateway until 202 ${round(out.gatewayP50, 1)} / ${round(out.gatewayP99, 1)}; 202 → partial appended ${round(out.aggregatorP50, 1)} / ${round(out.aggregatorP99, 1)}; partials topic → reader ${round(out.readP50, 1)} / ${round(out.readP99, 1)}`,
  );
  return out;
}

// ---- 3. fan-out -------------------------------------------------------------------------------------------

interface FanOut {
  subscribers: number;
  rounds: number;
  p50: number;
  p99: number;
  max: number;
  missing: number;
}

async function fanOut(brokers: string[], bus: KafkaBus): Promise<FanOut | string> {
  let viewModule: typeof import('../services/view/src/index.js');
  let viewSupport: typeof import('../services/view/src/test-support.js');
  try {
    viewModule = await import('../services/view/src/index.js');
    viewSupport = await import('../services/view/src/test-support.js');
  } catch (err) {
    return `view factory not importable (${err instanceof Error ? err.message : String(err)})`;
  }
  const topic = `${uniqueName('bench-fanout')}-partials`;
  await bus.admin.ensureTopics([{ name: topic, partitions: 2, config: { 'cleanup.policy': 'compact' } }]);
  const dayIndex = Math.floor((Date.now() / 1000 + 7 * 3600) / 86_400);
  const window = windowRef('day', dayIndex);
  const record = (value: number) => {
    const measures = new Float64Array(MEASURE_COUNT);
    measures[measureIndex('received')] = value;
    measures[measureIndex('events_received_family')] = value;
    const p = makePartial(window, { kind: 'province', code: catalog.province.code }, measures, null, false, false);
    return { key: partialRecordKey(0, p.key), value: Buffer.from(encodePartialRecordValue(p)), headers: {} };
  };
  await bus.log.append(topic, [record(1)]);
  const config = viewModule.viewConfigSchema.parse({
    http: { host: '127.0.0.1', port: 0 },
    grpc: { host: '127.0.0.1', port: 0 },
    kafka: { brokers },
    partials: { topic },
    subscribe: { maxSubscribers: FANOUT_SUBSCRIBERS + 100 },
    log: { level: 'silent' },
  });
  const viewBus = createKafkaBus({ brokers, clientId: 'bench-view', clientLogLevel: 'nothing', consumer: { maxWaitTimeMs: 100 } });
  const view = await viewSupport.startView(viewBus.source, { config, catalog });
  const subscribers = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./pipeline-subscribers.ts', import.meta.url)), String(view.httpPort), String(FANOUT_SUBSCRIBERS), '/v1/indicators:stream?indicator=received&scope=province&window=today'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: subscribers.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  try {
    await waitFor(() => lines.some((l) => l.connected === FANOUT_SUBSCRIBERS), { timeoutMs: 60_000, message: `${FANOUT_SUBSCRIBERS} subscribers connected` });
    await delay(500);
    const latencies: number[] = [];
    let missing = 0;
    for (let r = 0; r < FANOUT_ROUNDS; r++) {
      const value = 2 + r;
      const t0 = now();
      await bus.log.append(topic, [record(value)]);
      const line = await waitFor(() => lines.find((l) => l.value === value), { timeoutMs: 15_000, message: `value ${value} at every subscriber` });
      const times = line.times as number[];
      missing += FANOUT_SUBSCRIBERS - times.length;
      for (const t of times) latencies.push(t - t0);
      await delay(100);
    }
    const out = { subscribers: FANOUT_SUBSCRIBERS, rounds: FANOUT_ROUNDS, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies), missing };
    log(`fan-out: ${FANOUT_SUBSCRIBERS} SSE subscribers × ${FANOUT_ROUNDS} updates; append → delivered p50 ${round(out.p50, 1)} ms, p99 ${round(out.p99, 1)} ms, max ${round(out.max, 1)} ms, missing ${missing}`);
    return out;
  } finally {
    subscribers.kill('SIGTERM');
    await view.close();
    await viewBus.close();
  }
}

// ---- run ----------------------------------------------------------------------------------------------------

const kafka = await startKafka();
const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'bench-pipeline', clientLogLevel: 'nothing', consumer: { maxWaitTimeMs: 20 } });
let result: Record<string, unknown> = {};
try {
  log(`pipeline bench on Kafka ${kafka.version} at ${kafka.brokers.join(',')}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
  const c = PHASES.has('catchup') ? await catchUp(kafka.brokers, bus) : undefined;
  const e = PHASES.has('e2e') ? await endToEnd(kafka.brokers, bus) : undefined;
  const f = PHASES.has('fanout') ? await fanOut(kafka.brokers, bus) : 'phase not run';
  if (typeof f === 'string') log(`fan-out: not measured: ${f}`);
  result = {
    bench: 'pipeline',
    catchup_events_per_s: c === undefined ? null : round(c.eventsPerS),
    ceiling_events_per_s: c === undefined ? null : round(c.ceilingPerS),
    ratio: c === undefined ? null : round(c.eventsPerS / c.ceilingPerS, 3),
    e2e_p50_ms: e === undefined ? null : round(e.p50, 1),
    e2e_p99_ms: e === undefined ? null : round(e.p99, 1),
    fanout_p99_ms: typeof f === 'string' ? null : round(f.p99, 1),
  };
  log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await killAll();
  await bus.close();
  await kafka.stop();
}
process.stdout.write(`${JSON.stringify(result)}\n`);

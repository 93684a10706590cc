/**
 * `npm run bench:pipeline` — the streaming pipeline on a real broker, in three bounded phases, run in the order
 * 2, 3, 1: the two latency phases on a broker that has carried no other load yet, the throughput phase last.
 *
 *  1. catch-up: the aggregator (createAggregator over the Kafka bus, in this process) replays a pre-filled
 *     events topic; events/s from its first applied record to the end of every partition, against kcat
 *     (librdkafka) consuming the same topic in the same run — the ceiling — and per-stage costs measured on
 *     the same records (the bus's own fetch and record-batch decoding, decode, engine apply) to show where the time goes;
 *  2. end to end: gateway, aggregator and view as their own processes (the aggregator's and view's latency
 *     settings at their production defaults), this process posting HTTP batches at a steady rate (default
 *     10,000 events/s; the bodies are built and encoded before the clock starts and each is written in one go
 *     by node's http client, so the load generator costs little while measuring: 6–7 µs of CPU per event,
 *     against 9–11 with fetch), following the partials topic as a view does and holding one SSE stream on the view. Each
 *     batch carries its own procedure code; per batch, the time from the POST until the view's subscriber holds
 *     its whole count (e2e_p50_ms / e2e_p99_ms: the path a wall screen sees), and until the partials topic
 *     does (e2e_partials_*: the figure this bench reported before the view was part of it), split into gateway
 *     (POST → 202, Kafka acks=all), aggregator (202 → the partial record's append time, as stamped by the
 *     aggregator; negative when this process saw the 202 late), the partials-topic read and the view (append →
 *     SSE receipt). Also reported: CPU µs per event of every process (gateway, aggregator, view, broker when
 *     this bench started it, the bench itself) over the measured seconds, this process's event-loop delay
 *     (the error bar of each time it takes), and the aggregator's event-loop delay over the measured seconds
 *     (p99 and max, from its /metrics) with its checkpoint snapshots (how many, mean ms: the loop is blocked
 *     for each). IOCBUS_GATEWAY__*, IOCBUS_AGGREGATOR__* and IOCBUS_VIEW__*
 *     variables set for the bench are handed to those services (A/B of a setting); BENCH_CPU_PROF_DIR makes each
 *     service write a V8 CPU profile there.
 *  3. fan-out: the view (createView with its production config, in this process) over a partials topic,
 *     1,000 SSE subscribers in BENCH_FANOUT_CLIENT_PROCESSES child processes (default 1), all with one filter;
 *     per update, the time from appending a partial record to each subscriber receiving the delta
 *     (fanout_p99_ms, every stream × update), split into append → the round's first stream, first → last stream,
 *     the server's hand-off to all streams (wall and CPU, from the view's publish observer) and the client
 *     processes' CPU per update: all streams of a client process are read one after another on one event
 *     loop, so the later streams' times include the client's work on the earlier ones. Also each side's
 *     process CPU per update over all rounds (BENCH_CPU_PROF_DIR profiles the client processes too).
 *
 * Figures. Three full runs one after another on a quiet machine (load average 0–2, at 63a2955):
 *  - catch-up (300,000 events): 272,972 / 322,853 / 309,969 events/s from the aggregator's first event
 *    (147,470 / 198,616 / 192,368 including the group join), kcat 422k–438k (ratio 0.64–0.74); 3.9–4.3 µs of
 *    aggregator CPU per event: bus fetch 2.9–3.4, decode 1.3–1.4, engine apply 2.5–3.2 µs as stages measured on
 *    the same records. Where it goes and what changed: services/aggregator/README.md "Catch-up".
 *  - e2e at 10,000 events/s, POST → view subscriber p50 75–78 ms, p99 130–135 ms; split p50 / p99: gateway until
 *    202 11 / 30–33, 202 → partial appended 43–50 / 67–100 (the aggregator publishes at most every 100 ms),
 *    appended → view's SSE subscriber 13–14 / 21–39. CPU per event: gateway 15–17 µs, aggregator 16–21, view
 *    14–17, broker 16–17, bench 8–9: about 0.7 of a core for the pipeline.
 *  - fan-out, 1,000 SSE streams, one client process (raw sockets, every event parsed and checked): append →
 *    delivered p50 13–14 ms, p99 27–41 ms; append → first stream p99 6–7 ms; the server's hand-off to all
 *    streams p99 23–37 ms wall, 26–32 ms CPU (3–4 ms of it JavaScript, the rest the kernel's socket writes);
 *    client CPU per update p50 10–12 ms.
 * On the same machine shared with other benchmarks (load 9–30), every wall figure swings by several times:
 * compare CPU per event and A/B pairs there. Two effects seen then: right after a catch-up the broker stayed busy
 * with its topic (e2e p99 581 ms against 176 alone), which is why the latency phases run first; and with 20
 * fan-out rounds one round in which a process is descheduled mid-hand-off sets the p99 (57–132 ms at load 9–16).
 *
 * Environment: KAFKA_BROKERS (else a broker is started), BENCH_CATCHUP_EVENTS (default 300000),
 * BENCH_E2E_RATE (events/s, default 10000), BENCH_E2E_SECONDS (measured, default 15), BENCH_E2E_WARMUP_SECONDS
 * (default 3), BENCH_FANOUT_SUBSCRIBERS (default 1000), BENCH_FANOUT_ROUNDS (default 20),
 * BENCH_FANOUT_CLIENT_PROCESSES (default 1), BENCH_CPU_PROF_DIR, BENCH_PHASES (default catchup,e2e,fanout; in
 * any order, they run e2e, fan-out, catch-up; a phase left out is reported as null).
 * Load goes only to 127.0.0.1. Ends with one JSON line:
 * {"bench":"pipeline","catchup_events_per_s":…,"ceiling_events_per_s":…,"ratio":…,"e2e_p50_ms":…,"e2e_p99_ms":…,
 *  "e2e_partials_p50_ms":…,"e2e_partials_p99_ms":…,"fanout_p99_ms":…,"fanout_first_p99_ms":…,
 *  "fanout_server_handoff_cpu_p99_ms":…,"fanout_client_cpu_p99_ms":…}
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type KafkaBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { createPartitionEngine, decodePartialRecord, encodePartialRecordValue, makePartial, partialRecordKey, windowRef, MEASURE_COUNT, measureIndex } from '@iocbus/engine';
import { toCloudEventJson, toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import type { PublishInfo } from '../services/view/src/index.js';
import { kcatCount, startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { createAggregator } from '../services/aggregator/src/aggregator.js';
import { parseConfig } from '../services/aggregator/src/config.js';
import { fastDecode } from '../services/aggregator/src/decode.js';
import { dossierEvents, vnTime } from '../services/aggregator/src/workload.js';
import { killAll, readyz, startAggregator, startGateway, startViewProcess, topicsFor } from '../test/aggregator/support.js';
import { onSseBlocks } from './sse-blocks.js';

const CATCHUP_EVENTS = Number(process.env.BENCH_CATCHUP_EVENTS ?? 300_000);
const E2E_RATE = Number(process.env.BENCH_E2E_RATE ?? 10_000);
const E2E_SECONDS = Number(process.env.BENCH_E2E_SECONDS ?? 15);
const E2E_WARMUP_SECONDS = Number(process.env.BENCH_E2E_WARMUP_SECONDS ?? 3);
const FANOUT_SUBSCRIBERS = Number(process.env.BENCH_FANOUT_SUBSCRIBERS ?? 1000);
const FANOUT_ROUNDS = Number(process.env.BENCH_FANOUT_ROUNDS ?? 20);
const FANOUT_CLIENT_PROCESSES = Number(process.env.BENCH_FANOUT_CLIENT_PROCESSES ?? 1);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR;
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

/** CPU time (user + system) of any process on this machine, from /proc (clock ticks of 10 ms); NaN when unreadable. */
function procCpuMs(pid: number | undefined): number {
  if (pid === undefined || pid <= 0) return Number.NaN;
  try {
    // Fields after the parenthesised command name: state is the 1st, utime the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS = 100;

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
  const workload = { catalog, nowMs, seed: 2024, prefix: 'C' };
  let produced = 0;
  const started = now();
  let chunk = [];
  for (const e of dossierEvents(Number.MAX_SAFE_INTEGER, workload)) {
    chunk.push(toKafkaRecord(e));
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
  // Fetch sizes as main.ts sets them.
  const aggConsumer = { maxBytesPerPartition: config.kafka.maxBytesPerPartition, maxBytes: Math.max(6 * config.kafka.maxBytesPerPartition, 10 << 20) };
  const aggBus = createKafkaBus({
    brokers,
    clientId: 'bench-aggregator',
    clientLogLevel: 'nothing',
    consumer: { ...aggConsumer, maxWaitTimeMs: config.kafka.maxWaitTimeMs },
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
  // With the aggregator's fetch sizes (a scan's default 64 KiB asks the broker ~60 times as often).
  const fetchBus = createKafkaBus({ brokers, clientId: 'bench-fetch', clientLogLevel: 'nothing', consumer: { ...aggConsumer, maxWaitTimeMs: 100 } });
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
  // The same first events again (the workload is deterministic): kept alive through the aggregator's run, 100k
  // events in this process's old generation made every one of its major GCs mark them.
  const sample: DossierEvent[] = [];
  for (const e of dossierEvents(Number.MAX_SAFE_INTEGER, workload)) if (sample.push(e) === Math.min(100_000, produced)) break;
  const engine = createPartitionEngine({ catalog, allowedLatenessMs: 2 * DAY, clock: () => nowMs, initialCapacity: 4096 });
  const ta = now();
  const ca = cpuMs();
  for (const e of sample) engine.apply(e);
  // The engine defers part of each apply to its next flush (here, as in a publication, drainChanges).
  engine.drainChanges();
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
  /** POST → the view's subscriber holds the batch's count (the whole path). */
  p50: number;
  p99: number;
  max: number;
  /** POST → the first partials state counting the batch (what a view reads, without the view). */
  partialsP50: number;
  partialsP99: number;
  gatewayP50: number;
  gatewayP99: number;
  aggregatorP50: number;
  aggregatorP99: number;
  readP50: number;
  readP99: number;
  viewP50: number;
  viewP99: number;
  /** The bench process's own event-loop delay while measuring: the error bar of every time it takes. */
  benchLoopDelayP99: number;
  /** CPU µs per event sent, per process, over the measured seconds. */
  cpuUsPerEvent: Record<string, number>;
  /** The aggregator's event-loop delay over the measured seconds (its /metrics, which prom-client resets per scrape). */
  aggregatorLoopDelay: { p99Ms: number; maxMs: number };
  /** The aggregator's checkpoint snapshots over the whole run (event loop blocked meanwhile): count, mean ms. */
  aggregatorSnapshots: { count: number; meanMs: number };
  lost: number;
}

/** Samples of a Prometheus text exposition, by series name (labels ignored: the first sample wins). */
async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z0-9_:]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (m !== null && !out.has(m[1]!)) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

interface BatchTrack {
  expected: number;
  sentAt: number;
  ackAt: number;
  /** Partials topic: when the bench's reader had the whole batch, and the append time of that record. */
  doneAt: number;
  recordTs: number;
  /** When the view's SSE subscriber held the whole batch. */
  viewAt: number;
  counts: Map<number, number>;
  measured: boolean;
}

/** One SSE stream on the view; `onDelta` gets each delta's values with the time its chunk arrived. */
function followSse(port: number, path: string, onDelta: (values: unknown[], at: number) => void): { close(): void } {
  const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`view stream answered ${res.statusCode}`);
    onSseBlocks(res, (block, at) => {
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if ((event === 'delta' || event === 'snapshot') && data !== '') onDelta((JSON.parse(data) as { values: unknown[] }).values, at);
    });
  });
  req.on('error', (err) => log(`e2e: view stream failed: ${err.message}`));
  req.end();
  return { close: () => req.destroy() };
}

/** A batch of `perBatch` events tagged with its own procedure code: `received` for new dossiers, some `resolved`. */
function e2eBatch(b: number, perBatch: number, prefix: string, units: string[], recent: { code: string; unit: string; proc: string }[]): { tag: string; expected: number; body: Buffer; events: number } {
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
  return { tag, expected: perBatch - resolvedShare, body: Buffer.from(JSON.stringify(events.map(toCloudEventJson))), events: events.length };
}

// The load generator's requests: node's http client with the body already encoded, one write per request
// (fetch streamed each string body through a ReadableStream: this process took 9–11 µs of CPU per event, now 6–7).
const postAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });

/** POSTs `body`; resolves with the status once the response is read. */
function post(url: URL, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: postAgent, headers: { ...headers, 'content-length': String(body.length) }, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** The bench's own IOCBUS_<SERVICE>__* variables, handed to that service's process (A/B of a setting). */
function passed(prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined));
}

async function endToEnd(brokers: string[], bus: KafkaBus, brokerPid: number | undefined): Promise<EndToEnd> {
  const prefix = uniqueName('bench-e2e');
  const topics = topicsFor(prefix);
  await bus.admin.ensureTopics([{ name: topics.events, partitions: PARTITIONS }]);
  // The aggregator's and the view's latency settings are their production defaults (the test harness shortens
  // them), so this measures what a deployment gets.
  const agg = parseConfig({ kafka: { brokers } });
  // BENCH_CPU_PROF_DIR: each service writes a V8 CPU profile there when it stops (where its time goes).
  const prof = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`];
  const [gateway, aggregator, view] = await Promise.all([
    startGateway(brokers, topics.events, passed('IOCBUS_GATEWAY__'), prof),
    startAggregator(brokers, prefix, {
      IOCBUS_AGGREGATOR__TOPICS__EVENTS_PARTITIONS: String(PARTITIONS),
      IOCBUS_AGGREGATOR__KAFKA__MAX_WAIT_TIME_MS: String(agg.kafka.maxWaitTimeMs),
      IOCBUS_AGGREGATOR__PUBLISH__INTERVAL_MS: String(agg.publish.intervalMs),
      IOCBUS_AGGREGATOR__CHECKPOINT__INTERVAL_MS: String(agg.checkpoint.intervalMs),
      IOCBUS_AGGREGATOR__CHECKPOINT__HEARTBEAT_EVERY_RECORDS: String(agg.checkpoint.heartbeatEveryRecords),
      ...passed('IOCBUS_AGGREGATOR__'),
    }, prof),
    startViewProcess(brokers, topics.partials, passed('IOCBUS_VIEW__'), prof),
  ]);
  await waitFor(async () => (await readyz(aggregator.port)).code === 200, { timeoutMs: 60_000, message: 'aggregator ready' });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${view.httpPort}/readyz`)).status === 200, { timeoutMs: 60_000, message: 'view ready' });

  // The bodies are built before the clock starts, so the load generator costs little CPU while measuring.
  const perBatch = Math.max(1, Math.round(E2E_RATE / 20)); // a batch every 50 ms
  const totalBatches = Math.round((E2E_WARMUP_SECONDS + E2E_SECONDS) * 20);
  const warmupBatches = Math.round(E2E_WARMUP_SECONDS * 20);
  const units = catalog.units.map((u) => u.code);
  const recent: { code: string; unit: string; proc: string }[] = [];
  const planned = Array.from({ length: totalBatches }, (_, b) => e2eBatch(b, perBatch, prefix, units, recent));

  // Each batch's received dossiers carry their own procedure code, so its value says when all of it arrived.
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
  // What a wall screen sees: the view's SSE stream of today's `received` per procedure.
  const subscriber = followSse(view.httpPort, '/v1/indicators:stream?indicator=received&scope=procedure&window=today', (values, at) => {
    for (const v of values as { scope: { code?: string }; value: number | null }[]) {
      const track = v.scope.code === undefined ? undefined : batches.get(v.scope.code);
      if (track !== undefined && track.viewAt === 0 && (v.value ?? 0) >= track.expected) track.viewAt = at;
    }
  });

  const gatewayUrl = new URL(`${gateway.url}/v1/events:batch`);
  const headers = { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/cloudevents-batch+json' };
  const inFlight = new Set<Promise<void>>();
  let lost = 0;
  let sentEvents = 0;
  let measuredEvents = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  const pids: Record<string, number | undefined> = { gateway: gateway.proc.child.pid, aggregator: aggregator.proc.child.pid, view: view.proc.child.pid, broker: brokerPid, bench: process.pid };
  let cpuAtWarm: Record<string, number> = {};
  let measureStart = Number.NaN;
  const started = now();
  for (let b = 0; b < totalBatches; b++) {
    const due = started + b * 50;
    const wait = due - now();
    if (wait > 0) await delay(wait);
    while (inFlight.size >= 32) await Promise.race(inFlight);
    if (b === warmupBatches) {
      measureStart = now();
      cpuAtWarm = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procCpuMs(pid)]));
      loopDelay.enable();
      // A scrape resets the aggregator's event-loop delay histogram: the one after the run covers the measured seconds.
      void scrapeMetrics(aggregator.port).catch((err: unknown) => log(`e2e: aggregator metrics: ${String(err)}`));
    }
    const { tag, expected, body, events } = planned[b]!;
    const track: BatchTrack = { expected, sentAt: now(), ackAt: 0, doneAt: 0, recordTs: 0, viewAt: 0, counts: new Map(), measured: b >= warmupBatches };
    batches.set(tag, track);
    sentEvents += events;
    if (track.measured) measuredEvents += events;
    const p = post(gatewayUrl, body, headers)
      .then((status) => {
        if (status === 202) track.ackAt = now();
        else lost++;
      })
      .catch(() => void lost++)
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const measuredRate = measuredEvents / ((now() - measureStart) / 1000);
  const cpuUsPerEvent = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((procCpuMs(pid) - (cpuAtWarm[k] ?? Number.NaN)) * 1000) / measuredEvents]));
  loopDelay.disable();
  const aggMetrics = await scrapeMetrics(aggregator.port).catch(() => new Map<string, number>());
  const aggregatorLoopDelay = { p99Ms: (aggMetrics.get('nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000, maxMs: (aggMetrics.get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000 };
  const snapshotCount = aggMetrics.get('iocbus_aggregator_checkpoint_snapshot_duration_seconds_count') ?? Number.NaN;
  const aggregatorSnapshots = { count: snapshotCount, meanMs: ((aggMetrics.get('iocbus_aggregator_checkpoint_snapshot_duration_seconds_sum') ?? Number.NaN) * 1000) / snapshotCount };
  const achievedRate = sentEvents / ((now() - started) / 1000);
  const measured = [...batches.values()].filter((t) => t.measured && t.ackAt > 0);
  await waitFor(() => measured.every((t) => t.doneAt > 0 && t.viewAt > 0), { timeoutMs: 30_000, message: 'every batch visible in the partials and at the subscriber' }).catch((err: unknown) =>
    log(`e2e: ${measured.filter((t) => t.doneAt === 0 || t.viewAt === 0).length} batches never became visible (${String(err)})`),
  );
  subscriber.close();
  await tail.stop();
  await Promise.all([gateway.proc.kill('SIGTERM'), aggregator.proc.kill('SIGTERM'), view.proc.kill('SIGTERM')]);
  postAgent.destroy();
  const done = measured.filter((t) => t.doneAt > 0 && t.viewAt > 0);
  const pct = (f: (t: BatchTrack) => number): [number, number] => {
    const xs = done.map(f);
    return [percentile(xs, 50), percentile(xs, 99)];
  };
  const total = done.map((t) => t.viewAt - t.sentAt);
  const [partialsP50, partialsP99] = pct((t) => t.doneAt - t.sentAt);
  const [gatewayP50, gatewayP99] = pct((t) => t.ackAt - t.sentAt);
  const [aggregatorP50, aggregatorP99] = pct((t) => t.recordTs - t.ackAt);
  const [readP50, readP99] = pct((t) => t.doneAt - t.recordTs);
  const [viewP50, viewP99] = pct((t) => t.viewAt - t.recordTs);
  const out: EndToEnd = {
    rate: E2E_RATE,
    achievedRate,
    batches: done.length,
    p50: percentile(total, 50),
    p99: percentile(total, 99),
    max: Math.max(...total),
    partialsP50,
    partialsP99,
    gatewayP50,
    gatewayP99,
    aggregatorP50,
    aggregatorP99,
    readP50,
    readP99,
    viewP50,
    viewP99,
    benchLoopDelayP99: loopDelay.percentile(99) / 1e6,
    cpuUsPerEvent,
    aggregatorLoopDelay,
    aggregatorSnapshots,
    lost: lost + (measured.length - done.length),
  };
  const ms = (a: number, b: number): string => `${round(a, 1)} / ${round(b, 1)}`;
  log(
    `e2e: ${round(achievedRate)} events/s sent, ${done.length} batches of ${perBatch} measured; POST → view subscriber p50 ${round(out.p50, 1)} ms, p99 ${round(out.p99, 1)} ms, max ${round(out.max, 1)} ms; POST → partials topic p50 ${round(partialsP50, 1)}, p99 ${round(partialsP99, 1)} ms`,
  );
  log(
    `e2e split (p50 / p99 ms): gateway until 202 ${ms(gatewayP50, gatewayP99)}; 202 → partial appended ${ms(aggregatorP50, aggregatorP99)}; appended → bench's partials reader ${ms(readP50, readP99)}; appended → view's SSE subscriber ${ms(viewP50, viewP99)}; bench event-loop delay p99 ${round(out.benchLoopDelayP99, 1)} ms; aggregator event-loop delay p99 ${round(aggregatorLoopDelay.p99Ms, 1)} / max ${round(aggregatorLoopDelay.maxMs, 1)} ms, checkpoint snapshots ${aggregatorSnapshots.count} of mean ${round(aggregatorSnapshots.meanMs, 1)} ms`,
  );
  const rate = measuredRate;
  log(
    `e2e CPU per event (µs; share of one core at ${round(rate)} events/s): ${Object.entries(cpuUsPerEvent)
      .map(([k, us]) => `${k} ${round(us, 1)} (${round((us * rate) / 1e4)} %)`)
      .join(', ')}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  );
  return out;
}

// ---- 3. fan-out -------------------------------------------------------------------------------------------

interface FanOut {
  subscribers: number;
  clientProcesses: number;
  rounds: number;
  /** Append → each subscriber holds the update: every (stream, round) sample. */
  p50: number;
  p99: number;
  max: number;
  /** Append → the first stream of each round holds it (the pipeline with the least client queueing), p50/p99 over rounds. */
  firstP50: number;
  firstP99: number;
  /** First → last stream of a round, as the clients saw it. */
  spreadP50: number;
  spreadP99: number;
  /** Server: the view's hand-off of one update to every stream, wall and CPU ms, p99 over rounds. */
  serverHandoffP99: number;
  serverHandoffCpuP99: number;
  /** Client processes: CPU ms from a round's first receipt to its last (summed over client processes), and inside the bench's handlers. */
  clientCpuP50: number;
  clientCpuP99: number;
  clientHandlerP99: number;
  /**
   * CPU ms per update over all rounds (the rounds' total divided by their number, so the work a round leaves
   * for later counts too): this process (the view, and this bench's appends and polling), the client processes.
   */
  viewProcessCpuPerUpdate: number;
  clientProcessCpuPerUpdate: number;
  missing: number;
}

async function fanOut(brokers: string[], bus: KafkaBus): Promise<FanOut | string> {
  let viewModule: typeof import('../services/view/src/index.js');
  try {
    viewModule = await import('../services/view/src/index.js');
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
  // The view as `iocbus view` runs it (production defaults, its fetch wait included), in this process.
  const config = viewModule.viewConfigSchema.parse({
    http: { host: '127.0.0.1', port: 0 },
    grpc: { host: '127.0.0.1', port: 0 },
    kafka: { brokers },
    partials: { topic },
    subscribe: { maxSubscribers: FANOUT_SUBSCRIBERS + 100 },
    log: { level: 'silent' },
  });
  const viewBus = createKafkaBus({ brokers, clientId: 'bench-view', clientLogLevel: 'nothing', consumer: { maxWaitTimeMs: config.kafka.maxWaitTimeMs } });
  const publishes: PublishInfo[] = [];
  const view = viewModule.createView({
    config,
    source: viewBus.source,
    catalog,
    logger: createLogger({ service: 'view', level: 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
    onPublished: (p) => {
      if (p.messages >= FANOUT_SUBSCRIBERS) publishes.push(p);
    },
  });
  const { httpPort } = await view.listen();
  await view.start();
  await view.ready;
  const path = '/v1/indicators:stream?indicator=received&scope=province&window=today';
  const clients = Array.from({ length: FANOUT_CLIENT_PROCESSES }, (_, i) => {
    const n = Math.floor(FANOUT_SUBSCRIBERS / FANOUT_CLIENT_PROCESSES) + (i < FANOUT_SUBSCRIBERS % FANOUT_CLIENT_PROCESSES ? 1 : 0);
    const prof = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`];
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', fileURLToPath(new URL('./pipeline-subscribers.ts', import.meta.url)), String(httpPort), String(n), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    return { child, n, lines };
  });
  try {
    await waitFor(() => clients.every((c) => c.lines.some((l) => l.connected === c.n)), { timeoutMs: 60_000, message: `${FANOUT_SUBSCRIBERS} subscribers connected` });
    await delay(500);
    const latencies: number[] = [];
    const first: number[] = [];
    const spread: number[] = [];
    const clientCpu: number[] = [];
    const clientHandler: number[] = [];
    publishes.length = 0;
    let missing = 0;
    const clientCpuAt: number[] = [];
    const viewCpuAt: number[] = [];
    for (let r = 0; r < FANOUT_ROUNDS; r++) {
      const value = 2 + r;
      const t0 = now();
      await bus.log.append(topic, [record(value)]);
      const lines = await Promise.all(clients.map((c) => waitFor(() => c.lines.find((l) => l.value === value), { timeoutMs: 15_000, message: `value ${value} at every subscriber` })));
      viewCpuAt.push(cpuMs());
      const times = lines.flatMap((l) => l.times as number[]);
      missing += FANOUT_SUBSCRIBERS - times.length;
      for (const t of times) latencies.push(t - t0);
      first.push(Math.min(...times) - t0);
      spread.push(Math.max(...times) - Math.min(...times));
      clientCpu.push(lines.reduce((n, l) => n + (l.cpuMs as number), 0));
      clientHandler.push(lines.reduce((n, l) => n + (l.handlerMs as number), 0));
      clientCpuAt.push(lines.reduce((n, l) => n + (l.cpuTotalMs as number), 0));
      await delay(100);
    }
    const perUpdate = (at: number[]): number => ((at.at(-1) as number) - (at[0] as number)) / (at.length - 1);
    const out: FanOut = {
      subscribers: FANOUT_SUBSCRIBERS,
      clientProcesses: FANOUT_CLIENT_PROCESSES,
      rounds: FANOUT_ROUNDS,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      firstP50: percentile(first, 50),
      firstP99: percentile(first, 99),
      spreadP50: percentile(spread, 50),
      spreadP99: percentile(spread, 99),
      serverHandoffP99: percentile(publishes.map((p) => p.fanoutMs), 99),
      serverHandoffCpuP99: percentile(publishes.map((p) => p.fanoutCpuMs), 99),
      clientCpuP50: percentile(clientCpu, 50),
      clientCpuP99: percentile(clientCpu, 99),
      clientHandlerP99: percentile(clientHandler, 99),
      viewProcessCpuPerUpdate: perUpdate(viewCpuAt),
      clientProcessCpuPerUpdate: perUpdate(clientCpuAt),
      missing,
    };
    const ms = (a: number, b: number): string => `${round(a, 1)} / ${round(b, 1)}`;
    log(
      `fan-out: ${FANOUT_SUBSCRIBERS} SSE subscribers in ${FANOUT_CLIENT_PROCESSES} client process(es) × ${FANOUT_ROUNDS} updates; append → delivered p50 ${round(out.p50, 1)} ms, p99 ${round(out.p99, 1)} ms, max ${round(out.max, 1)} ms, missing ${missing}`,
    );
    log(
      `fan-out split (p50 / p99 ms): append → first stream ${ms(out.firstP50, out.firstP99)}; first → last stream ${ms(out.spreadP50, out.spreadP99)}; server hand-off to all streams p99 ${round(out.serverHandoffP99, 1)} (CPU ${round(out.serverHandoffCpuP99, 1)}); client CPU per update ${ms(out.clientCpuP50, out.clientCpuP99)} (in the bench's handlers p99 ${round(out.clientHandlerP99, 1)}); process CPU per update over the rounds: view (with this bench) ${round(out.viewProcessCpuPerUpdate, 1)}, clients ${round(out.clientProcessCpuPerUpdate, 1)}`,
    );
    return out;
  } finally {
    for (const c of clients) c.child.kill('SIGTERM');
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
  // Latency phases first (see the header: after catch-up the broker was still busy).
  const e = PHASES.has('e2e') ? await endToEnd(kafka.brokers, bus, kafka.pid) : undefined;
  const f = PHASES.has('fanout') ? await fanOut(kafka.brokers, bus) : 'phase not run';
  const c = PHASES.has('catchup') ? await catchUp(kafka.brokers, bus) : undefined;
  if (typeof f === 'string') log(`fan-out: not measured: ${f}`);
  result = {
    bench: 'pipeline',
    catchup_events_per_s: c === undefined ? null : round(c.eventsPerS),
    ceiling_events_per_s: c === undefined ? null : round(c.ceilingPerS),
    ratio: c === undefined ? null : round(c.eventsPerS / c.ceilingPerS, 3),
    e2e_p50_ms: e === undefined ? null : round(e.p50, 1),
    e2e_p99_ms: e === undefined ? null : round(e.p99, 1),
    e2e_partials_p50_ms: e === undefined ? null : round(e.partialsP50, 1),
    e2e_partials_p99_ms: e === undefined ? null : round(e.partialsP99, 1),
    fanout_p99_ms: typeof f === 'string' ? null : round(f.p99, 1),
    fanout_first_p99_ms: typeof f === 'string' ? null : round(f.firstP99, 1),
    fanout_server_handoff_cpu_p99_ms: typeof f === 'string' ? null : round(f.serverHandoffCpuP99, 1),
    fanout_client_cpu_p99_ms: typeof f === 'string' ? null : round(f.clientCpuP99, 1),
  };
  log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await killAll();
  await bus.close();
  await kafka.stop();
}
process.stdout.write(`${JSON.stringify(result)}\n`);

/**
 * `npm run bench:view` (node --expose-gc --import tsx bench/view-publish.bench.ts) — the view's per-publish work, in process, without Kafka: what
 * ViewCore.apply + ViewCore.publish cost for the partials of the e2e phase of bench:pipeline (10,000 events/s in
 * batches of 500 every 50 ms, each batch with its own procedure code, units round-robin, a fifth of the events
 * resolving earlier dossiers; six aggregator partitions publishing every 100 ms).
 *
 * The partial records are produced first, by six real partition engines on simulated time, and replayed into a
 * ViewCore afterwards, one publish per aggregator round: the figures are CPU time (process.cpuUsage) of apply
 * and of publish per round and per event, medians over BENCH_VIEW_REPEATS replays. Deterministic input, so A/B
 * runs of two commits compare the same work.
 *
 * Environment: BENCH_VIEW_SECONDS (simulated seconds measured, default 20), BENCH_VIEW_WARMUP_SECONDS (default 10),
 * BENCH_VIEW_RATE (events/s, default 10000), BENCH_VIEW_REPEATS (default 3). Ends with one JSON line. Before them,
 * BENCH_VIEW_HISTORY_MINUTES (default 60) rounds one minute apart fill the rolling hour, so each scope's rolling
 * hour holds its steady 60 minute buckets (a run of seconds alone would hold one or two).
 */
import { createHash } from 'node:crypto';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { createPartitionEngine, encodePartialRecordValue, encodeProgress, partialKey, partialRecordKey, progressRecordKey } from '@iocbus/engine';
import { parseCloudEvent, toCloudEventJson, type DossierEvent } from '@iocbus/events';
import { vnTime } from '../services/aggregator/src/workload.js';
import { ViewCore } from '../services/view/src/core.js';
import type { RecordLike } from '../services/view/src/state.js';

const SECONDS = Number(process.env.BENCH_VIEW_SECONDS ?? 20);
const WARMUP = Number(process.env.BENCH_VIEW_WARMUP_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_VIEW_RATE ?? 10_000);
const REPEATS = Number(process.env.BENCH_VIEW_REPEATS ?? 3);
const HISTORY = Number(process.env.BENCH_VIEW_HISTORY_MINUTES ?? 60);
const PARTITIONS = 6;
const DAY = 86_400_000;

const catalog = await loadSampleCatalog();
const units = catalog.units.map((u) => u.code);
const start = Date.UTC(2026, 2, 10, 3, 0, 0); // 10:00 local, a Tuesday: no midnight inside the run
let engines = Array.from({ length: PARTITIONS }, () => createPartitionEngine({ catalog, allowedLatenessMs: 2 * DAY, clock: () => start }));
const perBatch = Math.round(RATE / 20);
const recent: { code: string; unit: string; proc: string }[] = [];
const partOf = (subject: string): number => createHash('md5').update(subject).digest()[0]! % PARTITIONS;

function batch(b: number, at: number): DossierEvent[] {
  const tag = `9.${String(b).padStart(6, '0')}`;
  const out: unknown[] = [];
  const resolved = Math.floor(perBatch / 5);
  for (let i = 0; i < perBatch - resolved; i++) {
    const unit = units[(b * 31 + i) % units.length]!;
    const code = `V-${b}-${i}`;
    out.push({
      specversion: '1.0', id: `r-${b}-${i}`, source: `/agencies/${unit}/igate`, type: 'vn.gov.tthc.dossier.received', time: vnTime(at), subject: code,
      data: { dossierCode: code, procedureCode: tag, sectorCode: 'G09-TP01', unitCode: unit, occurredAt: vnTime(at), receivedAt: vnTime(at), dueAt: vnTime(at + 3 * DAY), channel: i % 3 === 0 ? 'direct' : 'online', applicantType: 'citizen' },
    });
    if (recent.length < 50_000) recent.push({ code, unit, proc: tag });
  }
  for (let i = 0; i < resolved && recent.length > 5 * perBatch; i++) {
    const d = recent.shift()!;
    out.push({
      specversion: '1.0', id: `z-${d.code}`, source: `/agencies/${d.unit}/igate`, type: 'vn.gov.tthc.dossier.resolved', time: vnTime(at), subject: d.code,
      data: { dossierCode: d.code, procedureCode: d.proc, sectorCode: 'G09-TP01', unitCode: d.unit, occurredAt: vnTime(at), resolvedAt: vnTime(at) },
    });
  }
  return out.map((e) => {
    const r = parseCloudEvent(toCloudEventJson(e as DossierEvent));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.event;
  });
}

// ---- produce the partial records, one round per 100 ms --------------------------------------------------
interface Round {
  atMs: number;
  events: number;
  records: RecordLike[];
}
const rounds: Round[] = [];
const nextOffset = new Array<number>(PARTITIONS).fill(0);
const totalRounds = HISTORY + (WARMUP + SECONDS) * 10;
let b = 0;
for (let r = 0; r < totalRounds; r++) {
  const atMs = r < HISTORY ? start + (r + 1) * 60_000 : start + HISTORY * 60_000 + (r - HISTORY + 1) * 100;
  let events = 0;
  for (let k = 0; k < 2; k++, b++) {
    for (const e of batch(b, atMs - 50 + k * 50)) {
      engines[partOf(e.subject)]!.apply(e);
      events++;
    }
  }
  const records: RecordLike[] = [];
  engines.forEach((engine, p) => {
    engine.advance(atMs);
    const { updated, evicted } = engine.drainChanges();
    const add = (key: string, value: Uint8Array): void => void records.push({ partition: p, offset: String(nextOffset[p]!++), key, value });
    for (const u of updated) add(partialRecordKey(p, partialKey(u)), encodePartialRecordValue(u));
    for (const e of evicted) add(partialRecordKey(p, e.key), new Uint8Array(0));
    add(progressRecordKey(p), encodeProgress({ inputPartition: p, inputPartitions: PARTITIONS, offset: String(b), watermarkMs: atMs, clockMs: atMs, updatedAtMs: atMs, sources: [], sourcesOmitted: 0 }));
  });
  rounds.push({ atMs, events, records });
}
engines = []; // their state is garbage now: a smaller heap for the replays' collections to walk
const recordCount = rounds.reduce((s, r) => s + r.records.length, 0);
process.stderr.write(`${rounds.length} rounds, ${recordCount} partial records (${(recordCount / rounds.length).toFixed(0)} per round)\n`);

// ---- replay ------------------------------------------------------------------------------------------------
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

interface Replay {
  applyMs: number;
  publishMs: number;
  events: number;
  items: number;
  changed: number;
  publishes: number;
  perPublish: number[];
}

function replay(): Replay {
  let t = start;
  const core = new ViewCore({ topic: 'partials', partitions: PARTITIONS, historyId: 'bench', catalog, now: () => t, changelogMaxKeys: 200_000, maxTokenAgeMs: 3_600_000, maxMarkers: 100_000, onDecodeError: (_r, err) => { throw err; } });
  const out: Replay = { applyMs: 0, publishMs: 0, events: 0, items: 0, changed: 0, publishes: 0, perPublish: [] };
  rounds.forEach((round, i) => {
    t = round.atMs;
    const measured = i >= HISTORY + WARMUP * 10;
    const c0 = cpu();
    core.apply(round.records);
    const c1 = cpu();
    const res = core.publish();
    const c2 = cpu();
    if (!measured) return;
    out.applyMs += c1 - c0;
    out.publishMs += c2 - c1;
    out.perPublish.push(c2 - c1);
    out.events += round.events;
    out.items += res.items;
    out.changed += res.changed;
    out.publishes++;
  });
  return out;
}

const runs: Replay[] = [];
for (let r = 0; r < REPEATS; r++) {
  // Each replay starts with the previous one's view collected (run with --expose-gc), not paying for it.
  (globalThis as { gc?: () => void }).gc?.();
  const x = replay();
  runs.push(x);
  process.stderr.write(
    `replay ${r + 1}: publish ${(x.publishMs / x.publishes).toFixed(2)} ms CPU per publish (p90 ${[...x.perPublish].sort((a, b) => a - b)[Math.floor(x.perPublish.length * 0.9)]!.toFixed(2)}), ${((x.publishMs * 1000) / x.events).toFixed(2)} µs per event; apply ${((x.applyMs * 1000) / x.events).toFixed(2)} µs per event; ${(x.items / x.publishes).toFixed(0)} items and ${(x.changed / x.publishes).toFixed(0)} changed values per publish\n`,
  );
}
const pick = (f: (x: Replay) => number): number => Number(median(runs.map(f)).toFixed(3));
console.log(
  JSON.stringify({
    bench: 'view-publish',
    publish_cpu_ms: pick((x) => x.publishMs / x.publishes),
    publish_cpu_us_per_event: pick((x) => (x.publishMs * 1000) / x.events),
    apply_cpu_us_per_event: pick((x) => (x.applyMs * 1000) / x.events),
    view_cpu_us_per_event: pick((x) => ((x.applyMs + x.publishMs) * 1000) / x.events),
    items_per_publish: pick((x) => x.items / x.publishes),
    changed_per_publish: pick((x) => x.changed / x.publishes),
  }),
);

/**
 * `node --import tsx bench/aggregator-checkpoint.bench.ts` — what one partition's checkpoint costs the
 * aggregator's event loop, and what it did to a partials append queued behind it.
 *
 *  1. Per partition state size (dossiers from the aggregator's workload generator, applied to an engine with
 *     the aggregator's defaults): the engine snapshot (synchronous: the event loop is blocked for all of it),
 *     wall and CPU ms, and the checkpoint's bytes; then the checkpoint encoding (one copy).
 *  2. With KAFKA_BROKERS (else skipped): the checkpoint appended to a checkpoints topic (acks=all) while a 1 ms
 *     ticker records the longest gap of the event loop (the producer's synchronous encoding, CRC-32C in JS),
 *     and a small partials append (50 records) issued right after the checkpoint append started, through the
 *     same event log (one append at a time: how the aggregator wrote both before) and through a second bus's
 *     log (how main.ts wires it now), alternated; the small append's time to acknowledgement is reported.
 *
 * The machine is shared: compare the same-run pairs (same log vs own log), not absolute figures across runs.
 * Environment: BENCH_DOSSIERS (comma list, default 10000,40000,100000), BENCH_REPEATS (default 5), KAFKA_BROKERS.
 * Ends with one JSON line.
 */
import { setInterval as every } from 'node:timers';
import { createKafkaBus, type BusRecord, type EventLog } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { createPartitionEngine } from '@iocbus/engine';
import { uniqueName } from '@iocbus/testing';
import { encodeCheckpoint, type Checkpoint } from '../services/aggregator/src/checkpoint.js';
import { parseConfig } from '../services/aggregator/src/config.js';
import { topicSpecs } from '../services/aggregator/src/topics.js';
import { workload } from '../services/aggregator/src/workload.js';

const DOSSIERS = (process.env.BENCH_DOSSIERS ?? '10000,40000,100000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
const r1 = (x: number): number => Number(x.toFixed(1));
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const catalog = await loadSampleCatalog();
const cfg = parseConfig({ kafka: { brokers: brokers.length > 0 ? brokers : ['127.0.0.1:9'] } });
const nowMs = Date.now();

interface Sized {
  dossiers: number;
  events: number;
  bytes: number;
  snapshotWallMs: number;
  snapshotCpuMs: number;
  encodeMs: number;
  checkpoint: Buffer;
}

function measureState(dossiers: number): Sized {
  const engine = createPartitionEngine({ catalog, allowedLatenessMs: cfg.engine.allowedLatenessMs, clock: () => nowMs, initialCapacity: cfg.engine.initialCapacity });
  const events = workload(dossiers, { catalog, nowMs, seed: 11 });
  for (const e of events) engine.apply(e);
  engine.drainChanges();
  const wall: number[] = [];
  const cpu: number[] = [];
  const enc: number[] = [];
  let checkpoint: Buffer = Buffer.alloc(0);
  for (let i = 0; i < REPEATS; i++) {
    const w0 = performance.now();
    const c0 = cpuMs();
    const snapshot = engine.snapshot();
    cpu.push(cpuMs() - c0);
    wall.push(performance.now() - w0);
    const c: Checkpoint = { topic: 'events', partition: 0, offset: String(events.length), watermarkMs: nowMs, sources: [], writtenAtMs: nowMs, snapshot };
    const e0 = performance.now();
    checkpoint = encodeCheckpoint(c);
    enc.push(performance.now() - e0);
  }
  return { dossiers, events: events.length, bytes: checkpoint.length, snapshotWallMs: median(wall), snapshotCpuMs: median(cpu), encodeMs: median(enc), checkpoint };
}

interface AppendRun {
  checkpointAppendMs: number;
  longestLoopGapMs: number;
  smallSameLogMs: number;
  smallOwnLogMs: number;
}

/** Appends the checkpoint while a ticker watches the event loop; a small append issued right after it, through `small`. */
async function appendBeside(checkpointLog: EventLog, small: EventLog, checkpoint: Buffer, topics: { checkpoints: string; partials: string }): Promise<{ appendMs: number; gapMs: number; smallMs: number }> {
  const partials: BusRecord[] = Array.from({ length: 50 }, (_, i) => ({ key: `0/k${i}`, value: Buffer.alloc(120, i), headers: {} }));
  let last = performance.now();
  let gap = 0;
  const ticker = every(() => {
    const t = performance.now();
    gap = Math.max(gap, t - last);
    last = t;
  }, 1);
  const t0 = performance.now();
  const big = checkpointLog.append(topics.checkpoints, [{ key: '0', value: checkpoint, headers: {} }]).then(() => performance.now() - t0);
  const s0 = performance.now();
  const smallMs = await small.append(topics.partials, partials).then(() => performance.now() - s0);
  const appendMs = await big;
  clearInterval(ticker);
  return { appendMs, gapMs: gap, smallMs };
}

async function measureAppends(sized: Sized[]): Promise<Record<number, AppendRun> | null> {
  if (brokers.length === 0) {
    log('appends: not measured (no KAFKA_BROKERS)');
    return null;
  }
  const prefix = uniqueName('bench-ckpt');
  const topicCfg = parseConfig({ kafka: { brokers }, topics: { checkpoints: `${prefix}.checkpoints`, partials: `${prefix}.partials`, events: `${prefix}.events`, deadLetters: `${prefix}.dlq` } });
  const bus = createKafkaBus({ brokers, clientId: 'bench-ckpt' });
  const second = createKafkaBus({ brokers, clientId: 'bench-ckpt-2' });
  try {
    await bus.admin.ensureTopics(topicSpecs(topicCfg));
    const topics = { checkpoints: topicCfg.topics.checkpoints, partials: topicCfg.topics.partials };
    // Warm both producers (connections, metadata, producer ids).
    await bus.log.append(topics.partials, [{ key: 'w', value: Buffer.from('w'), headers: {} }]);
    await second.log.append(topics.partials, [{ key: 'w', value: Buffer.from('w'), headers: {} }]);
    const out: Record<number, AppendRun> = {};
    for (const s of sized) {
      const appendMs: number[] = [];
      const gaps: number[] = [];
      const same: number[] = [];
      const own: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        // Alternated pairs: the checkpoint always through `bus`; the small append through `bus` too, then through `second`.
        const a = await appendBeside(bus.log, bus.log, s.checkpoint, topics);
        const b = await appendBeside(bus.log, second.log, s.checkpoint, topics);
        appendMs.push(a.appendMs, b.appendMs);
        gaps.push(a.gapMs, b.gapMs);
        same.push(a.smallMs);
        own.push(b.smallMs);
      }
      out[s.dossiers] = { checkpointAppendMs: median(appendMs), longestLoopGapMs: median(gaps), smallSameLogMs: median(same), smallOwnLogMs: median(own) };
      log(
        `appends at ${s.dossiers} dossiers (${r1(s.bytes / 1e6)} MB; medians of ${REPEATS}): checkpoint append ${r1(median(appendMs))} ms, longest event-loop gap meanwhile ${r1(median(gaps))} ms; a 50-record partials append issued behind it: same log ${r1(median(same))} ms, own log ${r1(median(own))} ms`,
      );
    }
    return out;
  } finally {
    await bus.close();
    await second.close();
  }
}

const sized: Sized[] = [];
for (const d of DOSSIERS) {
  const s = measureState(d);
  sized.push(s);
  log(`state ${d} dossiers (${s.events} events): checkpoint ${r1(s.bytes / 1e6)} MB; snapshot (event loop blocked) ${r1(s.snapshotWallMs)} ms wall, ${r1(s.snapshotCpuMs)} ms CPU; encode ${r1(s.encodeMs)} ms (medians of ${REPEATS})`);
}
const appends = await measureAppends(sized);
process.stdout.write(
  `${JSON.stringify({
    bench: 'aggregator-checkpoint',
    states: sized.map((s) => ({ dossiers: s.dossiers, bytes: s.bytes, snapshot_wall_ms: r1(s.snapshotWallMs), snapshot_cpu_ms: r1(s.snapshotCpuMs), encode_ms: r1(s.encodeMs), ...(appends?.[s.dossiers] === undefined ? {} : { append_ms: r1(appends[s.dossiers]!.checkpointAppendMs), loop_gap_ms: r1(appends[s.dossiers]!.longestLoopGapMs), small_same_log_ms: r1(appends[s.dossiers]!.smallSameLogMs), small_own_log_ms: r1(appends[s.dossiers]!.smallOwnLogMs) }) })),
  })}\n`,
);

/**
 * Fan-out measurement: one view, many Subscribe streams in a separate client process (some never reading),
 * a sequence of partial updates; reports how long after each update was appended to the partials topic
 * every reading stream held it (coalescing-aware: a stream that skipped update j because a later one
 * superseded it counts j as received when the later one arrived), and the server's memory.
 *
 * Used by fanout.test.ts (1,000 streams, one stuck), `bench/fanout.ts` and the pipeline benchmark.
 */
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { createInProcessBus, type EventLog, type PartitionedSource } from '@iocbus/bus';
import { parseCatalog, type Catalog } from '@iocbus/catalog';
import { MEASURE_COUNT, encodePartialRecordValue, measureIndex, partialKey, partialRecordKey, windowRef, type IndicatorPartial, type ScopeRef } from '@iocbus/engine';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import { viewConfigSchema, type ViewConfigInput } from './config.js';
import { createView, type PublishInfo, type View } from './view.js';

export interface FanoutOptions {
  /** Reading subscribers (default 1000). */
  subscribers?: number;
  /** Subscribers that never read (default 1). */
  stuck?: number;
  /** Updates to time (default 60) and the pause between them (default 50 ms). */
  updates?: number;
  /** Updates sent first and not timed, while the JIT warms up in server and clients (default 3). */
  warmupUpdates?: number;
  intervalMs?: number;
  /** Unit partials also changed with each update, so deltas to a broad filter are large (default 0). */
  noisePerUpdate?: number;
  /** Reading streams per client HTTP/2 connection (default 100). */
  perChannel?: number;
  /** Client processes the reading streams are spread over (default 2: a machine's cores decode in parallel). */
  clientProcesses?: number;
  /** Read partials from here (default: a fresh in-process bus). `log` must append to the same topic. */
  source?: PartitionedSource;
  log?: EventLog;
  topic?: string;
  /** View config overrides (subscribe.*, resume.*…). */
  config?: ViewConfigInput;
  /** Collect garbage before and after the updates, and sample heap/RSS between them (default true). */
  sampleMemory?: boolean;
}

export interface FanoutResult {
  subscribers: number;
  stuck: number;
  updates: number;
  /** Latency samples: reading streams × updates. */
  samples: number;
  /** Samples never received (should be 0). */
  missing: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /**
   * Per update, append → the first reading stream holding it; p99 over updates. The pipeline with the least
   * client-side queueing: the client processes take their streams' messages in one at a time, so the later
   * streams' times include the clients' own work on the earlier ones, which swings with the machine's load.
   */
  firstP99Ms: number;
  /** Server heap after GC before the updates and at the end; the highest heap and RSS seen in between (no GC). */
  heapBeforeMb: number;
  heapAfterMb: number;
  heapPeakMb: number;
  rssPeakMb: number;
  /** Streams the server saw as blocked (write buffer full) at the end: the stuck ones. */
  blockedAtEnd: number;
  /** Bytes the server wrote in stream messages during the run. */
  bytesSent: number;
  clientErrors: number;
  /** Wall time to start the client process, and to open every stream and receive its snapshot. */
  clientStartMs: number;
  subscribeMs: number;
  /** Server-side time per publish that reached every reading stream, p50/p99: re-evaluation, then handing to transports. */
  evaluateP50Ms: number;
  evaluateP99Ms: number;
  fanoutP50Ms: number;
  fanoutP99Ms: number;
  /** CPU time of the same, p50/p99: what they would take on an idle machine. */
  evaluateCpuP99Ms: number;
  fanoutCpuP50Ms: number;
  fanoutCpuP99Ms: number;
}

const CATALOG: Catalog = parseCatalog(
  {
    format: 'iocbus.catalog/v1',
    version: 'fanout-1',
    sample: true,
    province: { code: 'P', name: 'Fan-out province' },
    units: Array.from({ length: 200 }, (_, i) => ({ code: `P.${i}`, name: `Unit ${i}`, group: i % 4 === 0 ? 'department' : 'commune', parent: 'P' })),
    procedures: [],
  },
  'fanout',
);

function received(day: number, scope: ScopeRef, n: number): IndicatorPartial {
  const m = new Float64Array(MEASURE_COUNT);
  m[measureIndex('received')] = n;
  m[measureIndex('events_received_family')] = n;
  m[measureIndex('channel_online')] = Math.floor(n / 2);
  const window = windowRef('day', day);
  return { key: partialKey({ window, scope }), window, scope, measures: m, sketch: null, closed: false, revised: false };
}

const record = (input: number, p: IndicatorPartial) => ({ key: partialRecordKey(input, partialKey(p)), value: Buffer.from(encodePartialRecordValue(p)), headers: {} });

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

let gcFn: (() => void) | undefined;
function gc(): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;

export async function measureFanout(options: FanoutOptions = {}): Promise<FanoutResult> {
  const subscribers = options.subscribers ?? 1000;
  const stuck = options.stuck ?? 1;
  const updates = options.updates ?? 60;
  const warmup = options.warmupUpdates ?? 3;
  const intervalMs = options.intervalMs ?? 50;
  const noise = options.noisePerUpdate ?? 0;
  const sampleMemory = options.sampleMemory ?? true;
  const topic = options.topic ?? 'fanout-partials';
  let source = options.source;
  let log = options.log;
  if (source === undefined || log === undefined) {
    const bus = createInProcessBus();
    await bus.admin.ensureTopics([{ name: topic, partitions: 4, config: { 'cleanup.policy': 'compact' } }]);
    source = bus.source;
    log = bus.log;
  }
  const day = Math.floor((Date.now() / 1000 + 7 * 3600) / 86_400);
  const province: ScopeRef = { kind: 'province', code: 'P' };
  await log.append(topic, [record(0, received(day, province, 0)), ...Array.from({ length: 200 }, (_, i) => record(1, received(day, { kind: 'unit', code: `P.${i}` }, 1)))]);

  const input = options.config ?? {};
  const config = viewConfigSchema.parse({
    ...input,
    http: { host: '127.0.0.1', port: 0 },
    grpc: { host: '127.0.0.1', port: 0, ...(input.grpc ?? {}) },
    partials: { ...(input.partials ?? {}), topic },
    subscribe: { maxSubscribers: subscribers + stuck + 10, stallTimeoutMs: 3_600_000, ...(input.subscribe ?? {}) },
    log: { level: 'warn' },
  });
  const registry = createRegistry({ defaultMetrics: false });
  const publishes: PublishInfo[] = [];
  let measuring = false;
  const view: View = createView({
    config,
    source,
    catalog: CATALOG,
    logger: createLogger({ service: 'view', level: 'warn' }),
    registry,
    onPublished: (p) => {
      // The publishes that reached the reading subscribers (others only touched the stuck one's filter).
      if (measuring && p.messages >= subscribers) publishes.push(p);
    },
  });
  const { grpcPort } = await view.listen();
  await view.start();
  await view.ready;

  const processes = Math.max(1, Math.min(options.clientProcesses ?? 2, subscribers));
  const children = Array.from({ length: processes }, () => new ClientProcess());
  try {
    const t0 = Date.now();
    await Promise.all(children.map((c) => c.receive('up', 60_000)));
    const t1 = Date.now();
    const dayLabel = windowRef('day', day).label;
    children.forEach((c, i) =>
      c.child.send({
        type: 'start',
        port: grpcPort,
        subscribers: Math.floor(subscribers / processes) + (i < subscribers % processes ? 1 : 0),
        stuck: i === 0 ? stuck : 0,
        perChannel: options.perChannel ?? 100,
        filter: { indicatorIds: ['received'], windows: ['WINDOW_KIND_TODAY'], scopes: [{ kind: 'SCOPE_KIND_PROVINCE' }] },
        stuckFilter: {},
        key: `received|WINDOW_KIND_TODAY:${dayLabel}|SCOPE_KIND_PROVINCE:P`,
      }),
    );
    await Promise.all(children.map((c) => c.receive('ready', 120_000)));
    const t2 = Date.now();
    // Let the stuck streams fill their buffers with the first snapshot before measuring.
    await sleep(200);
    const bytesBefore = await bytesSent(registry);
    if (sampleMemory) gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    let rssPeak = process.memoryUsage().rss;
    const sentAt: number[] = [];
    for (let j = 1; j <= warmup + updates; j++) {
      measuring = j > warmup;
      const records = [record(0, received(day, province, j))];
      for (let k = 0; k < noise; k++) records.push(record(1, received(day, { kind: 'unit', code: `P.${(j * noise + k) % 200}` }, j * 10 + k)));
      sentAt[j] = Date.now();
      await log.append(topic, records);
      await sleep(intervalMs);
      if (sampleMemory) {
        // No forced GC here: it would pause the server mid-measurement. Peaks are upper bounds.
        const m = process.memoryUsage();
        heapPeak = Math.max(heapPeak, m.heapUsed);
        rssPeak = Math.max(rssPeak, m.rss);
      }
    }
    await sleep(Math.max(500, intervalMs * 4));
    measuring = false;
    if (sampleMemory) gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const blockedAtEnd = view.hub?.stats().blocked ?? 0;
    const bytes = (await bytesSent(registry)) - bytesBefore;
    for (const c of children) c.child.send({ type: 'finish' });
    const results = await Promise.all(children.map((c) => c.receive('result', 60_000)));
    const lat: number[] = [];
    const first: number[] = [];
    let missing = 0;
    for (const times of results.flatMap((r) => r.seen ?? [])) {
      for (let j = warmup + 1; j <= warmup + updates; j++) {
        const r = times[j];
        if (r === null || r === undefined) missing++;
        else {
          const ms = r - (sentAt[j] as number);
          lat.push(ms);
          first[j] = Math.min(first[j] ?? Infinity, ms);
        }
      }
    }
    lat.sort((a, b) => a - b);
    const firstSorted = first.filter((x) => x !== undefined).sort((a, b) => a - b);
    const evaluate = publishes.map((p) => p.evaluateMs).sort((a, b) => a - b);
    const fan = publishes.map((p) => p.fanoutMs).sort((a, b) => a - b);
    const evaluateCpu = publishes.map((p) => p.evaluateCpuMs).sort((a, b) => a - b);
    const fanCpu = publishes.map((p) => p.fanoutCpuMs).sort((a, b) => a - b);
    const round = (n: number): number => Math.round(n * 10) / 10;
    return {
      subscribers,
      stuck,
      updates,
      samples: lat.length,
      missing,
      p50Ms: round(percentile(lat, 0.5)),
      p99Ms: round(percentile(lat, 0.99)),
      maxMs: round(lat[lat.length - 1] ?? NaN),
      firstP99Ms: round(percentile(firstSorted, 0.99)),
      heapBeforeMb: mb(heapBefore),
      heapAfterMb: mb(heapAfter),
      heapPeakMb: mb(Math.max(heapPeak, heapAfter)),
      rssPeakMb: mb(rssPeak),
      blockedAtEnd,
      bytesSent: bytes,
      clientErrors: results.reduce((n, r) => n + (r.errors ?? 0), 0),
      clientStartMs: t1 - t0,
      subscribeMs: t2 - t1,
      evaluateP50Ms: round(percentile(evaluate, 0.5)),
      evaluateP99Ms: round(percentile(evaluate, 0.99)),
      fanoutP50Ms: round(percentile(fan, 0.5)),
      fanoutP99Ms: round(percentile(fan, 0.99)),
      evaluateCpuP99Ms: round(percentile(evaluateCpu, 0.99)),
      fanoutCpuP50Ms: round(percentile(fanCpu, 0.5)),
      fanoutCpuP99Ms: round(percentile(fanCpu, 0.99)),
    };
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGTERM');
    await view.close();
  }
}

interface ClientMessage {
  type: string;
  seen?: (number | null)[][];
  errors?: number;
}

/** One fanout-clients.ts child and its IPC inbox. */
class ClientProcess {
  readonly child = fork(fileURLToPath(new URL('./fanout-clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  private readonly inbox: ClientMessage[] = [];
  private waiters: (() => void)[] = [];

  constructor() {
    this.child.on('message', (m: ClientMessage) => {
      this.inbox.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async receive(type: string, timeoutMs: number): Promise<ClientMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as ClientMessage;
      if (Date.now() > deadline) throw new Error(`fan-out clients: no "${type}" within ${timeoutMs} ms`);
      // A timer of our own, cleared once a message came: a pending sleep would keep the process alive.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
  }
}

async function bytesSent(registry: ReturnType<typeof createRegistry>): Promise<number> {
  const metric = await registry.getSingleMetric('iocbus_view_stream_bytes_total')?.get();
  return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
}

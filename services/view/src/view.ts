/**
 * The view, built from injected collaborators without opening a socket: the same code runs over Kafka
 * (main.ts) and over the in-process bus inside `iocbus start`.
 *
 *   partials topic ──tail──▶ ViewCore.apply ──(linger)──▶ ViewCore.publish ──▶ Hub ──▶ gRPC / SSE
 *
 * The view reads every partition of the partials topic from the beginning (no consumer group), is ready
 * once it has read what the topic held when it started, then follows it.
 */
import * as grpc from '@grpc/grpc-js';
import type { PartitionedSource, Tail } from '@iocbus/bus';
import type { Catalog } from '@iocbus/catalog';
import type { Logger, Registry } from '@iocbus/telemetry';
import type { FastifyInstance } from 'fastify';
import type { ViewConfig } from './config.js';
import { ViewCore } from './core.js';
import { ViewError } from './errors.js';
import { buildGrpcServer } from './grpc.js';
import { buildHttpApp } from './http.js';
import { Hub } from './hub.js';
import { createViewMetrics, type ViewMetrics } from './metrics.js';
import { INDICATOR_SERVICE } from './proto.js';
import type { Serving } from './serving.js';

/** Wall-clock milliseconds, injected so tests can move time (minute ticks, token age). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ViewDeps {
  config: ViewConfig;
  /** Where the partials topic is read from (Kafka or in-process bus). */
  source: PartitionedSource;
  catalog: Catalog;
  logger: Logger;
  /** The service's own registry; the view registers its series on it. */
  registry: Registry;
  clock?: Clock;
  /** More HTTP routes (the wall screen at `/`, static assets), registered before the app is ready. */
  routes?: (app: FastifyInstance) => void | Promise<void>;
  /** Told about every publish (benchmarks: where the time goes). */
  onPublished?: (info: PublishInfo) => void;
}

export interface PublishInfo {
  /** Values that changed, appeared or disappeared. */
  changed: number;
  /** (window, scope) items re-evaluated. */
  items: number;
  /** Stream messages handed to transports. */
  messages: number;
  /** Re-evaluation time, then the time to hand messages to every subscriber's transport. */
  evaluateMs: number;
  fanoutMs: number;
  /** CPU time of the same two steps (user + system): what they cost on an idle machine. */
  evaluateCpuMs: number;
  fanoutCpuMs: number;
}

export interface ListenOptions {
  /** Override the config ports (0 picks a free one). */
  httpPort?: number;
  grpcPort?: number;
  host?: string;
}

export interface View {
  readonly http: FastifyInstance;
  readonly grpc: grpc.Server;
  /** Defined once start() resolved. */
  readonly core: ViewCore | undefined;
  readonly hub: Hub | undefined;
  readonly metrics: ViewMetrics;
  /** Starts reading the partials topic; resolves once reading began (see `ready`). */
  start(): Promise<void>;
  /** Resolves once the partials the topic held at start are loaded and served. */
  readonly ready: Promise<void>;
  isReady(): boolean;
  /** Resolves if reading the partials topic fails for good (the process should exit and be restarted). */
  readonly failed: Promise<Error>;
  /** Re-evaluates and fans out now (tests with a manual clock; production uses timers). */
  publishNow(): void;
  /** Binds both servers; resolves with the ports actually bound. */
  listen(options?: ListenOptions): Promise<{ httpPort: number; grpcPort: number }>;
  /** Ends every stream (clients resume elsewhere), stops reading, closes both servers. */
  close(): Promise<void>;
}

export function createView(deps: ViewDeps): View {
  const { config, logger, registry } = deps;
  const clock = deps.clock ?? systemClock;
  const log = logger.child({ component: 'view' });
  let core: ViewCore | undefined;
  let hub: Hub | undefined;
  let tail: Tail | undefined;
  let ready = false;
  let closing = false;
  let publishScheduled = false;
  let lingerTimer: NodeJS.Timeout | undefined;
  let minuteTimer: NodeJS.Timeout | undefined;
  const lag = new Map<number, number>();

  let resolveReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve));
  let resolveFailed!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (resolveFailed = resolve));

  const progress = (): { watermarkMs: number | null; progressTimeMs: number | null } => ({
    watermarkMs: core?.state.watermarkMs() ?? null,
    progressTimeMs: core?.state.progressTimeMs() ?? null,
  });

  const serving: Serving = {
    get runtime() {
      return ready && core !== undefined && hub !== undefined ? { core, hub } : undefined;
    },
    get closing() {
      return closing;
    },
    now: () => clock.now(),
    progress,
  };

  const metrics = createViewMetrics(registry, {
    get core() {
      return core;
    },
    hubStats: () => hub?.stats() ?? { subscribers: 0, blocked: 0, waiting: 0, byTransport: { grpc: 0, sse: 0 } },
    now: () => clock.now(),
    lag: () => lag,
  });
  // Scrapes before start() see no core: the gauges that read it are skipped until then.
  const http = buildHttpApp({ serving, registry, logger, ready: () => ready && !closing });
  const grpcServer = buildGrpcServer(serving, config, logger);
  const routesRegistered = deps.routes === undefined ? Promise.resolve() : Promise.resolve(deps.routes(http));

  function setServing(): void {
    const status = ready && !closing ? 'SERVING' : 'NOT_SERVING';
    grpcServer.health.setStatus('', status);
    grpcServer.health.setStatus(INDICATOR_SERVICE, status);
    metrics.ready.set(ready && !closing ? 1 : 0);
  }

  function publish(): void {
    publishScheduled = false;
    if (core === undefined || hub === undefined || closing) return;
    const observe = deps.onPublished;
    const cpu0 = observe === undefined ? undefined : process.cpuUsage();
    const started = performance.now();
    const result = core.publish();
    const evaluated = performance.now();
    const cpu1 = observe === undefined ? undefined : process.cpuUsage();
    const messages = hub.published();
    const done = performance.now();
    metrics.changedValues.inc(result.changed);
    if (result.items > 0) metrics.publishDuration.observe((done - started) / 1000);
    if (observe !== undefined && cpu0 !== undefined && cpu1 !== undefined) {
      const cpu2 = process.cpuUsage();
      const ms = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number => (b.user - a.user + b.system - a.system) / 1000;
      observe({ changed: result.changed, items: result.items, messages, evaluateMs: evaluated - started, fanoutMs: done - evaluated, evaluateCpuMs: ms(cpu0, cpu1), fanoutCpuMs: ms(cpu1, cpu2) });
    }
  }

  function schedulePublish(): void {
    if (publishScheduled || !ready) return;
    publishScheduled = true;
    if (config.partials.lingerMs === 0) setImmediate(publish);
    else lingerTimer = setTimeout(publish, config.partials.lingerMs);
  }

  // The rolling hour moves every minute and "current" windows at local midnight, with or without data.
  function scheduleMinute(): void {
    const now = clock.now();
    minuteTimer = setTimeout(() => {
      publish();
      scheduleMinute();
    }, 60_000 - (now % 60_000) + 5);
    minuteTimer.unref();
  }

  async function start(): Promise<void> {
    if (core !== undefined) return;
    const topic = config.partials.topic;
    const ends = await deps.source.endOffsets(topic);
    if (ends.length === 0) throw new ViewError('IOC_VIEW_SOURCE_FAILED', `partials topic ${topic} has no partitions`);
    core = new ViewCore({
      topic,
      partitions: ends.length,
      historyId: config.resume.historyId,
      catalog: deps.catalog,
      now: () => clock.now(),
      changelogMaxKeys: config.resume.changelogMaxKeys,
      maxTokenAgeMs: config.resume.maxTokenAgeMs,
      maxMarkers: config.resume.maxMarkers,
      onDecodeError: (record, err) => {
        metrics.decodeErrors.inc();
        log.warn({ partition: record.partition, offset: record.offset, key: record.key, err }, 'partials record skipped');
      },
    });
    hub = new Hub({
      core,
      now: () => clock.now(),
      heartbeatMs: config.subscribe.heartbeatMs,
      chunkValues: config.subscribe.chunkValues,
      maxSubscribers: config.subscribe.maxSubscribers,
      maxStreamAgeMs: config.subscribe.maxStreamAgeMs,
      stallTimeoutMs: config.subscribe.stallTimeoutMs,
      catchUpTimeoutMs: config.resume.catchUpTimeoutMs,
      defaultMaxUpdatesPerSecond: config.subscribe.defaultMaxUpdatesPerSecond,
      maxUpdatesPerSecondCap: config.subscribe.maxUpdatesPerSecondCap,
      metrics: metrics.hub,
      progress,
    });
    const c = core;
    const started = performance.now();
    tail = await deps.source.tail({
      topic,
      from: 'earliest',
      onBatch: async (batch) => {
        const counts = c.apply(batch.records);
        for (const [kind, n] of Object.entries(counts)) if (n > 0) metrics.records.inc({ kind }, n);
        lag.set(batch.partition, Math.max(0, Number(batch.highWatermark) - (c.state.applied[batch.partition] ?? 0)));
        schedulePublish();
      },
      onCaughtUp: () => {
        ready = true;
        publish();
        hub?.start();
        scheduleMinute();
        setServing();
        log.info({ topic, partitions: c.partitions, partials: c.state.partialCount, values: c.table.byKey.size, ms: Math.round(performance.now() - started) }, 'initial partials loaded');
        resolveReady();
      },
    });
    void tail.closed.then((err) => {
      if (err === undefined || closing) return;
      ready = false;
      setServing();
      log.error({ err, topic }, 'reading the partials topic failed');
      resolveFailed(err);
    });
  }

  async function listen(options: ListenOptions = {}): Promise<{ httpPort: number; grpcPort: number }> {
    await routesRegistered;
    const host = options.host ?? config.http.host;
    await http.listen({ host, port: options.httpPort ?? config.http.port });
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address !== null ? address.port : (options.httpPort ?? config.http.port);
    const grpcPort = await new Promise<number>((resolve, reject) => {
      grpcServer.server.bindAsync(`${options.host ?? config.grpc.host}:${options.grpcPort ?? config.grpc.port}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
    setServing();
    return { httpPort, grpcPort };
  }

  let closed: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    setServing();
    clearTimeout(lingerTimer);
    clearTimeout(minuteTimer);
    hub?.close();
    const graceful = (async () => {
      const grpcStopped = new Promise<void>((resolve) => grpcServer.server.tryShutdown(() => resolve()));
      await Promise.all([http.close(), grpcStopped, tail?.stop()]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), config.shutdown.timeoutMs)));
    const result = await Promise.race([graceful.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      log.warn('shutdown timed out; closing connections');
      grpcServer.server.forceShutdown();
      http.server.closeAllConnections();
    }
  }

  return {
    http,
    grpc: grpcServer.server,
    get core() {
      return core;
    },
    get hub() {
      return hub;
    },
    metrics,
    start,
    ready: readyPromise,
    isReady: () => ready,
    failed,
    publishNow: publish,
    listen,
    close: () => (closed ??= shutdown()),
  };
}

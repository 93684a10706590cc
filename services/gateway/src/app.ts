import * as grpc from '@grpc/grpc-js';
import type { EventLog } from '@iocbus/bus';
import type { Logger, Registry } from '@iocbus/telemetry';
import type { FastifyInstance } from 'fastify';
import { ApiKeyStore, type ApiKeyEntry } from './api-keys.js';
import { MicroBatcher } from './batcher.js';
import { systemClock, type Clock } from './clock.js';
import type { GatewayConfig } from './config.js';
import type { GatewayCore } from './core.js';
import { buildGrpcServer, INGEST_SERVICE } from './grpc.js';
import { buildHttpApp } from './http.js';
import { Ingestor } from './ingest.js';
import { KafkaHealth, type KafkaProbe } from './kafka-health.js';
import { createGatewayMetrics } from './metrics.js';
import { RateLimiter } from './rate-limiter.js';
import { RecentlySeen } from './recently-seen.js';

export interface GrpcTls {
  cert: Buffer;
  key: Buffer;
  /** When set, clients must present a certificate signed by it (mTLS). */
  clientCa?: Buffer;
}

export interface GatewayDeps {
  config: GatewayConfig;
  apiKeys: readonly ApiKeyEntry[];
  /** Where accepted events go; resolves only when the log acknowledged them (Kafka: acks=all). */
  eventLog: EventLog;
  /** A cheap round trip to the log (e.g. a metadata request) for readiness while idle. */
  probe: KafkaProbe;
  logger: Logger;
  /** The service's own registry; the gateway registers its series on it. */
  registry: Registry;
  clock?: Clock;
  grpcTls?: GrpcTls;
}

export interface ListenOptions {
  /** Override config ports (0 picks a free one; tests use it). */
  httpPort?: number;
  grpcPort?: number;
  host?: string;
}

export interface Gateway {
  readonly http: FastifyInstance;
  readonly grpc: grpc.Server;
  readonly core: GatewayCore;
  /** Binds both servers; resolves with the ports actually bound. */
  listen(options?: ListenOptions): Promise<{ httpPort: number; grpcPort: number }>;
  /**
   * Graceful stop: readiness turns false, no new requests or streams are taken, every request already
   * taken is answered after Kafka acknowledged its events, open streams are acked up to what was read and
   * ended with UNAVAILABLE, then the servers close. Bounded by shutdown.timeoutMs, after which it forces.
   * The EventLog is the caller's to close afterwards.
   */
  close(): Promise<void>;
}

/** Builds the gateway from its collaborators without opening any socket. */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, logger, registry } = deps;
  const clock = deps.clock ?? systemClock;
  let closing = false;
  // Late-bound so the gauge can read the batcher that needs the metrics' observer.
  let batcherRef: MicroBatcher | undefined;
  const metrics = createGatewayMetrics(registry, () => batcherRef?.pendingRecords ?? 0);
  const health = new KafkaHealth({
    probe: deps.probe,
    intervalMs: config.kafka.probeIntervalMs,
    timeoutMs: config.kafka.produceTimeoutMs,
    logger: logger.child({ component: 'kafka-health' }),
    onChange: (up) => {
      metrics.kafkaUp.set(up ? 1 : 0);
      setServing();
    },
  });
  const produceLog = logger.child({ component: 'producer' });
  const batcher = new MicroBatcher({
    log: deps.eventLog,
    topic: config.kafka.topic,
    lingerMs: config.batch.lingerMs,
    maxBatchRecords: config.batch.maxRecords,
    maxBatchBytes: config.batch.maxBytes,
    maxRequestBytes: config.batch.maxRequestBytes,
    maxPendingRecords: config.batch.maxPendingRecords,
    maxConcurrentAppends: config.batch.maxConcurrentAppends,
    queueTimeoutMs: config.kafka.produceTimeoutMs,
    observer: {
      appended: (records, seconds) => {
        metrics.batchSize.observe(records);
        metrics.produceDuration.observe({ outcome: 'acked' }, seconds);
        health.report(true);
      },
      failed: (records, seconds, err) => {
        // One line per failed produce request (not per event): the fate of those events is decided here.
        produceLog.warn({ err, records }, 'produce request failed');
        metrics.batchSize.observe(records);
        metrics.produceDuration.observe({ outcome: 'failed' }, seconds);
        health.report(false, err);
      },
    },
  });
  batcherRef = batcher;
  const ingestor = new Ingestor({
    batcher,
    seen: new RecentlySeen(clock, { windowMs: config.dedup.windowMs, maxEntries: config.dedup.maxEntries }),
    health,
    metrics,
    produceTimeoutMs: config.kafka.produceTimeoutMs,
  });
  const core: GatewayCore = {
    config,
    keys: new ApiKeyStore(deps.apiKeys),
    limiter: new RateLimiter(clock),
    ingestor,
    health,
    metrics,
    registry,
    logger,
    get closing() {
      return closing;
    },
  };
  const http = buildHttpApp(core);
  const grpcServer = buildGrpcServer(core);

  function setServing(): void {
    const status = health.isUp && !closing ? 'SERVING' : 'NOT_SERVING';
    grpcServer.health.setStatus('', status);
    grpcServer.health.setStatus(INGEST_SERVICE, status);
  }

  let closed: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    setServing();
    health.stop();
    const log = logger.child({ component: 'shutdown' });
    log.info({ pendingRecords: batcher.pendingRecords }, 'shutting down');
    const graceful = (async () => {
      const grpcStopped = new Promise<void>((resolve) => grpcServer.server.tryShutdown(() => resolve()));
      await Promise.all([http.close(), grpcServer.closeStreams(), grpcStopped]);
      await batcher.drain();
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdown.timeoutMs);
    });
    const result = await Promise.race([graceful.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      log.warn({ pendingRecords: batcher.pendingRecords }, 'shutdown timed out; closing connections');
      grpcServer.server.forceShutdown();
      http.server.closeAllConnections();
    } else {
      log.info('shutdown complete');
    }
  }

  return {
    http,
    grpc: grpcServer.server,
    core,
    async listen(options = {}) {
      const host = options.host ?? config.http.host;
      const grpcHost = options.host ?? config.grpc.host;
      const credentials =
        deps.grpcTls === undefined
          ? grpc.ServerCredentials.createInsecure()
          : grpc.ServerCredentials.createSsl(
              deps.grpcTls.clientCa ?? null,
              [{ private_key: deps.grpcTls.key, cert_chain: deps.grpcTls.cert }],
              deps.grpcTls.clientCa !== undefined,
            );
      const grpcPort = await new Promise<number>((resolve, reject) =>
        grpcServer.server.bindAsync(`${grpcHost}:${options.grpcPort ?? config.grpc.port}`, credentials, (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      );
      await http.listen({ host, port: options.httpPort ?? config.http.port });
      const address = http.server.address();
      const httpPort = typeof address === 'object' && address !== null ? address.port : 0;
      health.start();
      logger.info({ httpPort, grpcPort, topic: config.kafka.topic, tls: deps.grpcTls !== undefined }, 'gateway listening');
      return { httpPort, grpcPort };
    },
    close() {
      closed ??= shutdown();
      return closed;
    },
  };
}

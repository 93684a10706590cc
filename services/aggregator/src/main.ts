/**
 * The aggregator process: configuration (every problem reported before any socket opens), Kafka, the
 * operations HTTP server, signals. Everything else is built by createAggregator, which tests and the
 * all-in-one `iocbus start` drive in-process.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 node --import tsx services/aggregator/src/main.ts
 */
import type { AddressInfo } from 'node:net';
import { createKafkaBus } from '@iocbus/bus';
import { loadCatalogFile, loadSampleCatalog } from '@iocbus/catalog/file';
import { loadOrExit } from '@iocbus/config';
import { createLogger, createRegistry, levelFunctions } from '@iocbus/telemetry';
import { createAggregator, type AggregatorHooks } from './aggregator.js';
import { ConfigError, loadConfig, type AggregatorConfig } from './config.js';
import { buildHttpApp } from './http.js';

/** Fault injection for kill -9 tests: announce the point on stderr, then never continue. */
function faultHooks(cfg: AggregatorConfig['faults']): AggregatorHooks {
  const pauseAt = cfg.pauseAt;
  if (pauseAt === undefined) return {};
  return {
    at: async (point, info) => {
      if (point !== pauseAt || info.appliedTotal < cfg.afterEvents) return;
      process.stderr.write(`IOCBUS_FAULT_POINT ${point} ${JSON.stringify(info)}\n`);
      await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
    },
  };
}

async function main(): Promise<void> {
  const config = loadOrExit(loadConfig, ConfigError);
  const logger = createLogger({ service: 'aggregator', level: config.log.level });
  const catalog = config.catalog.file === undefined ? await loadSampleCatalog() : await loadCatalogFile(config.catalog.file);
  if (config.catalog.file === undefined) logger.warn('no catalog.file configured: using the SAMPLE catalog');
  if (config.faults.pauseAt !== undefined) logger.warn({ faults: config.faults }, 'fault injection is on');

  const bus = createKafkaBus({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    logger: levelFunctions(logger.child({ component: 'kafka' })),
    clientLogLevel: 'warn',
    replicationFactor: config.kafka.replicationFactor,
    consumer: {
      sessionTimeoutMs: config.kafka.sessionTimeoutMs,
      heartbeatIntervalMs: config.kafka.heartbeatIntervalMs,
      maxWaitTimeMs: config.kafka.maxWaitTimeMs,
      maxBytesPerPartition: config.kafka.maxBytesPerPartition,
      maxBytes: Math.max(config.kafka.maxBytesPerPartition * 6, 10 * 1024 * 1024),
    },
  });
  // Checkpoints get a Kafka client of their own: one client's appends go one request at a time over one
  // connection, and a partials append (what the wall screens wait for) queued behind a checkpoint of several MB
  // (acks=all) waited for all of it. Only its producer is used; reads stay on `bus`.
  const checkpointBus = createKafkaBus({
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-checkpoints`,
    logger: levelFunctions(logger.child({ component: 'kafka-checkpoints' })),
    clientLogLevel: 'warn',
    replicationFactor: config.kafka.replicationFactor,
  });
  const registry = createRegistry();
  const aggregator = createAggregator({
    config,
    log: bus.log,
    checkpointLog: checkpointBus.log,
    source: bus.source,
    admin: bus.admin,
    catalog,
    logger,
    registry,
    hooks: faultHooks(config.faults),
  });
  const http = buildHttpApp(() => aggregator.status(), registry);
  await http.listen({ host: config.http.host, port: config.http.port });
  logger.info({ port: (http.server.address() as AddressInfo).port }, 'http listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdown.timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, config.shutdown.timeoutMs);
    force.unref();
    void (async () => {
      await aggregator.stop().catch((err: unknown) => logger.error({ err }, 'aggregator did not stop cleanly'));
      await http.close();
      await bus.close().catch((err: unknown) => logger.warn({ err }, 'kafka client did not close cleanly'));
      await checkpointBus.close().catch((err: unknown) => logger.warn({ err }, 'kafka checkpoint client did not close cleanly'));
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await aggregator.start();
  void aggregator.closed.then(async (err) => {
    if (err === undefined || stopping) return;
    // The consumer gave up: exit so the supervisor restarts us; the checkpoints make that safe.
    logger.fatal({ err }, 'consumer failed; exiting');
    await http.close().catch(() => undefined);
    await bus.close().catch(() => undefined);
    await checkpointBus.close().catch(() => undefined);
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`aggregator failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

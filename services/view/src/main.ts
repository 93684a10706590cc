/**
 * The view process over Kafka: configuration (every problem reported before any socket opens), the unit
 * catalog, the partials topic, signals. Everything else is createView in view.ts, which tests and the
 * embedded `iocbus start` drive in-process.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 IOCBUS_VIEW__CATALOG__FILE=catalog.json node --import tsx services/view/src/main.ts
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '@iocbus/bus';
import type { Catalog } from '@iocbus/catalog';
import { loadCatalogFile, loadSampleCatalog } from '@iocbus/catalog/file';
import { loadOrExit } from '@iocbus/config';
import { createLogger, createRegistry, levelFunctions } from '@iocbus/telemetry';
import { ConfigError, loadConfig } from './config.js';
import { createView } from './view.js';

async function main(): Promise<void> {
  const config = loadOrExit(loadConfig, ConfigError);
  let catalog: Catalog;
  try {
    catalog = config.catalog.file === undefined ? await loadSampleCatalog() : await loadCatalogFile(config.catalog.file);
  } catch (err) {
    process.stderr.write(`invalid view configuration:\n  - catalog.file: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ service: 'view', level: config.log.level });
  if (config.catalog.file === undefined) logger.warn({ version: catalog.version }, 'no catalog.file configured: using the SAMPLE catalog');

  const bus = createKafkaBus({
    brokers: config.kafka.brokers ?? [],
    clientId: config.kafka.clientId,
    logger: levelFunctions(logger.child({ component: 'kafka' })),
    clientLogLevel: 'warn',
    consumer: { maxWaitTimeMs: config.kafka.maxWaitTimeMs },
  });
  const view = createView({ config, source: bus.source, catalog, logger, registry: createRegistry() });

  let stopping = false;
  const stop = (signal: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void (async () => {
      await view.close();
      await bus.close().catch((err: unknown) => logger.warn({ err }, 'kafka client did not close cleanly'));
      logger.info('stopped');
      process.exit(code);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  void view.failed.then((err) => {
    logger.error({ err }, 'partials source failed; exiting so the view is restarted');
    stop('source-failed', 1);
  });

  // Probes answer (not ready) while the partials topic does not exist yet or is loading.
  const { httpPort, grpcPort } = await view.listen();
  logger.info({ httpPort, grpcPort }, 'listening');
  for (;;) {
    if (stopping) return;
    try {
      await view.start();
      break;
    } catch (err) {
      logger.warn({ err, topic: config.partials.topic }, 'partials topic not readable yet; retrying');
      await sleep(config.kafka.topicRetryMs);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`view failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

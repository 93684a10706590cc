/**
 * `iocbus gateway|aggregator|view`: one role per process, over Kafka, scaled and restarted separately.
 * The gateway and the aggregator run their own service's main.ts unchanged (configuration, Kafka, signals);
 * the view is built by its factory, as its main.ts does, plus the wall screen at `/`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaBus } from '@iocbus/bus';
import type { Catalog } from '@iocbus/catalog';
import { loadCatalogFile, loadSampleCatalog } from '@iocbus/catalog/file';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import { ConfigError, createView, loadConfig, type View, type ViewConfig } from '@iocbus/view';
import type { Command } from '../util/command.js';
import { parse } from '../util/args.js';
import { provinceMinutes } from '../wall/minutes.js';
import { mergeSources, registerWallRoutes } from '../wall/routes.js';

/** Resolves never: the role's main.ts owns the process from here (it exits on signals and failures). */
async function runServiceMain(pkg: '@iocbus/gateway' | '@iocbus/aggregator'): Promise<number> {
  await import(new URL('./main.ts', import.meta.resolve(pkg)).href);
  return new Promise<number>(() => undefined);
}

const SHARED = `Kafka: KAFKA_BROKERS=host:port,… (required).`;

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: 'run the ingest gateway (HTTP 8080, gRPC 50051) over Kafka',
  usage: `Usage: iocbus gateway

Runs the ingest gateway alone: HTTP POST /v1/events and /v1/events:batch on 8080, gRPC IngestService on
50051, /metrics, /healthz, /readyz. Same process as services/gateway/src/main.ts.

${SHARED}
Settings: IOCBUS_GATEWAY__<SECTION>__<FIELD> (e.g. IOCBUS_GATEWAY__HTTP__PORT=8080), or a JSON file in
IOCBUS_GATEWAY_CONFIG. API keys: IOCBUS_GATEWAY__AUTH__KEYS_FILE=keys.json (required); create one with
  node --import tsx services/gateway/src/hash-key.ts <key-id> <sources,…> <units,…>`,
  async run(argv) {
    parse(argv, {});
    return runServiceMain('@iocbus/gateway');
  },
};

export const aggregatorCommand: Command = {
  name: 'aggregator',
  summary: 'run an aggregator instance (consumer group iocbus-aggregator) over Kafka',
  usage: `Usage: iocbus aggregator

Runs one aggregator instance: consumes iocbus.dossier-events.v1 in consumer group iocbus-aggregator,
keeps dossier state and window partials, checkpoints to iocbus.aggregator-checkpoints.v1 and publishes
iocbus.indicator-partials.v1. Run more instances to spread partitions. Metrics and health on 9464.
Same process as services/aggregator/src/main.ts.

${SHARED}
Settings: IOCBUS_AGGREGATOR__<SECTION>__<FIELD> or IOCBUS_AGGREGATOR_CONFIG; the unit catalog in
IOCBUS_AGGREGATOR__CATALOG__FILE (default: the SAMPLE catalog).`,
  async run(argv) {
    parse(argv, {});
    return runServiceMain('@iocbus/aggregator');
  },
};

export const viewCommand: Command = {
  name: 'view',
  summary: 'run a view instance (indicators API, SSE, gRPC Subscribe, wall screen) over Kafka',
  usage: `Usage: iocbus view

Runs one view instance: reads iocbus.indicator-partials.v1 and serves GET /v1/indicators,
GET /v1/indicators:stream (SSE) and the wall screen at / on 8081, gRPC IndicatorService on 50052.
Instances are independent; run as many as the screens need.

${SHARED}
Settings: IOCBUS_VIEW__<SECTION>__<FIELD> or IOCBUS_VIEW_CONFIG; the unit catalog in
IOCBUS_VIEW__CATALOG__FILE (default: the SAMPLE catalog).`,
  async run(argv) {
    parse(argv, {});
    let config: ViewConfig;
    try {
      config = loadConfig();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    const catalog: Catalog = config.catalog.file === undefined ? await loadSampleCatalog() : await loadCatalogFile(config.catalog.file);
    const logger = createLogger({ service: 'view', level: config.log.level });
    if (config.catalog.file === undefined) logger.warn({ version: catalog.version }, 'no catalog.file configured: using the SAMPLE catalog');
    const bus = createKafkaBus({
      brokers: config.kafka.brokers ?? [],
      clientId: config.kafka.clientId,
      logger: {
        debug: (o, m) => logger.debug(o, m),
        info: (o, m) => logger.info(o, m),
        warn: (o, m) => logger.warn(o, m),
        error: (o, m) => logger.error(o, m),
      },
      clientLogLevel: 'warn',
    });
    let viewRef: View | undefined;
    const view = createView({
      config,
      source: bus.source,
      catalog,
      logger,
      registry: createRegistry(),
      routes: (app) =>
        registerWallRoutes(app, {
          provinceName: catalog.province.name,
          simulated: catalog.sample,
          now: Date.now,
          minutes: () => (viewRef === undefined ? undefined : provinceMinutes(viewRef)),
          sources: () => {
            const core = viewRef?.isReady() === true ? viewRef.core : undefined;
            return core === undefined ? undefined : mergeSources(core.state.progress.values());
          },
        }),
    });
    viewRef = view;
    let stopping = false;
    let exitCode = 0;
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const stop = (signal: string, code = 0): void => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      logger.info({ signal }, 'stopping');
      void (async () => {
        await view.close();
        await bus.close().catch((err: unknown) => logger.warn({ err }, 'kafka client did not close cleanly'));
        stopped();
      })();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    void view.failed.then((err) => {
      logger.error({ err }, 'partials source failed; exiting so the view is restarted');
      stop('source-failed', 1);
    });
    const { httpPort, grpcPort } = await view.listen();
    logger.info({ httpPort, grpcPort }, 'listening; wall screen at /');
    while (!stopping) {
      try {
        await view.start();
        break;
      } catch (err) {
        logger.warn({ err, topic: config.partials.topic }, 'partials topic not readable yet; retrying');
        await sleep(config.kafka.topicRetryMs);
      }
    }
    await done;
    return exitCode;
  },
};

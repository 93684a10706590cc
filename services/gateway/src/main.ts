/**
 * The gateway process: configuration (every problem reported before any socket opens), Kafka, signals.
 * Everything else is built by createGateway in app.ts, which tests drive in-process.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 IOCBUS_GATEWAY__AUTH__KEYS_FILE=keys.json \
 *     node --max-semi-space-size=64 --import tsx services/gateway/src/main.ts
 *
 * The node flag is the gateway's (node-flags.ts); without it the gateway runs, only with more CPU per event.
 */
import { createKafkaBus } from '@iocbus/bus';
import { loadOrExit } from '@iocbus/config';
import { createLogger, createRegistry, levelFunctions } from '@iocbus/telemetry';
import { createGateway } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { missingNodeFlags } from './node-flags.js';

async function main(): Promise<void> {
  const { config, apiKeys, grpcTls } = loadOrExit(loadConfig, ConfigError);
  const logger = createLogger({ service: 'gateway', level: config.log.level });
  const missing = missingNodeFlags();
  if (missing.length > 0) logger.warn({ missing }, 'node was started without the gateway\'s flags (services/gateway/src/node-flags.ts): more CPU per event');
  if (apiKeys.length === 0) logger.warn({ keysFile: config.auth.keysFile }, 'no API keys configured: every publish will get 401');

  const bus = createKafkaBus({
    brokers: config.kafka.brokers,
    clientId: config.kafka.clientId,
    logger: levelFunctions(logger.child({ component: 'kafka' })),
    clientLogLevel: 'warn',
  });
  const topic = config.kafka.topic;
  let topicReady = false;
  // The probe also creates the topic the first time Kafka answers, so the gateway may start before Kafka.
  const probe = async (): Promise<void> => {
    if (!topicReady) {
      await bus.admin.ensureTopics([{ name: topic, partitions: config.kafka.partitions }]);
      topicReady = true;
    }
    await bus.admin.partitionCount(topic);
  };

  const gateway = createGateway({
    config,
    apiKeys,
    eventLog: bus.log,
    probe,
    logger,
    registry: createRegistry(),
    ...(grpcTls === undefined ? {} : { grpcTls }),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void (async () => {
      await gateway.close();
      await bus.close().catch((err: unknown) => logger.warn({ err }, 'kafka client did not close cleanly'));
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await gateway.listen();
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

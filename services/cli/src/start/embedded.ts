/**
 * Everything in one process: gateway, aggregator, view and wall screen over one bus — the in-process bus
 * (nothing survives a restart) or Kafka when brokers are given. Each service is built by its own factory
 * from its own configuration schema, read from the same environment variables as its standalone process,
 * so `iocbus start` and the separate roles behave alike.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createInProcessBus, createKafkaBus, type Bus } from '@iocbus/bus';
import type { Catalog } from '@iocbus/catalog';
import {
  configInputFromEnv as aggregatorInput,
  createAggregator,
  parseConfig as parseAggregatorConfig,
  type Aggregator,
} from '@iocbus/aggregator';
import {
  configInputFromEnv as gatewayInput,
  createGateway,
  generateApiKey,
  loadConfig as loadGatewayConfig,
  resolveConfig as resolveGatewayConfig,
  type ApiKeyEntry,
  type Gateway,
  type GatewayConfig,
} from '@iocbus/gateway';
import { configInputFromEnv as viewInput, createView, resolveConfig as resolveViewConfig, type View } from '@iocbus/view';
import { createLogger, createRegistry, levelFunctions, type Logger } from '@iocbus/telemetry';
import { provinceMinutes } from '../wall/minutes.js';
import { mergeSources, registerWallRoutes } from '../wall/routes.js';

export interface EmbeddedOptions {
  catalog: Catalog;
  /** Kafka brokers; absent = the in-process bus. */
  brokers?: readonly string[];
  env?: NodeJS.ProcessEnv;
  host?: string;
  gatewayHttpPort?: number;
  gatewayGrpcPort?: number;
  viewHttpPort?: number;
  viewGrpcPort?: number;
  /** Metrics/health port of the aggregator; 0 picks one, null runs none. */
  logLevel?: string;
  /** Clock for the aggregator (windows, "overdue now") and the view (current windows, rolling hour). */
  clock?: () => number;
  /** Say on the wall that the data is simulated. */
  simulated?: boolean;
  /** Tighter timings for tests. */
  fast?: boolean;
}

export interface Embedded {
  mode: 'in-process' | 'kafka';
  bus: Bus;
  gateway: Gateway;
  aggregator: Aggregator;
  view: View;
  logger: Logger;
  /** A key allowed to publish for every source and unit, valid for this process only. */
  localKey: string;
  urls: { wall: string; gatewayHttp: string; gatewayGrpc: string; viewGrpc: string };
  ports: { gatewayHttp: number; gatewayGrpc: number; viewHttp: number; viewGrpc: number };
  close(): Promise<void>;
}

const readText = (f: string): string => readFileSync(f, 'utf8');
const EMBEDDED_BROKERS = ['in-process:0'];

/** Gateway config from the environment; without a key file the embedded mode runs with its local key only. */
function gatewayConfig(env: NodeJS.ProcessEnv, brokers: readonly string[]): { config: GatewayConfig; apiKeys: ApiKeyEntry[] } {
  const withBrokers = { ...env, KAFKA_BROKERS: brokers.join(',') };
  if (env.IOCBUS_GATEWAY__AUTH__KEYS_FILE !== undefined || env.IOCBUS_GATEWAY_CONFIG !== undefined) {
    const loaded = loadGatewayConfig(withBrokers);
    return { config: loaded.config, apiKeys: loaded.apiKeys };
  }
  const problems: string[] = [];
  const input = gatewayInput(withBrokers, readText, problems);
  // No key file: resolveConfig reads the keys through the reader below, so the path is never opened.
  input.auth = { keysFile: '/dev/null' };
  const loaded = resolveGatewayConfig(input, () => '{"keys":[]}', problems);
  return { config: loaded.config, apiKeys: [] };
}

export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const env = options.env ?? process.env;
  const mode = options.brokers === undefined ? 'in-process' : 'kafka';
  const brokers = options.brokers ?? EMBEDDED_BROKERS;
  const logger = createLogger({ service: 'iocbus', level: options.logLevel ?? 'info' });
  // Without an explicit host each service binds where its own configuration says (0.0.0.0 by default).
  const host = options.host;
  const bus: Bus =
    mode === 'in-process'
      ? createInProcessBus()
      : createKafkaBus({ brokers: [...brokers], clientId: 'iocbus-start', logger: levelFunctions(logger.child({ component: 'kafka' })), clientLogLevel: 'warn' });

  const kafkaEnv = { ...env, KAFKA_BROKERS: brokers.join(',') };
  const aggProblems: string[] = [];
  const aggIn = aggregatorInput(kafkaEnv, readText, aggProblems);
  // One process serves a room, not a fleet: progress (the wall's "data as of") every second, and the view
  // folds bursts of partials into one evaluation (a replayed backlog would otherwise re-evaluate per batch).
  aggIn.publish = { heartbeatMs: options.fast === true ? 300 : 1000, ...(options.fast === true ? { intervalMs: 50 } : {}), ...(aggIn.publish as object) };
  const aggregatorConfig = parseAggregatorConfig(aggIn, aggProblems);
  const viewProblems: string[] = [];
  const viewIn = viewInput(kafkaEnv, readText, viewProblems);
  // The in-process partials vanish with the process: tokens from an earlier boot must not resume here.
  if (mode === 'in-process') viewIn.resume = { historyId: `embedded-${randomUUID()}`, ...(viewIn.resume as object) };
  viewIn.partials = { lingerMs: options.fast === true ? 20 : 100, ...(viewIn.partials as object) };
  if (options.fast === true) viewIn.subscribe = { heartbeatMs: 500, ...(viewIn.subscribe as object) };
  const viewConfig = resolveViewConfig(viewIn, viewProblems, false);
  const { config: gwConfig, apiKeys } = gatewayConfig(env, brokers);

  const local = await generateApiKey('iocbus-local');
  // One registry for the three services: /metrics on either port shows the whole process.
  const registry = createRegistry();
  const aggregator = createAggregator({
    config: aggregatorConfig,
    log: bus.log,
    source: bus.source,
    admin: bus.admin,
    catalog: options.catalog,
    logger: logger.child({ service: 'aggregator' }),
    registry,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const clock = options.clock ?? Date.now;
  let viewRef: View | undefined;
  const view = createView({
    config: viewConfig,
    source: bus.source,
    catalog: options.catalog,
    logger: logger.child({ service: 'view' }),
    registry,
    clock: { now: clock },
    routes: (app) =>
      registerWallRoutes(app, {
        provinceName: options.catalog.province.name,
        simulated: options.simulated === true,
        now: clock,
        minutes: () => (viewRef === undefined ? undefined : provinceMinutes(viewRef)),
        sources: () => {
          const core = viewRef?.isReady() === true ? viewRef.core : undefined;
          return core === undefined ? undefined : mergeSources(core.state.progress.values());
        },
      }),
  });
  viewRef = view;
  const topic = gwConfig.kafka.topic;
  let topicReady = mode === 'in-process';
  const gateway = createGateway({
    config: gwConfig,
    apiKeys: [...apiKeys, { id: 'iocbus-local', hash: local.hash, sources: ['*'], units: ['*'] }],
    eventLog: bus.log,
    probe: async () => {
      if (!topicReady) {
        await bus.admin.ensureTopics([{ name: topic, partitions: gwConfig.kafka.partitions }]);
        topicReady = true;
      }
      await bus.admin.partitionCount(topic);
    },
    logger: logger.child({ service: 'gateway' }),
    registry,
  });

  // Topics first (the aggregator creates them), then the view reads the partials, then the doors open.
  await aggregator.start();
  await view.start();
  const viewPorts = await view.listen({
    ...(host === undefined ? {} : { host }),
    ...(options.viewHttpPort === undefined ? {} : { httpPort: options.viewHttpPort }),
    ...(options.viewGrpcPort === undefined ? {} : { grpcPort: options.viewGrpcPort }),
  });
  const gwPorts = await gateway.listen({
    ...(host === undefined ? {} : { host }),
    ...(options.gatewayHttpPort === undefined ? {} : { httpPort: options.gatewayHttpPort }),
    ...(options.gatewayGrpcPort === undefined ? {} : { grpcPort: options.gatewayGrpcPort }),
  });
  const reachable = (h: string): string => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h);
  const viewHost = reachable(host ?? viewConfig.http.host);
  const gwHost = reachable(host ?? gwConfig.http.host);
  const gwGrpcHost = reachable(host ?? gwConfig.grpc.host);
  const viewGrpcHost = reachable(host ?? viewConfig.grpc.host);
  let closed: Promise<void> | undefined;
  return {
    mode,
    bus,
    gateway,
    aggregator,
    view,
    logger,
    localKey: local.key,
    urls: {
      wall: `http://${viewHost}:${viewPorts.httpPort}/`,
      gatewayHttp: `http://${gwHost}:${gwPorts.httpPort}`,
      gatewayGrpc: `${gwGrpcHost}:${gwPorts.grpcPort}`,
      viewGrpc: `${viewGrpcHost}:${viewPorts.grpcPort}`,
    },
    ports: { gatewayHttp: gwPorts.httpPort, gatewayGrpc: gwPorts.grpcPort, viewHttp: viewPorts.httpPort, viewGrpc: viewPorts.grpcPort },
    close() {
      closed ??= (async () => {
        await gateway.close();
        await aggregator.stop().catch((err: unknown) => logger.warn({ err }, 'aggregator did not stop cleanly'));
        await view.close();
        await bus.close().catch((err: unknown) => logger.warn({ err }, 'bus did not close cleanly'));
      })();
      return closed;
    },
  };
}

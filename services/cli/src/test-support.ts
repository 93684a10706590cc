/**
 * Helpers for the CLI's tests: a gateway in this process on the in-process bus (the embedded mode's
 * transport), a key allowed to publish anything, and ways to read back what reached the topic.
 */
import { createServer } from 'node:net';
import { createInProcessBus, type EventLog, type InProcessBus } from '@iocbus/bus';
import { fromKafkaRecord } from '@iocbus/events';
import { createGateway, gatewayConfigSchema, generateApiKey, type ApiKeyEntry, type Gateway } from '@iocbus/gateway';
import { createLogger, createRegistry } from '@iocbus/telemetry';

export const EVENTS_TOPIC = 'iocbus.dossier-events.v1';

export interface LocalGateway {
  gateway: Gateway;
  bus: InProcessBus;
  url: string;
  grpcAddress: string;
  apiKey: string;
  /** `source id` of every record on the events topic, in offset order per partition. */
  topicKeys(): Promise<string[]>;
  close(): Promise<void>;
}

export interface LocalGatewayOptions {
  /** Wraps the bus's event log (to inject failures). */
  wrapLog?: (log: EventLog) => EventLog;
  /** Rate limit of the key, events per second and burst. */
  rate?: { eventsPerSecond: number; burst: number };
  httpPort?: number;
  bus?: InProcessBus;
}

export async function startLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  const bus = options.bus ?? createInProcessBus();
  await bus.admin.ensureTopics([{ name: EVENTS_TOPIC, partitions: 3 }]);
  const { key, hash } = await generateApiKey('cli-test');
  const entry: ApiKeyEntry = { id: 'cli-test', hash, sources: ['*'], units: ['*'], ...(options.rate === undefined ? {} : { rate: options.rate }) };
  const config = gatewayConfigSchema.parse({
    log: { level: 'silent' },
    kafka: { brokers: ['127.0.0.1:9'], topic: EVENTS_TOPIC, produceTimeoutMs: 2000, probeIntervalMs: 200 },
    auth: { keysFile: '(injected)' },
    shutdown: { timeoutMs: 2000 },
  });
  const gateway = createGateway({
    config,
    apiKeys: [entry],
    eventLog: options.wrapLog === undefined ? bus.log : options.wrapLog(bus.log),
    probe: async () => {},
    logger: createLogger({ service: 'gateway', level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    registry: createRegistry({ defaultMetrics: false }),
  });
  const { httpPort, grpcPort } = await gateway.listen({ host: '127.0.0.1', httpPort: options.httpPort ?? 0, grpcPort: 0 });
  return {
    gateway,
    bus,
    url: `http://127.0.0.1:${httpPort}`,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    apiKey: key,
    async topicKeys() {
      const records = await bus.source.readToEnd(EVENTS_TOPIC);
      return records.map((r) => {
        const event = fromKafkaRecord(r);
        return `${event.source} ${event.id}`;
      });
    },
    async close() {
      await gateway.close();
      if (options.bus === undefined) await bus.close();
    },
  };
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
